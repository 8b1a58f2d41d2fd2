"""Chromium reads the header with eight topics, some with long Slovenian names: at a desktop's
1280 px the navigation is one line and the rest wait in "Več tem", which the keyboard opens;
at a phone's 390 px nothing scrolls sideways.

Uses the system Chromium; set SCREENSHOT_DIR=docs/screenshots to refresh the published
screenshot web-topic-nav-1280."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from publisher.articles.store import save_topic
from publisher.db import session_scope
from publisher.resources import SAMPLES_DIR
from tests.feeds.helpers import draft, save
from tests.web.browser_support import check_accessibility, needs_chromium
from tests.web.conftest import LiveSite

pytestmark = needs_chromium

TOPICS = {
    "kultura": ("Kultura", "Culture"),
    "obcinski-svet": ("Občinski svet", "City council"),
    "okolje": ("Okolje in urejanje prostora", "Environment and planning"),
    "promet": ("Promet in infrastruktura", "Transport and infrastructure"),
    "razpisi": ("Razpisi in javna naročila", "Calls and public tenders"),
    "sport": ("Šport in rekreacija", None),
    "turizem": ("Turizem", "Tourism"),
    "zdravje": ("Zdravstvo in socialno varstvo", "Health and social care"),
}
"""Eight topics, ordered by slug as the header orders them; one without an English name."""


SAMPLE_TOPICS = {
    topic["slug"]: (topic["name"], topic.get("name_en"))
    for topic in json.loads((SAMPLES_DIR / "topics.json").read_text(encoding="utf-8"))
}
"""The demo's five short topics: in English, the layout's own words are longer."""


def _town(engine: Engine, topics: dict[str, tuple[str, str | None]] = TOPICS) -> None:
    for n, slug in enumerate(topics, start=1):
        save(engine, draft(n, topics=(slug,)))
    with session_scope(engine) as session:
        for slug, (name, name_en) in topics.items():
            save_topic(session, slug, name, name_en=name_en)


def _nav_tops(page: Any) -> list[float]:
    """The top edge of every item the header's line shows."""
    return page.evaluate(
        """() => [...document.querySelectorAll('ul.site-nav > li')]
            .filter(li => li.offsetParent !== null)
            .map(li => li.getBoundingClientRect().top)"""
    )


def _open_more_by_keyboard(page: Any) -> None:
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
    else:
        raise AssertionError("Tab never reached the More topics menu")
    page.keyboard.press("Enter")
    assert page.locator(".nav-more details").get_attribute("open") is not None


def test_eight_topics_fit_one_line_at_1280_and_the_rest_open_by_keyboard(
    live_site: LiveSite, engine: Engine, chromium: tuple[Any, Any], shots: Path
) -> None:
    _town(engine)
    _, browser = chromium
    for lang in ("sl", "en"):
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{live_site.url}/?lang={lang}")
        tops = _nav_tops(page)
        assert len(tops) >= 5, tops  # all news, topics, the menu, subscribe, language
        assert max(tops) - min(tops) <= 3, f"{lang}: the navigation wraps: {tops}"
        inline = page.locator("ul.site-nav > li.nav-topic").all_inner_texts()
        assert inline, "no topic in the line"
        _open_more_by_keyboard(page)
        menu = page.locator(".nav-more details > ul > li:visible").all_inner_texts()
        names = [name_en or name if lang == "en" else name for name, name_en in TOPICS.values()]
        assert inline + menu == names  # every topic once, in order: the line, then the menu
        page.keyboard.press("Tab")  # into the menu's first link
        assert page.evaluate("document.activeElement.textContent") == menu[0]
        check_accessibility(page)
        if lang == "sl":
            page.screenshot(path=str(shots / "web-topic-nav-1280.png"))
        page.close()


def test_the_demos_topics_keep_one_line_in_either_language(
    live_site: LiveSite, engine: Engine, chromium: tuple[Any, Any]
) -> None:
    _town(engine, SAMPLE_TOPICS)
    _, browser = chromium
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    for lang in ("sl", "en"):
        page.goto(f"{live_site.url}/?lang={lang}")
        tops = _nav_tops(page)
        assert max(tops) - min(tops) <= 3, f"{lang}: the navigation wraps: {tops}"
    page.close()


def test_a_phone_does_not_scroll_sideways_with_eight_topics(
    live_site: LiveSite, engine: Engine, chromium: tuple[Any, Any]
) -> None:
    _town(engine)
    _, browser = chromium
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(live_site.url + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _open_more_by_keyboard(page)
    links = page.locator(".nav-more details > ul > li:visible").all_inner_texts()
    assert links == [name for name, _ in TOPICS.values()]  # on a phone every topic is there
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    check_accessibility(page)
    page.close()
