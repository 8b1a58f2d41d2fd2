"""Every kind of mail the project sends, as a resident or an editor receives it over real SMTP:
the confirmation mail, a test copy and the digest itself, in Slovenian and English.

Each is rendered by the one ``render_mail``, so each carries the rendered stylesheet (the
header in the brand colour, never white on white), no template syntax left unrendered, the
site's name in the form its sentence needs, and every link of its HTML part in its text part.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from html.parser import HTMLParser

from lxml import html as lxml_html
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.config import load_settings
from publisher.delivery.runner import Senders
from publisher.digests.editions import approve, plan, send_test
from publisher.digests.periods import parse_period
from publisher.links import home_url
from publisher.mail.compose import Branding, compose_digest
from publisher.subscribers.lists import get_list
from tests.delivery.sending_support import LIST, PERIOD, SmtpServer, settings_for, stock
from tests.mail.conftest import make_items
from tests.web.residents_support import (
    html_of,
    parse_mail,
    subscribe_form,
    text_of,
    town_with_browser,
)

BRAND = "#0a5c36"
"""Not the default colour, and one premailer cannot shorten: seen in the mail, it came from
the setting through the rendered stylesheet."""

FOOTER_SL = (
    "To sporočilo prejemate, ker ste se na spletni strani Mestne občine Novo mesto "
    "prijavili na novice »Tedenske novice«."
)
FOOTER_EN = (
    "You receive this message because you subscribed to “Tedenske novice” on the "
    "City Municipality of Novo mesto website."
)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for name, value in attrs if name == "href" and value]


def hrefs(html: str) -> list[str]:
    """Every ``href`` of the HTML part, entities decoded, ``mailto:`` links included."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def assert_is_a_finished_mail(mail: EmailMessage) -> None:
    """No template syntax left, and a reader of the text part misses no link of the HTML."""
    html, text = html_of(mail), text_of(mail)
    for body in (html, text, str(mail["Subject"])):
        assert "{{" not in body and "{%" not in body and "{#" not in body
    links = hrefs(html)
    assert links, "the HTML part has no links at all"
    missing = [link for link in links if link not in text]
    assert not missing, f"links of the HTML part missing from the text part: {missing}"


def visible_text(mail: EmailMessage) -> str:
    """What the HTML part shows, its white space as a browser collapses it."""
    return " ".join(lxml_html.fromstring(html_of(mail)).text_content().split())


def masthead_style(mail: EmailMessage) -> tuple[str, str]:
    """The inlined styles of the header cell and of its heading."""
    document = lxml_html.fromstring(html_of(mail))
    [masthead] = document.xpath("//td[contains(@class, 'masthead')]")
    [heading] = masthead.xpath(".//h1")
    return masthead.get("style", "").lower(), heading.get("style", "").lower()


# The confirmation mail ----------------------------------------------------------------------


def test_the_confirmation_mail_header_is_in_the_brand_colour_and_every_link_is_in_its_text(
    engine: Engine, database_url: str
) -> None:
    with town_with_browser(engine, database_url, brand_colour=BRAND) as (browser, town):
        assert subscribe_form(browser, "mojca@example.org").status_code == 200
        assert subscribe_form(browser, "john@example.org", language="en").status_code == 200
        [sl] = town.wait_for_mails("mojca@example.org")
        [en] = town.wait_for_mails("john@example.org")
        english_page = browser.get("/subscribe", params={"lang": "en"}).text
    assert "City Municipality of Novo mesto" in english_page  # the page that sent it, too
    for mail in (sl, en):
        header, heading = masthead_style(mail)
        assert f"background-color:{BRAND}" in header.replace(" ", "")
        assert "color:#fff" in heading.replace(" ", "")  # white on the colour, readable
        assert "{{" not in html_of(mail)
        assert "1b4f7a" not in html_of(mail).lower()  # the button too follows the setting
        assert_is_a_finished_mail(mail)
    assert "Nekdo, najverjetneje vi, je na spletni strani Mestne občine Novo mesto" in text_of(sl)
    assert sl["Subject"] == "Potrdite prijavo na novice – Mestna občina Novo mesto"
    assert en["Subject"] == "Confirm your subscription – City Municipality of Novo mesto"
    assert "on the City Municipality of Novo mesto website" in text_of(en)
    assert "Mestn" not in text_of(en)  # English mail names the town hall in English


