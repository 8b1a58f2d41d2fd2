"""How a reader follows one scope of news (the whole site, or one topic) in a feed reader.

One list of a scope's feeds, :func:`feed_links`, serves both the autodiscovery
``<link rel="alternate">`` in every page's head (which point at the feed documents, for
readers and browsers that look for them) and the visible links people click (which lead to
the scope's follow page, ``page_url``: a browser shows a feed document as raw XML, which
helps nobody). The follow page offers each address to copy and links that open common
readers with the address already filled in (:func:`reader_links`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from publisher.config import Settings
from publisher.feeds.models import FeedFormat, FeedKey
from publisher.links import feed_url

FEED_STANDARDS = {
    FeedFormat.rss: "RSS 2.0",
    FeedFormat.atom: "Atom 1.0",
    FeedFormat.json: "JSON Feed 1.1",
}
"""Each format with its version, as the follow page names the addresses."""


@dataclass(frozen=True)
class FeedLink:
    """One feed of a scope: its document (``url``, for autodiscovery and copying) and the
    place on the follow page that offers it (``page_url``, for a visible link)."""

    title: str
    media_type: str
    url: str
    label: str
    standard: str
    anchor: str
    """The id of the follow page's field that holds this address."""
    page_url: str


@dataclass(frozen=True)
class ReaderLink:
    """A link that opens a feed reader with a feed's address filled in."""

    name: str
    url: str
    desktop: bool = False
    """A ``feed:`` link for the reader installed on the computer, rather than a web reader."""


def follow_page_path(topic: str | None) -> str:
    """The follow page of the site (``/viri``) or of one topic (``/topics/<slug>/viri``),
    as pages link within the site (``link()`` adds the reader's language)."""
    return f"/topics/{topic}/viri" if topic else "/viri"


def feed_links(
    settings: Settings, lang: str, topic: str | None = None, topic_name: str | None = None
) -> list[FeedLink]:
    """The scope's feeds in every format, RSS first (the one every reader understands),
    titled with the site's name in the page's language."""
    site_name = settings.site_names(lang).nominative
    scope = f"{site_name}: {topic_name}" if topic_name else site_name
    page = follow_page_path(topic)
    return [
        FeedLink(
            title=f"{scope} ({fmt.label})",
            media_type=fmt.media_type,
            url=feed_url(settings, FeedKey(format=fmt, topic=topic).path),
            label=fmt.label,
            standard=FEED_STANDARDS[fmt],
            anchor=f"vir-{fmt.name}",
            page_url=f"{page}#vir-{fmt.name}",
        )
        for fmt in FeedFormat
    ]


def reader_links(url: str) -> list[ReaderLink]:
    """Feedly, Inoreader and NewsBlur on the web, and a ``feed:`` link that a desktop reader
    registered for the scheme (NetNewsWire, Thunderbird …) opens."""
    quoted = quote(url, safe="")
    return [
        ReaderLink("Feedly", f"https://feedly.com/i/subscription/feed/{quoted}"),
        ReaderLink("Inoreader", f"https://www.inoreader.com/?add_feed={quoted}"),
        ReaderLink("NewsBlur", f"https://www.newsblur.com/?url={quoted}"),
        ReaderLink("feed:", f"feed:{url}", desktop=True),
    ]
