"""Staff in Debian's Chromium: log in, preview, send a test, approve, watch the progress reach
100 %, open a failed recipient; axe-core finds no serious or critical problem on any admin page.

Never downloads a browser: skipped (saying why) without /usr/bin/chromium; the axe-core checks
need ``node_modules/axe-core`` (``.ci/run`` installs it with npm). Set
SCREENSHOT_DIR=docs/screenshots to refresh the published screenshots (1280 px wide).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from publisher.db import session_scope
from publisher.subscribers.lists import create_list
from publisher.subscribers.models import Source
from publisher.subscribers.subscriptions import subscribe
from tests.delivery.sending_support import LIST
from tests.feeds.helpers import load_samples
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, STAFF_PASSWORD, AdminSite
from tests.web.browser_support import (
    check_accessibility,
    database_url,  # noqa: F401 (the fixture: SQLite only)
    needs_chromium,
    require_axe,
)

DESKTOP = {"width": 1280, "height": 900}
WEEK = "2025-W12"
"""The newest week of the project's sample articles."""
NAMES = ["Ana Novak", "Bojan Kos", "Cvetka Župančič", "David Hočevar", "Eva Šinkovec"]

pytestmark = needs_chromium
admin_site = admin_support.admin_site


def residents(engine: Engine, count: int) -> list[str]:
    """A list with ``count`` confirmed residents, as staff would have after an import."""
    with session_scope(engine) as session:
        create_list(session, LIST, "Tedenske novice")
    addresses = []
    with session_scope(engine) as session:
        for n in range(count):
            name = f"{NAMES[n % len(NAMES)]} {n + 1}"
            address = f"obcan{n + 1:03d}@example.org"
            subscribe(session, address, LIST, source=Source.staff, name=name, confirmed=True)
            addresses.append(address)
    return addresses


def test_axe_core_is_installed_for_the_admin_checks() -> None:
    require_axe()


def test_staff_preview_test_approve_watch_and_open_a_failed_recipient(
    admin_site: AdminSite, chromium: Any, shots: Path
) -> None:
    load_samples(admin_site.engine, admin_site.settings)
    addresses = residents(admin_site.engine, 24)
    refused = addresses[6]
    smtp = admin_site.smtp.handler
    smtp.script.data[refused].append("550 5.1.1 Naslovnik ne obstaja (user unknown)")
    smtp.script.delay = 0.05  # slow enough to watch
    _, browser = chromium
    expect = pytest.importorskip("playwright.sync_api").expect
    page = browser.new_context(viewport=DESKTOP).new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    url = admin_site.url

    # A stranger is sent to the login page; staff log in there.
    page.goto(url + f"/admin/digests/{LIST}/{WEEK}")
    assert "/admin/login" in page.url
    check_accessibility(page)
    page.get_by_label("E-poštni naslov").fill(STAFF_EMAIL)
    page.get_by_label("Geslo").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Prijava").click()
    page.wait_for_url(f"**/admin/digests/{LIST}/{WEEK}")

    # The digest page: articles, the message in a sandboxed frame, the text version.
    expect(page.locator("h1")).to_contain_text("2025")
    frame = page.frame_locator("iframe.preview-frame")
    expect(frame.locator("body")).to_contain_text("Novo mesto")
    page.get_by_text("Besedilna različica").click()
    expect(page.locator(".text-part pre")).to_be_visible()
    page.get_by_text("Besedilna različica").click()
    check_accessibility(page)
    page.screenshot(path=str(shots / "admin-digest.png"), full_page=True)

    # English preview, then a test copy to myself.
    page.get_by_role("link", name="angleščina").click()
    expect(page.get_by_role("link", name="angleščina")).to_have_attribute("aria-current", "page")
    page.get_by_role("button", name=f"Pošlji poskusni izvod na {STAFF_EMAIL}").click()
    expect(page.locator(".notice")).to_contain_text("Poskusni izvod je poslan")
    assert [recipient for recipient, _, _ in smtp.received] == [STAFF_EMAIL]

    # Approve & send: the box first, then the button; the progress page takes over.
    confirm = page.get_by_role(
        "checkbox", name="Potrjujem pregled predogleda in poskusnega izvoda."
    )
    # By keyboard, as many staff work: Chromium may route a mouse click made right after a
    # scroll to the preview frame (another process) instead of the checkbox below it.
    confirm.press("Space")
    expect(confirm).to_be_checked()
    page.get_by_role("button", name="Odobri in pošlji").press("Enter")
    page.wait_for_url("**/admin/editions/*")
    expect(page.get_by_test_id("percent")).to_have_text("100\u00a0%", timeout=60_000)
    expect(page.get_by_test_id("failed")).to_have_text("1")
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)  # no more reloads
    check_accessibility(page)
    page.screenshot(path=str(shots / "admin-edition.png"), full_page=True)
    delivered = smtp.per_recipient()
    assert delivered == {STAFF_EMAIL: 1, **{a: 1 for a in addresses if a != refused}}

    # The failed recipient, with the server's reply.
    page.get_by_role("link", name=refused).click()
    expect(page.locator("h1")).to_have_text(refused)
    expect(page.locator(".reply")).to_contain_text("Naslovnik ne obstaja")
    check_accessibility(page)
    page.go_back()

    # Every other admin page passes axe too; the dashboard is the published screenshot.
    for path in (
        "/admin/editions",
        "/admin/articles",
        "/admin/articles/1",
        "/admin/topics",
        "/admin/lists",
        f"/admin/lists/{LIST}?q=novak",
        "/admin/subscribers?q=hočevar",
        "/admin",
    ):
        page.goto(url + path)
        check_accessibility(page)
    page.screenshot(path=str(shots / "admin-dashboard.png"), full_page=True)
    assert not [line for line in console if "Content Security Policy" in line], console
