"""An edition sent through a real SMTP server names its list and topics in each copy's
language: English readers see the English names, falling back to the Slovenian ones."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy.engine import Engine

from publisher.articles.store import save_topic
from publisher.db import session_scope
from publisher.subscribers.lists import get_list, set_english_name
from tests.delivery.bounce_support import send_edition
from tests.delivery.sending_support import LIST, PERIOD, SmtpServer, settings_for, stock

ENGLISH = "obcan0000@example.org"  # stock() makes every fifth resident English
SLOVENIAN = "obcan0001@example.org"


def _copies(smtp: SmtpServer) -> dict[str, EmailMessage]:
    return {
        recipient: message_from_bytes(raw, policy=policy.default)  # type: ignore[misc]
        for recipient, raw, _ in smtp.handler.received
    }


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


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
    for body in (_text(english), _html(english)):
        assert "Tedenske novice" not in body
        assert "“Weekly news”" in body  # the footer: why the reader gets this mail
    html = _html(english)
    assert ">Weekly news</h1>" in html  # the heading
    assert ">Traffic</p>" in html and "Promet" not in html  # each article's topics

    slovenian = copies[SLOVENIAN]
    assert slovenian["Subject"].startswith("Tedenske novice, ")
    for body in (_text(slovenian), _html(slovenian)):
        assert "Weekly news" not in body and "Traffic" not in body
        assert "»Tedenske novice«" in body
    assert ">Tedenske novice</h1>" in _html(slovenian) and ">Promet</p>" in _html(slovenian)


def test_an_english_copy_without_english_names_uses_the_slovenian_ones(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    stock(engine, 2, topics=True)
    send_edition(engine, settings_for(database_url, smtp.port), PERIOD)
    english = _copies(smtp)[ENGLISH]
    assert english["Subject"].startswith("Tedenske novice, ")
    assert english["Content-Language"] == "en"
    assert "“Tedenske novice”" in _text(english)
    assert "Promet" in _html(english)  # each article's topics
