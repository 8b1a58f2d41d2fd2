"""What a feed is made of, independent of its format: entries, documents and their addresses."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class FeedFormat(enum.StrEnum):
    """The three formats; the value is the file name in every feed folder."""

    rss = "rss.xml"
    atom = "atom.xml"
    json = "feed.json"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]

    @property
    def label(self) -> str:
        """The name readers know the format by, for links and titles."""
        return _LABELS[self]


_MEDIA_TYPES = {
    FeedFormat.rss: "application/rss+xml",
    FeedFormat.atom: "application/atom+xml",
    FeedFormat.json: "application/feed+json",
}
_LABELS = {FeedFormat.rss: "RSS", FeedFormat.atom: "Atom", FeedFormat.json: "JSON Feed"}


@dataclass(frozen=True)
class FeedKey:
    """One feed document: its scope (site or one topic), archive page (None = newest) and format.

    Archive pages are numbered from the oldest article, so page 3 always holds the same
    articles however many are published later: aggregators can cache them for good.
    """

    format: FeedFormat
    topic: str | None = None
    page: int | None = None

    @property
    def path(self) -> str:
        """The document's path below the feeds root, e.g. ``topics/promet/archive/2/atom.xml``."""
        return self.folder + self.format.value

    @property
    def folder(self) -> str:
        scope = f"topics/{self.topic}/" if self.topic else ""
        page = f"archive/{self.page}/" if self.page is not None else ""
        return scope + page

    def sibling(self, *, format: FeedFormat | None = None, page: int | None = None) -> FeedKey:
        """The same scope in another format or on another page (``page=None``: newest)."""
        return FeedKey(format=format or self.format, topic=self.topic, page=page)


@dataclass(frozen=True)
class Category:
    slug: str
    name: str


@dataclass(frozen=True)
class Picture:
    """One stored size of a photo: its absolute URL and its size in pixels."""

    url: str
    width: int
    height: int


@dataclass(frozen=True)
class EntryPhoto:
    """An article's stored photo in the sizes pages and feeds use (``publisher.media.photos``)."""

    large: Picture
    """The article page and the feeds."""
    medium: Picture
    thumb: Picture
    """The lists."""
    srcset: str
    """Every stored size, ``"URL 400w, URL 800w, …"``, narrowest first."""
    alt: str
    """The article's alt text, else its caption (the admin asks for one or the other)."""
    caption: str = ""
    credit: str = ""


@dataclass(frozen=True)
class Entry:
    """One article as every feed format and page shows it: text XML-clean, URLs absolute."""

    id: str
    """The article's permanent ``urn:uuid:`` id: Atom id, RSS guid, JSON Feed id."""
    url: str
    slug: str
    """For links within the site (pages link relatively; feeds use the absolute ``url``)."""
    title: str
    published: datetime
    updated: datetime
    content_html: str
    """What feeds carry: the photo (as a ``<figure>``) and then the body."""
    summary: str
    categories: tuple[Category, ...] = ()
    image_url: str | None = None
    """The photo's absolute URL: the large size of a stored photo, else the URL a feed
    import brought."""
    image_caption: str = ""
    author: str = ""
    body_html: str = ""
    """The body alone, for the article page, which shows a stored photo in its own figure."""
    photo: EntryPhoto | None = None
    edited: datetime | None = None
    """When staff last corrected the article (the page's "Popravljeno …"), in the site's zone."""


@dataclass(frozen=True)
class PageLinks:
    """RFC 5005 links of one document (absolute URLs of the same format), None when absent."""

    current: str
    prev_archive: str | None = None
    """The next older archive page."""
    next_archive: str | None = None
    """The next newer archive page (absent on the newest archive page and the current feed)."""


@dataclass(frozen=True)
class FeedDocument:
    """Everything a format builder needs; builders add nothing of their own but syntax."""

    key: FeedKey
    id: str
    title: str
    subtitle: str
    self_url: str
    home_url: str
    """The page readers of this feed would visit: the home page or the topic's page."""
    language: str
    author: str
    icon_url: str
    logo_url: str
    updated: datetime
    ttl_minutes: int
    generator: str
    links: PageLinks
    entries: list[Entry] = field(default_factory=list)
    hub_url: str | None = None
    alternates: dict[FeedFormat, str] = field(default_factory=dict)
    """The same document in the other formats."""

    @property
    def is_archive(self) -> bool:
        return self.key.page is not None
