"""A resident in Debian's Chromium: subscribe, confirm from the caught mail, change preferences,
one-click unsubscribe; axe-core checks every residents' page, on a phone and on a desktop.

Never downloads a browser: skipped (saying why) without /usr/bin/chromium, and the axe-core
checks without ``node_modules/axe-core`` (``.ci/run`` installs it with npm). Set
SCREENSHOT_DIR=docs/screenshots to refresh the published screenshots.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from publisher.db import make_engine, upgrade
from tests.web.browser_support import check_accessibility, needs_chromium, require_axe
from tests.web.residents_support import Town, confirm_path, html_of, live_town, token_uid

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = needs_chromium


@pytest.fixture
def town_online(tmp_path: Path) -> Iterator[tuple[str, Town]]:
    """SQLite is enough here: the store's rules are proven on both databases elsewhere."""
    url = f"sqlite:///{tmp_path / 'publisher.db'}"
    engine: Engine = make_engine(url)
    upgrade(engine)
    with live_town(engine, url) as online:
        yield online
    engine.dispose()


def fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "sideways scrolling"


def test_axe_core_is_installed() -> None:
    require_axe()


def test_a_resident_subscribes_confirms_chooses_and_unsubscribes(
    town_online: tuple[str, Town], chromium: Any, shots: Path
) -> None:
    url, town = town_online
    playwright, browser = chromium
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))

    # The form, first sent empty: errors are listed and linked to their fields.
    page.goto(url + "/subscribe")
    assert page.locator("html").get_attribute("lang") == "sl"
    fits(page, 390)
    check_accessibility(page)
    page.screenshot(path=str(shots / "residents-subscribe-390.png"), full_page=True)
    page.get_by_role("button", name="Prijavite se").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").is_visible()
    assert page.locator("#email").get_attribute("aria-invalid") == "true"
    check_accessibility(page)
    page.screenshot(path=str(shots / "residents-subscribe-errors-390.png"), full_page=True)

    # Filled in with labels, as a person would: every control is reachable by its label.
    page.get_by_label("E-poštni naslov").fill("ana.novak@example.org")
    page.get_by_label("Ime").fill("Ana Novak")
    page.get_by_label("Tedenske novice").check()
    page.get_by_label("Kultura").check()
    box = page.get_by_role("button", name="Prijavite se").bounding_box()
    assert box["height"] >= 44
    page.get_by_role("button", name="Prijavite se").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Preverite e-pošto"
    check_accessibility(page)
    page.screenshot(path=str(shots / "residents-check-mail-390.png"), full_page=True)

    # The caught mail: how it looks, then its link.
    [mail] = town.wait_for_mails("ana.novak@example.org")
    mail_page = context.new_page()
    mail_page.set_content(html_of(mail))
    mail_page.screenshot(path=str(shots / "residents-confirm-mail-390.png"), full_page=True)
    mail_page.set_viewport_size({"width": 600, "height": 844})
    mail_page.screenshot(path=str(shots / "residents-confirm-mail-600.png"), full_page=True)
    mail_page.close()
    page.goto(url + confirm_path(mail))
    assert page.get_by_role("heading", level=1).inner_text() == "Prijava potrjena"
    check_accessibility(page)
    page.screenshot(path=str(shots / "residents-confirmed-390.png"), full_page=True)

    # Preferences: a topic more, messages in English.
    page.get_by_role("link", name="Uredite nastavitve prejemanja").click()
    page.wait_for_url(re.compile(r".*/preferences/.*"))
    preferences_url = page.url
    fits(page, 390)
    check_accessibility(page)
    page.screenshot(path=str(shots / "residents-preferences-390.png"), full_page=True)
    page.get_by_label("Promet").check()
    page.get_by_label("English").check()
    page.get_by_role("button", name="Shranite nastavitve").click()
    page.wait_for_url(re.compile(r".*saved=1.*"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_text("Your preferences are saved.").is_visible()
    assert page.get_by_label("Promet").is_checked() and page.get_by_label("Kultura").is_checked()
    check_accessibility(page)

    # The unsubscribe page (one button) is accessible too ...
    unsubscribe_url = mail["List-Unsubscribe"].strip("<>")
    page.goto(unsubscribe_url)
    check_accessibility(page)
    page.screenshot(path=str(shots / "residents-unsubscribe-390.png"), full_page=True)
    # ... but the mail client's one-click POST needs no page and no cookie.
    mail_client = playwright.request.new_context()
    response = mail_client.post(unsubscribe_url, form={"List-Unsubscribe": "One-Click"})
    assert response.status == 200
    mail_client.dispose()
    page.get_by_role("button").filter(has_text="unsubscribe").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "You are unsubscribed"
    check_accessibility(page)

    # The link opened again, and the preferences page of an address nothing is sent to, in
    # the site's Slovenian: each says so instead of offering what would change nothing.
    again = unsubscribe_url + ("&" if "?" in unsubscribe_url else "?") + "lang=sl"
    page.goto(again)
    assert page.get_by_role("heading", level=1).inner_text() == "Odjavljeni ste že"
    check_accessibility(page)
    page.screenshot(path=str(shots / "residents-unsubscribed-again-390.png"), full_page=True)
    page.goto(preferences_url.split("?")[0] + "?lang=sl")
    assert page.get_by_role("button", name="Shranite nastavitve").count() == 0
    check_accessibility(page)
    page.screenshot(path=str(shots / "residents-preferences-suppressed-390.png"), full_page=True)
    assert not [m for m in console if "Content Security Policy" in m], console
    context.close()


def test_every_residents_page_is_accessible_on_a_desktop_and_a_phone(
    town_online: tuple[str, Town], chromium: Any, shots: Path
) -> None:
    url, town = town_online
    _playwright, browser = chromium
    from tests.web.test_residents import confirmed_resident

    sid = confirmed_resident(town)
    from publisher.links import SubscriberLinks

    links = SubscriberLinks(town.settings)
    pages = {
        "subscribe": "/subscribe",
        "subscribe-en": "/subscribe?lang=en",
        "privacy": "/privacy",
        "unsubscribe-help": "/unsubscribe",
        "preferences": links.preferences(token_uid(town.engine, sid)).removeprefix(url),
        "bad-link": "/confirm/nekaj-narobe",
        "gone": links.preferences("nobody-has-this-uid").removeprefix(url),
    }
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        for name, path in pages.items():
            page.goto(url + path)
            fits(page, viewport["width"])
            check_accessibility(page)
            # The first Tab reaches the skip link, and it shows.
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip-link", name
            assert page.locator(".skip-link").bounding_box()["y"] >= 0
            if name in ("subscribe", "preferences") and viewport is DESKTOP:
                page.keyboard.press("Escape")
                page.mouse.click(1, 1)
                page.screenshot(path=str(shots / f"residents-{name}-1280.png"), full_page=True)
        context.close()
