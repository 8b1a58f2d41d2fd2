"""One layout for every public page: the same header and footer on news and residents' pages,
and English pages in English from the html lang attribute to the footer, list and topic names
included (falling back to the Slovenian name)."""

from __future__ import annotations

import re

import httpx
from babel.messages.pofile import read_po
from sqlalchemy.engine import Engine

from publisher.articles.store import save_topic
from publisher.db import session_scope
from publisher.links import SubscriberLinks
from publisher.resources import LOCALE_DIR, WEB_TEMPLATES_DIR
from publisher.subscribers.lists import create_list, get_list, set_english_name
from tests.delivery.sending_support import LIST, stock
from tests.feeds.helpers import draft, save
from tests.web.conftest import LiveSite
from tests.web.residents_support import token_uid
from tests.web.test_archive import approve_period
from tests.web.test_pages import links_of

PAGES = [
    "/",
    "/articles/novica-1",
    "/topics/promet",
    "/archive",
    "/subscribe",
    "/privacy",
    "/viri",
    "/topics/promet/viri",
    "/dostopnost",
    "/ni-je",
]
"""News pages, the archive, residents' pages, the follow pages, the accessibility statement
and a missing article (404, in the layout)."""


def _part(html: str, tag: str) -> str:
    found = re.search(rf"<{tag} class=\"site-{tag}\">.*?</{tag}>", html, re.S)
    assert found is not None, f"no site {tag}"
    # The current page's marker and the language switch's own address differ by design.
    part = re.sub(r' aria-current="page"', "", found.group(0))
    return re.sub(r'(<li class="lang-switch"><a href=")[^"]*', r"\1", part)


def _site(engine: Engine) -> None:
    save(engine, draft(1, topics=["promet"]))
    with session_scope(engine) as session:
        save_topic(session, "promet", "Promet", name_en="Traffic")
        save_topic(session, "kultura", "Kultura")  # no English name: Slovenian shows
        create_list(session, "tedenske-novice", "Tedenske novice", name_en="Weekly news")
        create_list(session, "zapore", "Zapore cest")


def test_every_public_page_has_the_same_header_and_footer(
    live_site: LiveSite, engine: Engine
) -> None:
    _site(engine)
    pages = {
        path: httpx.get(live_site.url + path.replace("/ni-je", "/articles/ni-je")) for path in PAGES
    }
    assert pages["/ni-je"].status_code == 404
    headers = {path: _part(page.text, "header") for path, page in pages.items()}
    footers = {path: _part(page.text, "footer") for path, page in pages.items()}
    assert len(set(headers.values())) == 1, headers
    assert len(set(footers.values())) == 1, footers
    footer = footers["/"]
    for href, label in [
        ("/dostopnost", "Izjava o dostopnosti"),
        ("/viri", "Viri novic (RSS)"),
        ("/privacy", "Varstvo osebnih podatkov"),
    ]:
        assert f'<a href="{href}">{label}</a>' in footer


def _layout_msgstrs() -> set[str]:
    """The Slovenian words of the layout's own strings (its msgids' translations)."""
    layout = (WEB_TEMPLATES_DIR / "base.html").read_text(encoding="utf-8")
    used = set(re.findall(r'_\(["\']([^"\']+)["\']\)', layout))
    with (LOCALE_DIR / "sl" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="sl")
    return {catalog[msgid].string for msgid in used if catalog.get(msgid) and catalog[msgid].string}


def test_english_pages_carry_no_slovenian_chrome_and_english_names(
    live_site: LiveSite, engine: Engine
) -> None:
    _site(engine)
    slovenian = _layout_msgstrs()
    assert "Vse novice" in slovenian and "Izjava o dostopnosti" in slovenian
    for path in PAGES:
        url = live_site.url + path.replace("/ni-je", "/articles/ni-je")
        page = httpx.get(url, params={"lang": "en"})
        assert '<html lang="en">' in page.text, path
        chrome = _part(page.text, "header") + _part(page.text, "footer")
        assert [word for word in slovenian if word in chrome] == [], path
        assert 'href="/?lang=en"' in chrome and 'href="/dostopnost?lang=en"' in chrome
        assert ">Slovenščina</a>" in chrome
    topic = httpx.get(live_site.url + "/topics/promet", params={"lang": "en"}).text
    assert "<h1>Traffic</h1>" in topic
    form = httpx.get(live_site.url + "/subscribe", params={"lang": "en"}).text
    assert ">Weekly news</label>" in form and ">Zapore cest</label>" in form  # the fallback
    assert ">Traffic</label>" in form
    slovenian_form = httpx.get(live_site.url + "/subscribe").text
    assert ">Tedenske novice</label>" in slovenian_form and ">Promet</label>" in slovenian_form


SLOVENIAN_MARKERS = [
    "Vse novice",
    "Naročite",
    "Teme",
    "Arhiv",
    "Jezik",
    "Sporočilo, kot je bilo poslano",
    "Besedilna različica",
    "Tako je bila izdaja",
    "marec",
    "Mestna občina",
    "Te strani ni",
]
"""Slovenian words of the site's own text (chrome, archive pages, feed titles, dates): the
articles' own text may be Slovenian on an English page, these may not."""


def _own_text(html: str) -> str:
    """The page without its addresses (slugs such as tedenske-novice are not words)."""
    return re.sub(r'(href|src)="[^"]*"', "", html)


def test_no_page_of_the_english_site_speaks_slovenian(live_site: LiveSite, engine: Engine) -> None:
    stock(engine, 3, topics=True)  # resident 0 reads English
    with session_scope(engine) as session:
        save_topic(session, "promet", "Promet", name_en="Traffic")
        mailing_list = get_list(session, LIST)
        set_english_name(session, mailing_list, "Weekly news", actor="test")
        list_id = mailing_list.id
    approve_period(engine, live_site.settings, LIST, "2025-W10")
    links = SubscriberLinks(live_site.settings)
    uid = token_uid(engine, 1)
    article = links_of(httpx.get(live_site.url + "/topics/promet").text).anchors
    pages = [
        "/",
        next(a for a in article if a.startswith("/articles/")),
        "/topics/promet",
        "/archive",
        f"/archive/{LIST}/2025-W10",
        "/subscribe",
        links.preferences(uid).removeprefix(live_site.url),
        links.unsubscribe(uid, list_id).removeprefix(live_site.url),
        "/ni-take-strani",
    ]
    for path in pages:
        page = httpx.get(live_site.url + path, params={"lang": "en"})
        assert page.status_code in (200, 404), path
        assert '<html lang="en">' in page.text, path
        text = _own_text(page.text)
        assert [word for word in SLOVENIAN_MARKERS if word in text] == [], path
    edition = httpx.get(f"{live_site.url}/archive/{LIST}/2025-W10", params={"lang": "en"}).text
    assert "Newsletter archive" in edition and "The message as it was sent" in edition
    assert "This is how the issue was sent to the subscribers of “Weekly news”." in edition
    assert "3–9 March 2025" in httpx.get(live_site.url + "/archive?lang=en").text
    slovenian = httpx.get(f"{live_site.url}/archive/{LIST}/2025-W10", params={"lang": "sl"}).text
    assert "Tako je bila izdaja poslana naročnikom novic »Tedenske novice«." in slovenian
    assert ">Besedilna različica</a>" in slovenian and ">Arhiv e-novic</a>" in slovenian
