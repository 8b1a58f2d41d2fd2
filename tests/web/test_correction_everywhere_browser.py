"""A staff member writes news in Debian's Chromium and corrects it, and every reader sees the
correction with its photo: the site, the three feeds (read with feedparser) and the next digest
(a test copy over real SMTP, looked at in the browser at 600 and 390 px).

Never downloads a browser: skipped (saying why) without /usr/bin/chromium. Set
SCREENSHOT_DIR=docs/screenshots to refresh the published screenshots.
"""

from __future__ import annotations

import email
import io
from datetime import date
from email import policy
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from lxml import html as lxml_html
from PIL import Image, ImageDraw

from publisher.db import session_scope
from publisher.digests.periods import period_containing
from publisher.subscribers.lists import create_list
from publisher.subscribers.models import Source
from publisher.subscribers.subscriptions import subscribe
from tests.delivery.sending_support import LIST
from tests.feeds.validation import check_json_feed
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, STAFF_PASSWORD, AdminSite
from tests.web.browser_support import (
    check_accessibility,
    database_url,  # noqa: F401 (the fixture: SQLite only)
    needs_chromium,
)

DESKTOP = {"width": 1280, "height": 900}
TITLE = "Nova kolesarnica pri avtobusni postaji"
CORRECTED = "Nova kolesarnica pri železniški postaji"
ALT = "Kolesa v novi pokriti kolesarnici ob postaji"

pytestmark = needs_chromium
admin_site = admin_support.admin_site


