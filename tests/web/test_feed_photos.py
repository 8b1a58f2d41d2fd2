"""Feed readers get each article's photo: ``media:content`` and an ``<img>`` at the top of the
content in RSS and Atom, ``image`` in JSON Feed, all absolute; a correction refreshes them.

Read over real HTTP from the running app, with feedparser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html.parser import HTMLParser

import httpx
import pytest
from lxml import etree
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.articles.models import Article
from publisher.feeds.models import FeedFormat
from tests.feeds.helpers import draft, save
from tests.feeds.validation import check_feed, check_json_feed, parse_xml_feed
from tests.photo_support import give_photo
from tests.web.conftest import LiveSite

SLUG = "novi-avtobusi"
MEDIA = {"media": "http://search.yahoo.com/mrss/"}


class FirstImage(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.first: tuple[str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.first is None and tag not in ("figure",):
            self.first = (tag, {name: value or "" for name, value in attrs})


def first_tag(html: str) -> tuple[str, dict[str, str]]:
    parser = FirstImage()
    parser.feed(html)
    assert parser.first is not None
    return parser.first


@pytest.fixture
def photo_site(live_site: LiveSite, engine: Engine) -> LiveSite:
    save(engine, draft(1, title="Novi avtobusi", image_caption="Avtobus na postaji"))
    save(engine, draft(2, title="Brez fotografije", image_caption="Fotografija, ki je ni"))
    save(
        engine,
        draft(
            3,
            title="Iz drugega vira",
            image_url="https://drugje.example.org/slika.jpg",
            image_caption="Slika iz vira",
        ),
    )
    give_photo(engine, SLUG, width=1600, height=1000, alt="Električni avtobus", credit="Ana Novak")
    return live_site


def fetch(site: LiveSite, fmt: FeedFormat) -> bytes:
    response = httpx.get(f"{site.url}/feeds/{fmt.value}")
    assert response.status_code == 200
    check_feed(fmt, response.content)
    return response.content


def by_title(parsed: object, title: str) -> dict:  # type: ignore[type-arg]
    return next(e for e in parsed.entries if e.title == title)  # type: ignore[attr-defined]


@pytest.mark.parametrize("fmt", [FeedFormat.rss, FeedFormat.atom])
def test_rss_and_atom_carry_the_photo_as_media_content_and_an_img_first(
    photo_site: LiveSite, fmt: FeedFormat
) -> None:
    parsed = parse_xml_feed(fetch(photo_site, fmt))
    entry = by_title(parsed, "Novi avtobusi")
    [media] = entry.media_content
    assert media["url"].startswith(f"{photo_site.url}/media/") and media["url"].endswith(
        "-1200.jpg"
    )
    assert (media["medium"], media["type"]) == ("image", "image/jpeg")
    assert (media["width"], media["height"]) == ("1200", "750")
    assert entry.media_credit[0]["content"] == "Ana Novak"
    # feedparser folds media:description into the summary; read the element itself.
    document = etree.fromstring(fetch(photo_site, fmt))
    descriptions = document.xpath("//media:content/media:description/text()", namespaces=MEDIA)
    assert "Avtobus na postaji" in descriptions
    tag, attrs = first_tag(entry.content[0].value)
    assert tag == "img"
    assert attrs["src"] == media["url"]
    assert (attrs["alt"], attrs["width"], attrs["height"]) == ("Električni avtobus", "1200", "750")
    assert "Foto: Ana Novak" in entry.content[0].value


def test_json_feed_gives_the_photo_as_image(photo_site: LiveSite) -> None:
    items = {
        item["title"]: item for item in check_json_feed(fetch(photo_site, FeedFormat.json))["items"]
    }
    photo = items["Novi avtobusi"]
    assert photo["image"].startswith(f"{photo_site.url}/media/") and photo["image"].endswith(
        "-1200.jpg"
    )
    assert photo["content_html"].startswith(f'<figure><img src="{photo["image"]}"')
    assert "image" not in items["Brez fotografije"]


def test_a_caption_without_a_photo_is_in_no_feed(photo_site: LiveSite) -> None:
    for fmt in FeedFormat:
        body = fetch(photo_site, fmt).decode()
        assert "Fotografija, ki je ni" not in body, fmt
    for fmt in (FeedFormat.rss, FeedFormat.atom):
        entry = by_title(parse_xml_feed(fetch(photo_site, fmt)), "Brez fotografije")
        assert not entry.get("media_content")
        assert "<img" not in entry.content[0].value


def test_an_imported_image_url_keeps_its_old_shape(photo_site: LiveSite) -> None:
    rss = by_title(parse_xml_feed(fetch(photo_site, FeedFormat.rss)), "Iz drugega vira")
    [media] = rss.media_content
    assert media == {"url": "https://drugje.example.org/slika.jpg", "medium": "image"}
    atom = by_title(parse_xml_feed(fetch(photo_site, FeedFormat.atom)), "Iz drugega vira")
    assert not atom.get("media_content")  # as before: only in the content
    for entry in (rss, atom):
        tag, attrs = first_tag(entry.content[0].value)
        assert (tag, attrs["src"], attrs["alt"]) == (
            "img",
            "https://drugje.example.org/slika.jpg",
            "Slika iz vira",
        )
    json_items = json.loads(fetch(photo_site, FeedFormat.json))["items"]
    imported = next(item for item in json_items if item["title"] == "Iz drugega vira")
    assert imported["image"] == "https://drugje.example.org/slika.jpg"


def test_a_correction_changes_updated_in_every_feed(photo_site: LiveSite, engine: Engine) -> None:
    corrected = datetime(2025, 4, 3, 12, 20, tzinfo=UTC)
    with Session(engine) as session:
        article = session.exec(select(Article).where(Article.slug == SLUG)).one()
        before = article.updated_at
        article.title = "Novi avtobusi (popravljeno)"
        article.edited_at = article.updated_at = corrected
        session.add(article)
        session.commit()
    assert before != corrected
    atom = by_title(
        parse_xml_feed(fetch(photo_site, FeedFormat.atom)), "Novi avtobusi (popravljeno)"
    )
    assert datetime(*atom.updated_parsed[:6], tzinfo=UTC) == corrected
    items = check_json_feed(fetch(photo_site, FeedFormat.json))["items"]
    item = next(i for i in items if i["title"] == "Novi avtobusi (popravljeno)")
    assert datetime.fromisoformat(item["date_modified"]) == corrected
    assert item["image"].endswith("-1200.jpg")  # still with its photo
