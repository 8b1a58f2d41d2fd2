"""A phone-sized Chromium reads the home page, follows a link and finds a Slovenian date.

Uses the system Chromium (never a downloaded browser); skipped where it is not installed.
Its screenshots stay in the test's folder (the published phone views come from
test_photos_browser.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from tests.feeds.helpers import load_samples
from tests.web.browser_support import needs_chromium
from tests.web.conftest import LiveSite

pytestmark = needs_chromium


def test_a_phone_reader_opens_an_article_from_the_home_page(
    live_site: LiveSite, engine: Engine, chromium: tuple[Any, Any], tmp_path: Path
) -> None:
    _, browser = chromium
    load_samples(engine, live_site.settings)

    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    page.goto(live_site.url + "/")
    assert page.locator("html").get_attribute("lang") == "sl"
    assert page.locator("h1").inner_text() == "Novice"
    # Nothing is wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The first Tab reaches the skip link, visibly.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Escape")
    page.mouse.click(1, 400)
    page.screenshot(path=str(tmp_path / "home-390.png"), full_page=True)

    link = page.locator("ol.entries h2 a").first
    title = link.inner_text()
    link.click()
    page.wait_for_url("**/articles/**")
    assert page.locator("h1").inner_text() == title
    assert page.locator("article time").first.inner_text() == "21.\xa0marec 2025"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "article-390.png"), full_page=True)
    assert not errors, errors  # e.g. a CSP violation would be logged here
