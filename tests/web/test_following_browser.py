"""In Debian's Chromium: a reader clicks a feed link and gets the follow page, not raw XML;
its "Kopiraj" buttons put the feed's address on the clipboard (and stay hidden where scripts
do not run); the follow page and the accessibility statement pass axe-core at phone and
desktop widths. Set SCREENSHOT_DIR=docs/screenshots to refresh the published screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from publisher.web.app import create_app
from tests.feeds.helpers import make_settings
from tests.web.browser_support import check_accessibility, needs_chromium, require_axe
from tests.web.conftest import serve
from tests.web.test_following import _site

pytestmark = needs_chromium

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
CLIPBOARD = ["clipboard-read", "clipboard-write"]
PUBLIC = "https://novice.example.org"


@pytest.fixture
def site(engine: Engine, database_url: str) -> Iterator[str]:
    """The site served here under a public address of its own, as a resident (and the
    screenshots) would see the feed addresses; pages link within the site, so browsing works."""

    def make_app(url: str) -> FastAPI:
        return create_app(make_settings(database_url, base_url=PUBLIC), engine)

    _site(engine)
    with serve(make_app) as (url, _app):
        yield url


def test_axe_core_is_installed() -> None:
    require_axe()


def _fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "sideways scrolling"


def test_a_reader_clicks_a_feed_link_and_copies_the_address(
    site: str, chromium: Any, shots: Path
) -> None:
    _, browser = chromium
    context = browser.new_context(viewport=DESKTOP, permissions=CLIPBOARD)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    page.goto(site + "/topics/promet")
    page.locator("footer").get_by_role("link", name="RSS", exact=True).click()
    page.wait_for_url("**/viri#vir-rss")
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Spremljajte novice v bralniku novic"
    )
    rss = page.get_by_label("RSS 2.0")
    assert rss.input_value() == f"{PUBLIC}/feeds/rss.xml"
    assert not rss.is_editable()  # read-only: nothing to break by typing

    copy = page.get_by_role("button", name="Kopiraj RSS 2.0")
    assert copy.is_visible()  # the script ran and showed it
    copy.click()
    status = page.get_by_role("status")
    status.filter(has_text="Naslov RSS 2.0 je kopiran").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == f"{PUBLIC}/feeds/rss.xml"

    page.get_by_role("button", name="Kopiraj Atom 1.0").press("Enter")  # by keyboard too
    status.filter(has_text="Naslov Atom 1.0 je kopiran").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == f"{PUBLIC}/feeds/atom.xml"
    feedly = page.get_by_role("link", name="Feedly")
    assert feedly.get_attribute("href", timeout=1000).startswith(
        "https://feedly.com/i/subscription/feed/"
    )

    _fits(page, 1280)
    check_accessibility(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(shots / "web-feeds-page-1280.png"), full_page=True)
    assert not console, console  # a CSP refusal of the script would show here

    page.goto(site + "/topics/promet/viri?lang=en")
    page.get_by_role("button", name="Copy Atom 1.0").click()
    page.get_by_role("status").filter(has_text="The Atom 1.0 address is copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == (
        f"{PUBLIC}/feeds/topics/promet/atom.xml"
    )
    check_accessibility(page)
    context.close()


def test_the_follow_page_reads_on_a_phone_and_works_without_scripts(
    site: str, chromium: Any, shots: Path
) -> None:
    _, browser = chromium
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = context.new_page()
    page.goto(site + "/viri")
    _fits(page, 390)
    check_accessibility(page)
    box = page.get_by_role("button", name="Kopiraj JSON Feed 1.1").bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    page.screenshot(path=str(shots / "web-feeds-page-390.png"), full_page=True)
    context.close()

    without = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = without.new_page()
    page.goto(site + "/viri")
    assert page.get_by_role("button").count() == 0  # no button that would do nothing
    assert page.get_by_label("RSS 2.0").input_value() == f"{PUBLIC}/feeds/rss.xml"
    without.close()


def test_the_accessibility_statement_passes_its_own_check(
    site: str, chromium: Any, shots: Path
) -> None:
    _, browser = chromium
    page = browser.new_page(viewport=DESKTOP)
    page.goto(site + "/")
    page.get_by_role("link", name="Izjava o dostopnosti").click()
    page.wait_for_url("**/dostopnost")
    assert page.get_by_role("heading", level=1).inner_text() == "Izjava o dostopnosti"
    _fits(page, 1280)
    check_accessibility(page)
    page.screenshot(path=str(shots / "web-accessibility-1280.png"), full_page=True)
    page.goto(site + "/dostopnost?lang=en")
    assert page.get_by_role("heading", level=1).inner_text() == "Accessibility statement"
    check_accessibility(page)
    page.close()
