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
from publisher.resources import LOCALE_DIR, WEB_TEMPLATES_DIR
from publisher.subscribers.lists import create_list
from tests.feeds.helpers import draft, save
from tests.web.conftest import LiveSite

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
