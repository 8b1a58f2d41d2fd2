"""Two-factor sign-in in Debian's Chromium: a staff member sets it up from the page's QR
code, keeps the recovery codes, logs out and signs in again with password and code; axe-core
finds no serious or critical problem on any of its pages.

The code is made by pyotp from the secret the page shows, as a phone would; the server runs
in this process, so time-machine moves its clock to the next 30-second step (no waiting).
Set SCREENSHOT_DIR=docs/screenshots to refresh the published screenshot of the set-up page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
import time_machine

from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, STAFF_PASSWORD, AdminSite
from tests.web.browser_support import (
    check_accessibility,
    database_url,  # noqa: F401 (the fixture: SQLite only)
    needs_chromium,
)
from tests.web.test_two_factor import START, STEP

pytestmark = needs_chromium
admin_site = admin_support.admin_site
DESKTOP = {"width": 1280, "height": 900}


def test_staff_set_up_two_factor_from_the_page_and_sign_in_with_a_code(
    admin_site: AdminSite, chromium: Any, shots: Path
) -> None:
    _, browser = chromium
    expect = pytest.importorskip("playwright.sync_api").expect
    page = browser.new_context(viewport=DESKTOP).new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    url = admin_site.url

    with time_machine.travel(START, tick=False) as clock:
        page.goto(url + "/admin/login")
        page.get_by_label("E-poštni naslov").fill(STAFF_EMAIL)
        page.get_by_label("Geslo").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Prijava").click()
        page.wait_for_url(url + "/admin")

        page.get_by_role("link", name="Dvostopenjska prijava").click()
        page.wait_for_url("**/admin/two-factor")
        qr = page.get_by_role("img", name="Koda QR za dodajanje računa v aplikacijo za preverjanje")
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.complete && img.naturalWidth > 100")  # drawn, not blocked
        check_accessibility(page)
        page.screenshot(path=str(shots / "admin-two-factor.png"), full_page=True)
        secret = page.get_by_test_id("secret").inner_text().replace(" ", "")
        phone = pyotp.TOTP(secret)

        page.get_by_label("Koda iz aplikacije").fill(phone.at(datetime.now(UTC)))
        page.get_by_role("button", name="Vklopi dvostopenjsko prijavo").click()
        expect(page.locator("h1")).to_have_text("Obnovitvene kode")
        expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
        check_accessibility(page)
        page.get_by_role("link", name="Kode so shranjene, naprej v uredništvo").click()
        page.wait_for_url(url + "/admin")
        page.get_by_role("button", name="Odjava", exact=True).click()
        page.wait_for_url("**/admin/login?odjava=1")

        page.get_by_label("E-poštni naslov").fill(STAFF_EMAIL)
        page.get_by_label("Geslo").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Prijava").click()
        page.wait_for_url("**/admin/login/code?next=/admin")
        expect(page.locator("h1")).to_have_text("Drugi korak prijave")
        check_accessibility(page)
        clock.shift(STEP)  # the code of the set-up never works twice: the phone's next one
        page.get_by_label("Koda").fill(phone.at(datetime.now(UTC)))
        page.get_by_role("button", name="Prijava").click()
        page.wait_for_url(url + "/admin")
        expect(page.locator("h1")).to_have_text("Pregled")
        page.get_by_role("link", name="Dvostopenjska prijava").click()
        expect(page.get_by_test_id("recovery-left")).to_have_text("10")
        check_accessibility(page)
        page.get_by_role("link", name="Osebje").click()  # where an admin would reset it
        expect(page.get_by_test_id("staff")).to_contain_text("vklopljena od")
        check_accessibility(page)
    assert not [line for line in console if "Content Security Policy" in line], console
