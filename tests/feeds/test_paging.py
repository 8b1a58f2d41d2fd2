"""RFC 5005 archive paging: aggregators can walk back from the current feed to the first one."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.articles.store import last_change
from publisher.config import Settings
from publisher.feeds.documents import archive_pages, build_document, render
from publisher.feeds.models import FeedFormat, FeedKey
from tests.feeds.helpers import add_articles, draft
from tests.feeds.validation import check_feed, entry_ids

ATOM = "{http://www.w3.org/2005/Atom}"
HISTORY_ARCHIVE = "{http://purl.org/syndication/history/1.0}archive"
PREFIX = "https://novice.test/feeds/"


def fetch(engine: Engine, settings: Settings, url: str) -> bytes:
    """What GET ``url`` returns, resolved the way the web app resolves it."""
    assert url.startswith(PREFIX), url
    parts = url.removeprefix(PREFIX).split("/")
    topic = page = None
    if parts[0] == "topics":
        topic, parts = parts[1], parts[2:]
    if parts[0] == "archive":
        page, parts = int(parts[1]), parts[2:]
    key = FeedKey(format=FeedFormat(parts[0]), topic=topic, page=page)
    with Session(engine) as session:
        doc = build_document(session, settings, key, last_change(session))
        assert doc is not None, url
        return render(doc)


def links_of(fmt: FeedFormat, body: bytes) -> dict[str, str]:
    if fmt is FeedFormat.json:
        feed = json.loads(body)
        return {"prev-archive": feed["next_url"]} if "next_url" in feed else {}
    root = etree.fromstring(body)
    container = root.find("channel") if fmt is FeedFormat.rss else root
    assert container is not None
    return {link.get("rel"): link.get("href") for link in container.iter(f"{ATOM}link")}


def walk(engine: Engine, settings: Settings, fmt: FeedFormat, start: str) -> list[list[str]]:
    """Follow prev-archive from ``start`` to the oldest page; the ids of every page in order."""
    pages, url, seen = [], start, set()
    while url:
        assert url not in seen, f"paging loops at {url}"
        seen.add(url)
        body = fetch(engine, settings, url)
        check_feed(fmt, body)
        pages.append(entry_ids(fmt, body))
        url = links_of(fmt, body).get("prev-archive")
    return pages


def test_archive_page_count_starts_when_the_feed_overflows() -> None:
    assert [archive_pages(total, 5) for total in (0, 1, 5, 6, 10, 11, 23)] == [0, 0, 0, 1, 1, 2, 4]


@pytest.mark.parametrize("fmt", list(FeedFormat))
def test_paging_walks_the_whole_archive(
    engine: Engine, settings: Settings, fmt: FeedFormat
) -> None:
    add_articles(engine, *(draft(n) for n in range(1, 24)))
    pages = walk(engine, settings, fmt, PREFIX + fmt.value)
    assert len(pages) == 1 + archive_pages(23, 5)
    every_id = {entry_id for page in pages for entry_id in page}
    assert len(every_id) == 23
    assert all(0 < len(page) <= 5 for page in pages)


def test_archive_documents_link_both_ways_and_say_they_are_archives(
    engine: Engine, settings: Settings
) -> None:
    add_articles(engine, *(draft(n) for n in range(1, 24)))
    for fmt in (FeedFormat.atom, FeedFormat.rss):
        current = links_of(fmt, fetch(engine, settings, PREFIX + fmt.value))
        assert current["prev-archive"] == f"{PREFIX}archive/4/{fmt.value}"
        assert "next-archive" not in current
        page2 = fetch(engine, settings, f"{PREFIX}archive/2/{fmt.value}")
        links = links_of(fmt, page2)
        assert links["current"] == PREFIX + fmt.value
        assert links["prev-archive"] == f"{PREFIX}archive/1/{fmt.value}"
        assert links["next-archive"] == f"{PREFIX}archive/3/{fmt.value}"
        assert links["self"] == f"{PREFIX}archive/2/{fmt.value}"
        assert etree.fromstring(page2).find(f".//{HISTORY_ARCHIVE}") is not None
        first = links_of(fmt, fetch(engine, settings, f"{PREFIX}archive/1/{fmt.value}"))
        assert "prev-archive" not in first


def test_archive_pages_keep_their_articles_when_new_ones_arrive(
    engine: Engine, settings: Settings
) -> None:
    add_articles(engine, *(draft(n) for n in range(1, 12)))
    url = f"{PREFIX}archive/1/{FeedFormat.atom.value}"
    before = entry_ids(FeedFormat.atom, fetch(engine, settings, url))
    add_articles(engine, *(draft(n) for n in range(12, 20)))
    assert entry_ids(FeedFormat.atom, fetch(engine, settings, url)) == before
    titles = [e.title for e in check_feed(FeedFormat.atom, fetch(engine, settings, url)).entries]
    assert titles == ["Novica 5", "Novica 4", "Novica 3", "Novica 2", "Novica 1"]


def test_topic_feeds_page_through_their_own_history(engine: Engine, settings: Settings) -> None:
    add_articles(
        engine, *(draft(n, topics=("promet",) if n % 2 else ("sport",)) for n in range(1, 30))
    )
    pages = walk(engine, settings, FeedFormat.rss, f"{PREFIX}topics/promet/rss.xml")
    ids = {entry_id for page in pages for entry_id in page}
    assert len(ids) == 15  # the odd-numbered articles


def test_a_page_past_the_archive_does_not_exist(engine: Engine, settings: Settings) -> None:
    add_articles(engine, *(draft(n) for n in range(1, 8)))
    with Session(engine) as session:
        change = last_change(session)
        for page in (0, 2, 99):
            key = FeedKey(FeedFormat.atom, page=page)
            assert build_document(session, settings, key, change) is None
