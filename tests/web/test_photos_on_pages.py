"""What readers see of an article's photo and its correction on the site, over real HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.articles.models import Article
from publisher.web.app import create_app
from tests.feeds.helpers import draft, make_settings, save
from tests.photo_support import give_photo
from tests.web.conftest import LiveSite, serve

BUS = "mestni-avtobusi-bodo-odslej-vozili-pogosteje"


class Images(HTMLParser):
    """Every ``<img>`` of a page, with its attributes, and the text of its ``<figcaption>``."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.captions: list[str] = []
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append({name: value or "" for name, value in attrs})
        if tag == "figcaption":
            self._in_caption = True
            self.captions.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self.captions[-1] += data


def images_of(html: str) -> Images:
    parser = Images()
    parser.feed(html)
    return parser


def photos(html: str) -> list[dict[str, str]]:
    """The page's photos (not the site's icon)."""
    return [image for image in images_of(html).images if "/media/" in image["src"]]


@pytest.fixture
def with_photos(live_site: LiveSite, engine: Engine) -> LiveSite:
    save(engine, draft(1, title="Mestni avtobusi bodo odslej vozili pogosteje", topics=("promet",)))
    closed = draft(2, title="Zapora ceste", image_caption="Cesta pred zaporo", topics=("promet",))
    save(engine, closed)
    give_photo(
        engine,
        BUS,
        width=1600,
        height=1000,
        alt="Bel in zelen električni avtobus na postajališču",
        caption="Novi električni avtobus pri Glavnem trgu",
        credit="Ana Novak",
    )
    return live_site


def test_the_article_page_shows_its_photo_sized_with_every_stored_width_and_alt_text(
    with_photos: LiveSite,
) -> None:
    html = httpx.get(f"{with_photos.url}/articles/{BUS}").text
    [photo] = photos(html)
    base = f"{with_photos.url}/media/"
    assert photo["src"].startswith(base) and photo["src"].endswith("-1200.jpg")
    assert (photo["width"], photo["height"]) == ("1200", "750")
    assert photo["alt"] == "Bel in zelen električni avtobus na postajališču"
    widths = [part.split()[1] for part in photo["srcset"].split(", ")]
    assert widths == ["400w", "800w", "1200w"]
    assert all(part.startswith(base) for part in photo["srcset"].split(", "))
    assert photo["sizes"]
    [caption] = images_of(html).captions
    assert caption == "Novi električni avtobus pri Glavnem trgu · Foto: Ana Novak"
    assert html.index("<h1>") < html.index(photo["src"]) < html.index("<p>Besedilo novice")


def test_a_small_photo_is_offered_only_in_the_sizes_it_has(
    live_site: LiveSite, engine: Engine
) -> None:
    save(engine, draft(1, title="Majhna slika"))
    give_photo(engine, "majhna-slika", width=500, height=400, alt="Majhna")
    [photo] = photos(httpx.get(f"{live_site.url}/articles/majhna-slika").text)
    assert (photo["width"], photo["height"]) == ("500", "400")
    assert [part.split()[1] for part in photo["srcset"].split(", ")] == ["400w", "500w"]
    assert "<figcaption>" not in httpx.get(f"{live_site.url}/articles/majhna-slika").text


def test_lists_show_a_lazy_sized_thumbnail_only_for_articles_with_a_photo(
    with_photos: LiveSite,
) -> None:
    with httpx.Client(base_url=with_photos.url) as client:
        for path in ("/", "/topics/promet"):
            html = client.get(path).text
            [thumb] = photos(html)
            assert thumb["src"].endswith("-400.jpg")
            assert (thumb["width"], thumb["height"]) == ("400", "250")
            assert thumb["loading"] == "lazy" and thumb["decoding"] == "async"
            assert html.count('class="entry with-photo"') == 1
            assert html.count('class="entry"') == 1  # the other article, text only


def test_a_caption_without_a_photo_prints_no_dangling_photo_line(with_photos: LiveSite) -> None:
    with httpx.Client(base_url=with_photos.url) as client:
        for path in ("/articles/zapora-ceste", "/", "/topics/promet"):
            html = client.get(path).text
            assert "Cesta pred zaporo" not in html, path
            assert not re.search(r"Foto(grafija)?:", html.replace("Foto: Ana Novak", "")), path


def test_a_corrected_article_says_when_it_was_corrected(
    with_photos: LiveSite, engine: Engine
) -> None:
    page = f"{with_photos.url}/articles/zapora-ceste"
    assert "Popravljeno" not in httpx.get(page).text
    with Session(engine) as session:
        article = session.exec(select(Article).where(Article.slug == "zapora-ceste")).one()
        article.edited_at = datetime(2025, 4, 3, 12, 20, tzinfo=UTC)  # 14:20 in Novo mesto
        session.add(article)
        session.commit()
    html = httpx.get(page).text
    assert (
        'Popravljeno <time datetime="2025-04-03T14:20:00+02:00">3. 4. 2025 ob 14.20</time>' in html
    )
    assert "Popravljeno" not in httpx.get(f"{with_photos.url}/articles/{BUS}").text


def test_an_english_site_says_corrected(engine: Engine, database_url: str) -> None:
    save(engine, draft(1, title="Road closed"))
    with Session(engine) as session:
        article = session.exec(select(Article)).one()
        article.edited_at = datetime(2025, 4, 3, 12, 20, tzinfo=UTC)
        session.add(article)
        session.commit()

    def make_app(url: str) -> FastAPI:
        return create_app(make_settings(database_url, base_url=url, language="en"), engine)

    with serve(make_app) as (url, _):
        html = httpx.get(f"{url}/articles/road-closed").text
    assert '<html lang="en">' in html
    assert "Published <time" in html
    assert "Corrected <time datetime=" in html and "3 April 2025, 14:20</time>" in html
