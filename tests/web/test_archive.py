"""The public archive over real HTTP: the index, the "view in browser" page, its framed copy."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.articles.drafts import ArticleDraft
from publisher.articles.store import save_draft
from publisher.config import Settings
from publisher.db import session_scope
from publisher.digests.editions import approve, get_or_create_edition
from publisher.digests.models import EditionContent
from publisher.digests.periods import parse_period
from publisher.feeds.models import FeedFormat
from publisher.subscribers.lists import create_list, get_list
from tests.delivery.sending_support import LIST, LJUBLJANA, stock
from tests.web.conftest import LiveSite
from tests.web.test_pages import links_of


def approve_period(engine: Engine, settings: Settings, list_slug: str, period: str) -> int:
    with session_scope(engine) as session:
        edition = approve(
            session,
            settings,
            get_list(session, list_slug),
            parse_period(period),
            approved_by="test",
        )
        return int(edition.id or 0)


def add_article(engine: Engine, title: str, day: datetime) -> None:
    with session_scope(engine) as session:
        save_draft(
            session,
            ArticleDraft(
                external_id=f"test:{title}",
                title=title,
                published_at=day,
                body_html=f"<p>{title}.</p>",
                body_text=f"{title}.",
            ),
        )


@pytest.fixture
def archived(live_site: LiveSite, engine: Engine) -> LiveSite:
    """Two sent weeks of the public list, a draft week, and a sent week of a private list."""
    stock(engine, 3)  # three articles in 2025-W10, three residents
    add_article(
        engine, "Novoletni sejem na Glavnem trgu", datetime(2025, 3, 12, 9, tzinfo=LJUBLJANA)
    )
    add_article(engine, "Osnutek brez odobritve", datetime(2025, 3, 19, 9, tzinfo=LJUBLJANA))
    with session_scope(engine) as session:
        create_list(session, "interno", "Interne novice", public=False)
    approve_period(engine, live_site.settings, LIST, "2025-W10")
    approve_period(engine, live_site.settings, LIST, "2025-W11")
    approve_period(engine, live_site.settings, "interno", "2025-W10")
    with session_scope(engine) as session:
        get_or_create_edition(session, get_list(session, LIST), parse_period("2025-W12"))
    return live_site


def test_archive_lists_sent_editions_per_public_list_newest_first(archived: LiveSite) -> None:
    response = httpx.get(archived.url + "/archive")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Arhiv e-novic</h1>" in html and "Tedenske novice" in html
    anchors = [a for a in links_of(html).anchors if a.startswith("/archive/")]
    assert anchors == ["/archive/tedenske-novice/2025-W11", "/archive/tedenske-novice/2025-W10"]
    assert "10.–16. marec 2025" in html  # the period as people write it
    assert "Interne novice" not in html  # a private list is not advertised …
    private = httpx.get(archived.url + "/archive/interno/2025-W10")
    assert private.status_code == 200  # … but its emails' "view in browser" links work


def test_home_page_links_to_the_archive(archived: LiveSite) -> None:
    assert "/archive" in links_of(httpx.get(archived.url + "/").text).anchors


def test_the_view_in_browser_link_of_every_digest_opens_its_edition(
    archived: LiveSite, engine: Engine
) -> None:
    with Session(engine) as session:
        stored = session.exec(select(EditionContent)).all()
    assert stored
    for content in stored:
        links = set(re.findall(r'href="([^"]*/archive/[^"]+)"', content.html))
        assert len(links) == 1, links  # the digest carries exactly one archive link
        (link,) = links
        assert link.startswith(archived.url + "/archive/")
        # A reader of the English copy, in an English browser, sees the English copy.
        page = httpx.get(link, headers={"Accept-Language": f"{content.language};q=0.9, de"})
        assert page.status_code == 200
        assert f"<h1>{content.subject}</h1>" in page.text
        assert f"message.html?lang={content.language}" in page.text


@pytest.mark.parametrize(
    ("accept_language", "shown"),
    [
        ("en-GB;q=0.9, sl;q=0.8", "en"),
        ("sl;q=0.8, en-GB;q=0.9", "en"),
        ("EN-us", "en"),
        ("de, sl-SI;q=0.5, en;q=0.4", "sl"),
        ("en;q=0, sl;q=0.1", "sl"),
        ("de, fr;q=0.5", "sl"),  # none of ours: the list's own language
        ("", "sl"),
    ],
)
def test_the_browsers_language_choice_picks_the_copy_shown(
    archived: LiveSite, accept_language: str, shown: str
) -> None:
    page = httpx.get(
        archived.url + "/archive/tedenske-novice/2025-W10",
        headers={"Accept-Language": accept_language},
    )
    assert page.status_code == 200
    assert f"message.html?lang={shown}" in page.text


def test_the_edition_is_a_whole_page_of_the_site_without_the_mail_only_parts(
    archived: LiveSite,
) -> None:
    with httpx.Client(base_url=archived.url) as client:
        page = client.get("/archive/tedenske-novice/2025-W10")
        assert page.status_code == 200
        html = page.text
        assert "<iframe" not in html and "frame-src" not in page.headers["Content-Security-Policy"]
        assert "<script" not in html and " style=" not in html  # the site's styles, not the mail's
        assert 'href="/static/site.css"' in html and 'class="site-header"' in html
        for n in range(3):
            assert f"Novica {n}: obnova ceste v Šmihelu" in html and f"Povzetek {n}." in html
        articles = re.findall(r'<h2 id="a-\d+"><a href="([^"]+)">', html)
        assert len(articles) == 3 and all("/articles/" in link for link in articles)
        # What only a mail needs stays in the mail.
        mail_only_parts = (
            "Odprite v brskalniku",
            "Pozdravljeni",
            "POSKUSNI IZVOD",
            "/unsubscribe",
            "Odjava",
        )
        for mail_only in mail_only_parts:
            assert mail_only not in html, mail_only
        # The public copy: no resident's name, address or personal link.
        for personal in ("obcan0000", "Številka", "Ana Primer", "/preferences/"):
            assert personal not in html

        # The stored document stays available as sent, under its own strict policy.
        message = client.get("/archive/tedenske-novice/2025-W10/message.html?lang=sl")
        assert message.status_code == 200
        policy = message.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "sandbox" in policy
        assert "script-src" not in policy  # falls back to 'none'
        assert "frame-ancestors 'none'" in policy and message.headers["X-Frame-Options"] == "DENY"
        for n in range(3):
            assert f"Novica {n}: obnova ceste v Šmihelu" in message.text
        for personal in ("obcan0000", "Številka", "Ana Primer", "/unsubscribe/", "/preferences/"):
            assert personal not in message.text
        text = client.get("/archive/tedenske-novice/2025-W10/message.txt")
        assert text.status_code == 200 and "Novica 0" in text.text
        assert "obcan0000" not in text.text


def test_the_index_and_the_edition_say_the_period_once(archived: LiveSite) -> None:
    index = httpx.get(archived.url + "/archive").text
    for period in ("3.–9. marec 2025", "10.–16. marec 2025"):
        assert index.count(period) == 1, period
    edition = httpx.get(archived.url + "/archive/tedenske-novice/2025-W10").text
    heading = re.search(r"<h1>(.*?)</h1>", edition)
    assert heading is not None and heading[1] == "Tedenske novice, 3.–9. marec 2025"
    body = edition[edition.index("<body") :]
    assert body.count("3.–9. marec 2025") == 1


def test_both_languages_are_offered_and_switch(archived: LiveSite) -> None:
    with httpx.Client(base_url=archived.url) as client:
        slovenian = client.get("/archive/tedenske-novice/2025-W10")
        assert 'hreflang="en"' in slovenian.text and 'hreflang="sl"' in slovenian.text
        assert 'aria-current="page">Slovenščina' in slovenian.text
        assert "message.html?lang=sl" in slovenian.text

        english = client.get("/archive/tedenske-novice/2025-W10?lang=en")
        assert 'aria-current="page">English' in english.text
        assert "message.html?lang=en" in english.text
        sl_copy = client.get("/archive/tedenske-novice/2025-W10/message.html?lang=sl").text
        en_copy = client.get("/archive/tedenske-novice/2025-W10/message.html?lang=en").text
        assert sl_copy != en_copy
        assert 'lang="en"' in en_copy and 'lang="sl"' in sl_copy
        unknown = client.get("/archive/tedenske-novice/2025-W10?lang=de")
        assert unknown.status_code == 200 and "message.html?lang=sl" in unknown.text


def test_archive_pages_offer_feed_autodiscovery(archived: LiveSite) -> None:
    for path in ("/archive", "/archive/tedenske-novice/2025-W10"):
        found = links_of(httpx.get(archived.url + path).text).alternates
        feeds = [link for link in found if "hreflang" not in link]
        assert {link["type"] for link in feeds} >= {fmt.media_type for fmt in FeedFormat}


@pytest.mark.parametrize(
    "path",
    [
        "/archive/ni-je/2025-W10",
        "/archive/tedenske-novice/2024-W10",
        "/archive/tedenske-novice/2025-W12",  # a draft: not sent, not public
        "/archive/tedenske-novice/2025W10",  # not the edition's name
        "/archive/tedenske-novice/2025-W12/message.html",
        "/archive/tedenske-novice/2025-W12/message.txt",
    ],
)
def test_unknown_and_unsent_editions_are_404(archived: LiveSite, path: str) -> None:
    response = httpx.get(archived.url + path)
    assert response.status_code == 404
    if not path.endswith((".html", ".txt")):
        assert "Te strani ni" in response.text and "<h1>" in response.text
