"""Chromium sees the sample articles' photos on the site and in the digest, at a desktop's and
a phone's width, and the digest with images blocked as Outlook blocks them by default.

Uses the system Chromium; set SCREENSHOT_DIR=docs/screenshots to refresh the published
screenshots (web-article-*, web-home-*, web-home-en-1280, digest-*)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from publisher.articles.drafts import TopicRef
from publisher.articles.importing import import_sources
from publisher.articles.models import Article
from publisher.articles.photos import PhotoIntake
from publisher.articles.store import save_topic
from publisher.config import Settings
from publisher.db import session_scope
from publisher.digests.content import articles_for, compose
from publisher.digests.periods import parse_period
from publisher.subscribers.lists import create_list, get_list
from tests.web.browser_support import check_accessibility, needs_chromium
from tests.web.conftest import LiveSite

pytestmark = needs_chromium

BUS = "/articles/mestni-avtobusi-bodo-odslej-vozili-pogosteje"
DEMO_WEEK = "2025-W12"
"""The samples' newest week (the demo's "this week"): three photos, three articles without."""


def import_samples_with_photos(engine: Engine, settings: Settings) -> int:
    """The sample exports as ``publisher demo`` imports them, each with the photo beside it;
    returns how many articles got a photo."""
    samples = resources.files("publisher") / "samples"
    for topic in json.loads((samples / "topics.json").read_text(encoding="utf-8")):
        with session_scope(engine) as session:
            save_topic(session, topic["slug"], topic["name"], name_en=topic.get("name_en"))
    filed = json.loads((samples / "article-topics.json").read_text(encoding="utf-8"))
    with resources.as_file(samples / "articles") as folder:
        for path in sorted(Path(folder).glob("*.txt")):
            report = import_sources(
                engine,
                [str(path)],
                tz=settings.tz,
                add_topics=[TopicRef(slug=s, name=s) for s in filed.get(path.name, [])],
                photos=PhotoIntake.from_settings(settings),
            )
            assert not report.rejections and not report.warnings, path
    with Session(engine) as session:
        return len(session.exec(select(Article).where(col(Article.photo_id).is_not(None))).all())


@pytest.fixture
def sample_site(live_site: LiveSite, engine: Engine) -> LiveSite:
    assert import_samples_with_photos(engine, live_site.settings) == 5
    return live_site


def loaded_photos(page: Any) -> list[dict[str, Any]]:
    """Every photo of the page once the lazy ones have loaded: its sizes, drawn and natural."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")
    return page.evaluate(
        """() => [...document.querySelectorAll('img[src*="/media/"]')].map(img => ({
            natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
            height: img.getBoundingClientRect().height, alt: img.alt,
            done: img.complete, src: img.currentSrc}))"""
    )


def test_the_site_shows_the_photos_at_desktop_and_phone_width(
    sample_site: LiveSite, chromium: tuple[Any, Any], shots: Path
) -> None:
    _, browser = chromium
    for width, height in ((1280, 900), (390, 844)):
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
        errors: list[str] = []
        page.on("console", lambda message, errors=errors: errors.append(message.text))
        page.goto(sample_site.url + BUS)
        [photo] = loaded_photos(page)
        assert photo["done"] and photo["natural"] > 0, photo
        assert photo["alt"] == "Novi električni avtobus na postajališču pri Glavnem trgu"
        assert photo["shown"] <= width - 32 and photo["height"] > 0
        assert page.locator("figure.photo figcaption").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        check_accessibility(page)
        page.screenshot(path=str(shots / f"web-article-{width}.png"), full_page=True)

        page.goto(sample_site.url + "/")
        thumbs = loaded_photos(page)
        assert len(thumbs) == 5 and all(t["done"] and t["natural"] > 0 for t in thumbs)
        assert all(t["shown"] < width / 2 for t in thumbs)  # beside the text, not over it
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        check_accessibility(page)
        page.screenshot(path=str(shots / f"web-home-{width}.png"), full_page=True)
        if width == 1280:  # the same page for an English reader: English chrome and topics
            page.goto(sample_site.url + "/?lang=en")
            loaded_photos(page)
            assert page.locator("h1").inner_text() == "News"
            page.screenshot(path=str(shots / "web-home-en-1280.png"), full_page=True)
        assert not errors, errors
        page.close()


def test_the_digest_shows_the_photos_and_holds_together_with_images_blocked(
    sample_site: LiveSite, engine: Engine, chromium: tuple[Any, Any], shots: Path
) -> None:
    _, browser = chromium
    settings = sample_site.settings
    with session_scope(engine) as session:
        weekly = create_list(session, "tedenske-novice", "Tedenske novice")
        period = parse_period(DEMO_WEEK)
        composed = compose(
            settings, weekly, period, articles_for(session, weekly, period, settings), "sl"
        )
    html = composed.public_html(f"{settings.base_url}/unsubscribe", f"{settings.base_url}/")
    for blocked in (False, True):
        for width in (600, 390):
            page = browser.new_page(viewport={"width": width, "height": 900})
            if blocked:
                page.route(
                    "**/*",
                    lambda route: (
                        route.abort()
                        if route.request.resource_type == "image"
                        else route.continue_()
                    ),
                )
            page.set_content(html, wait_until="networkidle")
            photos = page.evaluate(
                """() => [...document.querySelectorAll('img[src*="/media/"]')].map(img => ({
                    natural: img.naturalWidth, alt: img.alt,
                    width: img.getBoundingClientRect().width,
                    height: img.getBoundingClientRect().height}))"""
            )
            assert len(photos) == 3
            for photo in photos:
                assert photo["alt"]
                assert photo["width"] <= width  # never wider than the phone
                assert photo["height"] >= 16, photo  # the alt text has room: nothing collapses
                assert (photo["natural"] > 0) is not blocked
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            name = f"digest-{width}{'-images-blocked' if blocked else ''}.png"
            page.screenshot(path=str(shots / name), full_page=True)
            page.close()
    # The same edition in English, and on a phone in dark mode.
    page = browser.new_page(viewport={"width": 390, "height": 900}, color_scheme="dark")
    page.set_content(html, wait_until="networkidle")
    page.screenshot(path=str(shots / "digest-390-dark.png"), full_page=True)
    page.close()
    with Session(engine) as session:
        weekly = get_list(session, "tedenske-novice")
        english = compose(
            settings, weekly, period, articles_for(session, weekly, period, settings), "en"
        )
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.set_content(
        english.public_html(f"{settings.base_url}/unsubscribe", f"{settings.base_url}/"),
        wait_until="networkidle",
    )
    assert page.locator("p.caption").count() == 3 and "Read more" in page.content()
    page.screenshot(path=str(shots / "digest-390-en.png"), full_page=True)
    page.close()