# Test copies and the digest ------------------------------------------------------------------


def test_a_test_copy_says_preizkus_in_slovenian_and_test_in_english(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    stock(engine, 1)
    settings = settings_for(database_url, smtp.port)
    with Session(engine) as session:
        planned = plan(session, settings, get_list(session, LIST), parse_period(PERIOD))
    for address, language in (("urednica@example.org", "sl"), ("editor@example.org", "en")):
        assert asyncio.run(send_test(settings, planned, address, language)).verdict == "sent"
    mails = {rcpt: parse_mail(raw) for rcpt, raw, _ in smtp.handler.received}
    sl, en = mails["urednica@example.org"], mails["editor@example.org"]
    assert sl["Subject"] == "[POSKUS] Tedenske novice, 3.–9. marec 2025"
    assert "POSKUSNI IZVOD – naročnikom ga nismo poslali." in text_of(sl)
    assert "POSKUSNI IZVOD" in html_of(sl) and "TEST" not in html_of(sl)
    assert en["Subject"] == "[TEST] Tedenske novice, 3–9 March 2025"
    assert "TEST MESSAGE – this copy was not sent to subscribers." in text_of(en)
    for mail in (sl, en):
        assert_is_a_finished_mail(mail)
        assert home_url(settings) in text_of(mail)  # the site's home page, as in the header
        header, _ = masthead_style(mail)
        assert f"background-color:{settings.brand_colour}" in header.replace(" ", "")


def test_sent_digests_name_the_site_in_the_right_case_and_miss_no_link_in_the_text(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 2)  # the first reads English, the second Slovenian
    settings = settings_for(database_url, smtp.port)
    with Session(engine) as session:
        edition = approve(
            session, settings, get_list(session, LIST), parse_period(PERIOD), approved_by="t"
        )
        session.commit()
        job_id = edition.job_id
    assert job_id is not None
    sending = Senders(engine, settings).start(job_id, by="test")
    assert sending.wait(60) and sending.error is None
    mails = {rcpt: parse_mail(raw) for rcpt, raw, _ in smtp.handler.received}
    en, sl = mails[addresses[0]], mails[addresses[1]]
    assert FOOTER_SL in text_of(sl) and FOOTER_SL in visible_text(sl)
    assert FOOTER_EN in text_of(en) and FOOTER_EN in visible_text(en)
    assert "strani Mestna občina" not in text_of(sl) + visible_text(sl)
    for mail in (sl, en):
        assert home_url(settings) in hrefs(html_of(mail))  # the logo in the header links home
        assert_is_a_finished_mail(mail)


# Settings for the name's forms ---------------------------------------------------------------


def test_the_footer_follows_the_name_forms_settings(digest, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config file: the defaults, then what is set
    custom = load_settings(
        site_name="Občina Ig", site_name_genitive="Občine Ig", site_name_en="Municipality of Ig"
    )
    composed = compose_digest(digest, "sl", Branding.from_settings(custom))
    assert "na spletni strani Občine Ig prijavili" in composed.text
    english = compose_digest(digest, "en", Branding.from_settings(custom))
    assert "on the Municipality of Ig website" in english.text
    # A renamed site whose forms were not given says its own name, never another town's.
    renamed = Branding.from_settings(load_settings(site_name="Občina Ig"))
    text = compose_digest(digest, "sl", renamed).text
    assert "na spletni strani Občina Ig prijavili" in text and "Mestne občine" not in text


def test_no_composed_mail_in_any_language_holds_template_syntax(digest, branding) -> None:
    from dataclasses import replace

    for language in ("sl", "en"):
        for shown in (digest, replace(digest, is_test=True, items=make_items(3))):
            composed = compose_digest(shown, language, branding)
            for body in (composed.html, composed.text, composed.subject):
                assert "{{" not in body and "{%" not in body
