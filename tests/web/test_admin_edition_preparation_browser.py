"""An editor prepares an edition in Debian's Chromium, with plain HTML forms: writes the note,
leaves an article out, renumbers the rest, saves; the preview frame shows it; axe-core finds
no serious or critical problem on the form, before and after approval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, STAFF_PASSWORD, AdminSite
from tests.web.browser_support import check_accessibility, needs_chromium

pytestmark = needs_chromium
admin_site = admin_support.admin_site


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite is enough here: the rules are proven on both databases by the HTTP tests."""
    return f"sqlite:///{tmp_path / 'publisher.db'}"


def test_staff_write_the_note_choose_and_order_articles_and_see_them_in_the_preview(
    admin_site: AdminSite, chromium: Any
) -> None:
    stock(admin_site.engine, 2)
    _, browser = chromium
    expect = pytest.importorskip("playwright.sync_api").expect
    # The admin runs no scripts of its own (its policy allows none): the form works as HTML.
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(admin_site.url + f"/admin/digests/{LIST}/{PERIOD}")
    page.get_by_label("E-poštni naslov").fill(STAFF_EMAIL)
    page.get_by_label("Geslo").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Prijava").click()
    page.wait_for_url(f"**/admin/digests/{LIST}/{PERIOD}")
    check_accessibility(page)

    page.get_by_label("Uvodnik urednika (slovensko)").fill("Dragi bralci,\n\nmost je zaprt.")
    page.get_by_role("checkbox", name="Novica 1: obnova ceste v Šmihelu").uncheck()
    page.get_by_label("Vrstni red: Novica 0: obnova ceste v Šmihelu").fill("1")
    page.get_by_label("Vrstni red: Novica 2: obnova ceste v Šmihelu").fill("2")
    page.get_by_role("button", name="Shrani izbor").click()
    expect(page.locator(".notice")).to_contain_text("Uvodnik in izbor člankov sta shranjena")
    expect(page.get_by_label("Uvodnik urednika (slovensko)")).to_have_value(
        "Dragi bralci,\n\nmost je zaprt."
    )
    frame = page.frame_locator("iframe.preview-frame")
    expect(frame.locator(".editor-note")).to_contain_text("most je zaprt.")
    titles = frame.locator(".article-title").all_inner_texts()
    assert [title[:8] for title in titles] == ["Novica 0", "Novica 2"]
    check_accessibility(page)

    confirm = page.get_by_role(
        "checkbox", name="Potrjujem pregled predogleda in poskusnega izvoda."
    )
    confirm.press("Space")
    page.get_by_role("button", name="Odobri in pošlji").press("Enter")
    page.wait_for_url("**/admin/editions/*")
    expect(page.get_by_test_id("percent")).to_have_text("100 %", timeout=60_000)
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)  # no more reloads
    expect(page.get_by_test_id("frozen")).to_contain_text("zamrznjeni ob odobritvi")
    expect(page.get_by_test_id("frozen-order").locator("li")).to_have_count(2)
    check_accessibility(page)
