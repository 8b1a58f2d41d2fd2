"""Which articles go into which feed document, and how the documents link to each other.

Paging follows RFC 5005 (feed paging and archiving): the newest ``feed_entries`` articles form
the subscription document; older history sits in archive pages counted from the oldest
article, so page 1 always holds the first articles ever published and an archive page's URL
keeps its contents as new articles arrive. The subscription document links to the newest
archive page (``prev-archive``); each archive page links to its neighbours and to the current
document, so an aggregator can walk back through the whole history.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from publisher import __version__
from publisher.articles.store import StoreChange, count_articles, list_articles
from publisher.config import Settings
from publisher.feeds.content import plain_text
from publisher.feeds.entries import entry_from_article, feed_entry
from publisher.feeds.json_feed import build_json_feed
from publisher.feeds.models import Entry, FeedDocument, FeedFormat, FeedKey, PageLinks
from publisher.feeds.xml_feeds import build_atom, build_rss
from publisher.links import feed_url, home_url, static_url, topic_url

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
"""``updated`` of a feed with no articles at all: any fixed moment keeps the bytes stable."""

RENDERERS: dict[FeedFormat, Callable[[FeedDocument], bytes]] = {
    FeedFormat.rss: build_rss,
    FeedFormat.atom: build_atom,
    FeedFormat.json: build_json_feed,
}


def archive_pages(total: int, per_page: int) -> int:
    """How many archive pages ``total`` articles fill.

    Only full pages are archived, and only once the subscription document cannot hold every
    article: with 50 a page, articles 1–50 become archive page 1 when the 51st is published.
    """
    return (total - 1) // per_page if total > 0 else 0


def topic_names(change: StoreChange) -> dict[str, str]:
    return dict(change.topics)


def render(doc: FeedDocument) -> bytes:
    return RENDERERS[doc.key.format](doc)


@dataclass(frozen=True)
class PageContent:
    """The entries of one page of one scope: the same for all three formats, so built once."""

    entries: list[Entry]
    archive_pages: int


def load_page(
    session: Session, settings: Settings, topic: str | None, page: int | None, change: StoreChange
) -> PageContent | None:
    """The entries of a scope's page (``page=None``: newest); None if it does not exist."""
    if topic is not None and topic not in topic_names(change):
        return None
    per_page = settings.feed_entries
    pages = archive_pages(count_articles(session, topic=topic), per_page)
    if page is None:
        articles = list(list_articles(session, topic=topic, limit=per_page))
    elif 1 <= page <= pages:
        offset = (page - 1) * per_page
        oldest_first = list_articles(
            session, topic=topic, oldest_first=True, offset=offset, limit=per_page
        )
        articles = list(reversed(oldest_first))  # newest first on every page
    else:
        return None
    entries = [feed_entry(entry_from_article(article, settings)) for article in articles]
    return PageContent(entries=entries, archive_pages=pages)


def build_document(
    session: Session, settings: Settings, key: FeedKey, change: StoreChange
) -> FeedDocument | None:
    """The document for ``key``, or None when its topic or archive page does not exist."""
    content = load_page(session, settings, key.topic, key.page, change)
    return None if content is None else make_document(settings, key, content, change)


def make_document(
    settings: Settings, key: FeedKey, content: PageContent, change: StoreChange
) -> FeedDocument:
    """Feed-level data and RFC 5005 links around a page's entries, for one format."""
    names = topic_names(change)
    entries = content.entries
    pages = content.archive_pages
    updated = max((entry.updated for entry in entries), default=None)
    if updated is None:
        updated = (change.last_modified or EPOCH).astimezone(settings.tz)

    def url(page: int | None) -> str:
        return feed_url(settings, key.sibling(page=page).path)

    if key.page is None:
        links = PageLinks(current=url(None), prev_archive=url(pages) if pages else None)
    else:
        links = PageLinks(
            current=url(None),
            prev_archive=url(key.page - 1) if key.page > 1 else None,
            next_archive=url(key.page + 1) if key.page < pages else None,
        )
    site = plain_text(settings.site_name)
    if key.topic is None:
        title, subtitle = f"{site}: novice", f"Novice in obvestila – {site}"
        home = home_url(settings)
    else:
        name = plain_text(names[key.topic]) or key.topic
        title, subtitle = f"{site}: {name}", f"Novice na temo {name} – {site}"
        home = topic_url(settings, key.topic)
    return FeedDocument(
        key=key,
        id=feed_id(settings, key),
        title=title,
        subtitle=subtitle,
        self_url=feed_url(settings, key.path),
        home_url=home,
        language=settings.language,
        author=site,
        icon_url=static_url(settings, "icon.png"),
        logo_url=static_url(settings, "logo.png"),
        updated=updated,
        ttl_minutes=settings.feed_ttl,
        generator=f"publisher {__version__}",
        links=links,
        entries=entries,
        hub_url=settings.websub_hub,
        alternates={
            fmt: feed_url(settings, key.sibling(format=fmt, page=key.page).path)
            for fmt in FeedFormat
            if fmt is not key.format
        },
    )


def feed_id(settings: Settings, key: FeedKey) -> str:
    """A permanent Atom feed id: the same for every page and unchanged by a move to a new domain."""
    scope = f"topics/{key.topic}" if key.topic else "site"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'publisher:{settings.site_name}:{scope}')}"


def all_keys(session: Session, settings: Settings, change: StoreChange) -> Iterator[FeedKey]:
    """Every document there is: site and topics, newest and archive pages, all formats."""
    scopes: list[str | None] = [None, *topic_names(change)]
    for topic in scopes:
        pages = archive_pages(count_articles(session, topic=topic), settings.feed_entries)
        for page in [None, *range(1, pages + 1)]:
            for fmt in FeedFormat:
                yield FeedKey(format=fmt, topic=topic, page=page)