def drawn_photo(path: Path) -> Path:
    """A photo made for the test: a sky, a road and a shelter, as a phone's JPEG."""
    picture = Image.new("RGB", (1600, 1000), (135, 185, 225))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 650, 1600, 1000), fill=(90, 90, 95))
    draw.rectangle((300, 380, 1300, 660), fill=(40, 110, 70))
    draw.polygon([(250, 390), (800, 250), (1350, 390)], fill=(200, 60, 50))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def test_staff_write_correct_and_every_reader_sees_the_photo(
    admin_site: AdminSite, chromium: Any, shots: Path, tmp_path: Path
) -> None:
    with session_scope(admin_site.engine) as session:
        create_list(session, LIST, "Tedenske novice")
    with session_scope(admin_site.engine) as session:
        subscribe(session, STAFF_EMAIL, LIST, source=Source.staff, confirmed=True)
    photo = drawn_photo(tmp_path / "kolesarnica.jpg")
    _, browser = chromium
    expect = pytest.importorskip("playwright.sync_api").expect
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    url = admin_site.url

    page.goto(url + "/admin/articles")
    page.get_by_label("E-poštni naslov").fill(STAFF_EMAIL)
    page.get_by_label("Geslo").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Prijava").click()
    page.wait_for_url("**/admin/articles")

    # A new article, with its photo; the live preview shows the page readers will see.
    page.get_by_role("link", name="Nov članek").click()
    page.wait_for_url("**/admin/articles/new")
    page.get_by_label("Naslov").fill(TITLE)
    page.get_by_label("Besedilo").fill(
        "Ob postaji stoji nova **pokrita** kolesarnica za 40 koles.\n\n"
        "## Kdaj\n\n- od ponedeljka\n- vse dni v tednu\n"
    )
    page.get_by_label("Datoteka").set_input_files(str(photo))
    page.get_by_label("Opis za bralce, ki fotografije ne vidijo").fill(ALT)
    page.get_by_label("Podnapis").fill("Kolesarnica ob postaji")
    page.get_by_label("Avtor fotografije").fill("Občinska služba")
    page.get_by_label("objavljen", exact=True).check()
    preview = page.frame_locator("iframe.preview-frame")
    expect(preview.locator("h1")).to_have_text(TITLE, timeout=15_000)
    expect(preview.get_by_role("heading", name="Kdaj")).to_be_visible()
    check_accessibility(page)
    page.screenshot(path=str(shots / "admin-editor.png"), full_page=True)
    page.get_by_role("button", name="Shrani").click()
    page.wait_for_url("**/admin/articles/*?notice=*")
    article_path = page.url.split("?")[0]

    # A correction of its title, a minute later.
    page.goto(article_path + "/edit")
    expect(page.get_by_label("Naslov")).to_have_value(TITLE)
    check_accessibility(page)
    page.get_by_label("Naslov").fill(CORRECTED)
    page.get_by_role("button", name="Shrani").click()
    page.wait_for_url("**/admin/articles/*?notice=*")
    page.goto(article_path + "/revisions")
    expect(page.locator("body")).to_contain_text(CORRECTED)
    check_accessibility(page)
    assert not [line for line in console if "Content Security Policy" in line], console

    with httpx.Client(base_url=url, timeout=30) as client:
        # The site: the corrected title, the photo with its alt text and size, the correction.
        home = lxml_html.fromstring(client.get("/").text)
        link = home.xpath(f'//a[contains(., "{CORRECTED}")]/@href')
        assert link, "the corrected article is not on the home page"
        article = client.get(link[0])
        assert article.status_code == 200
        tree = lxml_html.fromstring(article.text)
        assert CORRECTED in tree.findtext(".//h1")
        (img,) = tree.xpath("//article//figure//img")
        assert img.get("alt") == ALT and img.get("width") and img.get("height")
        assert "Popravljeno" in article.text
        served = client.get(img.get("src"))
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"

        # The three feeds, read as feed readers read them (feedparser 6.0 reads no JSON Feed).
        for path in ("/feeds/rss.xml", "/feeds/atom.xml"):
            feed = feedparser.parse(client.get(path).content)
            assert not feed.bozo, (path, feed.get("bozo_exception"))
            (entry,) = [e for e in feed.entries if "kolesarnica" in e.title.lower()]
            assert entry.title == CORRECTED, path
            (media,) = entry.media_content
            assert media["url"].startswith(url + "/media/"), path
            assert client.get(media["url"]).status_code == 200
            assert f'alt="{ALT}"' in entry.content[0].value, path
        items = check_json_feed(client.get("/feeds/feed.json").content)["items"]
        (item,) = [i for i in items if "kolesarnica" in i["title"].lower()]
        assert item["title"] == CORRECTED
        assert item["image"].startswith(url + "/media/")
        assert client.get(item["image"]).status_code == 200

    # The next digest: a test copy to myself, looked at as a resident's mail client shows it.
    week = period_containing(date.today()).key
    page.goto(url + f"/admin/digests/{LIST}/{week}")
    page.get_by_role("button", name=f"Pošlji poskusni izvod na {STAFF_EMAIL}").click()
    expect(page.locator(".notice")).to_contain_text("Poskusni izvod je poslan")
    (raw,) = [
        data for recipient, data, _ in admin_site.smtp.handler.received if recipient == STAFF_EMAIL
    ]
    message = email.message_from_bytes(raw, policy=policy.default)
    body = message.get_body(("html",)).get_content()
    assert len(body.encode()) < 102 * 1024
    mail = lxml_html.fromstring(body)
    assert CORRECTED in mail.text_content() and TITLE not in mail.text_content()
    imgs = mail.xpath("//img")
    # The mail's lines are wrapped at spaces (RFC 5322's length limit), inside attributes too.
    shown = [i for i in imgs if " ".join(i.get("alt", "").split()) == ALT]
    assert len(shown) == 1, [i.get("alt") for i in imgs]
    mail_img = shown[0]
    assert mail_img.get("src").startswith(url + "/media/")
    assert mail_img.get("width") and mail_img.get("height")
    text = message.get_body(("plain",)).get_content()
    assert CORRECTED in text
    for width in (600, 390):
        view = context.new_page()
        view.set_viewport_size({"width": width, "height": 900})
        view.set_content(body, wait_until="load")
        shown = view.locator("img.photo")
        expect(shown).to_be_visible()
        assert view.evaluate("(img) => img.naturalWidth", shown.element_handle()) > 0
        box = shown.bounding_box()
        assert box is not None and box["width"] <= width
        view.screenshot(path=str(tmp_path / f"digest-photo-{width}.png"), full_page=True)
        view.close()
