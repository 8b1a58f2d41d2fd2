"""Staff write an article in a real browser (Debian's Chromium): live preview, photo, publish,
correct; axe-core finds no serious or critical problem on the editor's pages."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlmodel import Session, select

from publisher.articles.models import Article
from publisher.articles.store import save_topic
from publisher.db import session_scope
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, STAFF_PASSWORD, AdminSite
from tests.web.browser_support import (
    check_accessibility,
    database_url,  # noqa: F401 (the fixture: SQLite only)
    needs_chromium,
)

DESKTOP = {"width": 1280, "height": 900}
pytestmark = needs_chromium
admin_site = admin_support.admin_site


def photo_file(tmp_path: Path) -> Path:
    image = Image.new("RGB", (900, 600), (40, 110, 160))
    for x in range(0, 900, 60):
        image.paste((230, 200, 60), (x, 250, x + 30, 350))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path = tmp_path / "most.jpg"
    path.write_bytes(buffer.getvalue())
    return path


def test_staff_write_preview_publish_and_correct_an_article_with_its_photo(
    admin_site: AdminSite, chromium: Any, tmp_path: Path
) -> None:
    with session_scope(admin_site.engine) as session:
        save_topic(session, "promet", "Promet")
    _, browser = chromium
    expect = pytest.importorskip("playwright.sync_api").expect
    page = browser.new_context(viewport=DESKTOP).new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    url = admin_site.url

    page.goto(url + "/admin/articles/new")
    page.get_by_label("E-poštni naslov").fill(STAFF_EMAIL)
    page.get_by_label("Geslo").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Prijava").click()
    page.wait_for_url("**/admin/articles/new")
    check_accessibility(page)

    page.get_by_label("Naslov").fill("Most čez Krko je odprt")
    page.get_by_label("Besedilo").fill("Most je **znova odprt** za pešce.\n\n## Kdaj\n\n- od danes")
    page.get_by_label("Promet").check()
    frame = page.frame_locator("iframe#predogled")
    expect(frame.locator("h1")).to_have_text("Most čez Krko je odprt")
    expect(frame.locator("strong")).to_have_text("znova odprt")

    # A refused save (a photo without a description) keeps everything typed.
    page.get_by_label("Datoteka").set_input_files(str(photo_file(tmp_path)))
    page.get_by_label("objavljen").check()
    page.get_by_role("button", name="Shrani").click()
    expect(page.locator("#image_alt-napaka")).to_be_visible()
    expect(page.get_by_label("Naslov")).to_have_value("Most čez Krko je odprt")
    expect(page.get_by_label("Besedilo")).to_have_value(
        "Most je **znova odprt** za pešce.\n\n## Kdaj\n\n- od danes"
    )
    expect(page.get_by_text("Fotografija je shranjena")).to_be_visible()  # not chosen again
    check_accessibility(page)
    page.get_by_label("Opis za bralce, ki fotografije ne vidijo").fill(
        "Nov most čez Krko v sončnem vremenu"
    )
    page.get_by_label("Podnapis").fill("Prenovljeni most")
    page.get_by_role("button", name="Shrani").click()
    expect(page.locator(".notice")).to_contain_text("Članek je shranjen")
    page.screenshot(path=str(tmp_path / "admin-article-written.png"), full_page=True)

    page.get_by_role("link", name="Uredi").click()
    check_accessibility(page)
    page.get_by_label("Naslov").fill("Most čez Krko je znova odprt")
    page.get_by_role("button", name="Shrani").click()
    expect(page.locator(".notice")).to_contain_text("Popravki so shranjeni")
    page.get_by_role("link", name="Zgodovina").click()
    expect(page.locator("body")).to_contain_text("+Most čez Krko je znova odprt")
    check_accessibility(page)

    with Session(admin_site.engine) as session:
        article = session.exec(select(Article)).one()
        assert article.photo_id is not None
        assert article.image_alt == "Nov most čez Krko v sončnem vremenu"
        slug = article.slug
    public = httpx.get(f"{url}/articles/{slug}")
    assert public.status_code == 200 and "Most čez Krko je znova odprt" in public.text
    assert not [text for text in problems if "Content Security Policy" in text], problems
