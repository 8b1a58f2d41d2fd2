"""An edition sent through a real SMTP server names its list and topics in each copy's
language: English readers see the English names, falling back to the Slovenian ones."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy.engine import Engine

from publisher.articles.store import save_topic
from publisher.db import session_scope
from publisher.subscribers.lists import get_list, set_english_name
from tests.delivery.bounce_support import send_edition
from tests.delivery.sending_support import LIST, PERIOD, SmtpServer, settings_for, stock
from tests.web.residents_support import html_of, parse_mail, text_of

ENGLISH = "obcan0000@example.org"  # stock() makes every fifth resident English
SLOVENIAN = "obcan0001@example.org"


def _copies(smtp: SmtpServer) -> dict[str, EmailMessage]:
    return {recipient: parse_mail(raw) for recipient, raw, _ in smtp.handler.received}


def test_an_english_copy_names_the_list_and_topics_in_english(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    stock(engine, 2, topics=True)
    with session_scope(engine) as session:
        set_english_name(session, get_list(session, LIST), "Weekly news", actor="test")
        save_topic(session, "promet", "Promet", name_en="Traffic")
    send_edition(engine, settings_for(database_url, smtp.port), PERIOD)
    copies = _copies(smtp)

    english = copies[ENGLISH]
    assert english["Subject"].startswith("Weekly news, ")
    assert "Weekly news" in english["List-Id"]
    for body in (text_of(english), html_of(english)):
        assert "Tedenske novice" not in body
        assert "“Weekly news”" in body  # the footer: why the reader gets this mail
    html = html_of(english)
    assert ">Weekly news</h1>" in html  # the heading
    assert ">Traffic</p>" in html and "Promet" not in html  # each article's topics

    slovenian = copies[SLOVENIAN]
    assert slovenian["Subject"].startswith("Tedenske novice, ")
    for body in (text_of(slovenian), html_of(slovenian)):
        assert "Weekly news" not in body and "Traffic" not in body
        assert "»Tedenske novice«" in body
    assert ">Tedenske novice</h1>" in html_of(slovenian) and ">Promet</p>" in html_of(slovenian)


def test_an_english_copy_without_english_names_uses_the_slovenian_ones(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    stock(engine, 2, topics=True)
    send_edition(engine, settings_for(database_url, smtp.port), PERIOD)
    english = _copies(smtp)[ENGLISH]
    assert english["Subject"].startswith("Tedenske novice, ")
    assert english["Content-Language"] == "en"
    assert "“Tedenske novice”" in text_of(english)
    assert "Promet" in html_of(english)  # each article's topics
