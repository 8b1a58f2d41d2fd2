"""A phone-sized Chromium reads an archived edition: one page, whole, no sideways or inner
scrolling. Uses the system Chromium (never a downloaded browser); skipped where it is absent.
Set SCREENSHOT_DIR to keep the screenshots (docs/screenshots/ holds the published ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.browser_support import check_accessibility, needs_chromium
from tests.web.conftest import LiveSite
from tests.web.test_archive import archived  # noqa: F401  (the fixture)

pytestmark = needs_chromium

INNER_SCROLLERS = """() => [...document.querySelectorAll('body *')].filter(el => {
  const style = getComputedStyle(el);
  const scrolls = (axis) => ['auto', 'scroll'].includes(style['overflow' + axis]);
  return (scrolls('Y') && el.scrollHeight > el.clientHeight + 1)
      || (scrolls('X') && el.scrollWidth > el.clientWidth + 1);
}).map(el => el.tagName + '.' + el.className)"""


@pytest.mark.parametrize("width", [390, 1280])
def test_an_archived_edition_reads_as_one_page_at_any_width(
    archived: LiveSite,  # noqa: F811
    chromium: tuple[Any, Any],
    shots: Path,
    width: int,
) -> None:
    _, browser = chromium
    page = browser.new_page(viewport={"width": width, "height": 844})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text))
    page.goto(archived.url + "/archive/tedenske-novice/2025-W10")
    assert page.locator("iframe").count() == 0
    assert page.locator("article.archive-article").count() == 3
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate(INNER_SCROLLERS) == []
    check_accessibility(page)
    page.screenshot(path=str(shots / f"web-archive-edition-{width}.png"), full_page=True)
    assert not errors, errors  # e.g. a CSP violation would be logged here
