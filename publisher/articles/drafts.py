"""What the import formats hand to the store: drafts to save and rejections to report.

Parsers never touch the database; the store never reads files. These types are the seam,
and so the domain's boundary for articles: whatever brought a draft (a JSON, office export
or feed file, a feed URL, the CMS API), every text in it loses its control characters when
the draft is made (:class:`ArticleDraft`), and :meth:`ArticleDraft.problems` holds it to
the same bounds (dates between 1900 and 2199, ids and URLs of a length that fits).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime

from publisher.articles.sanitize import without_controls

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Moments an article may carry: a century-wide margin around any real article, and every one
of them converts to UTC and back in every time zone and both databases."""
ID_MAX_LENGTH = 200
"""The longest id a source may give an article (the CMS's own id, a JSON item's ``id``)."""
URL_MAX_LENGTH = 480
"""The longest ``url`` of an article: its ``url:`` key must fit the 500 of the key column."""
EXTERNAL_ID_MAX_LENGTH = 500
"""The key column's width: a feed entry's id longer than this is refused, not cut."""
IMAGE_ALT_MAX_LENGTH = 1000
"""The longest text for a photo's readers who cannot see it."""
IMAGE_CREDIT_MAX_LENGTH = 300
"""The longest photo credit ("Foto: …")."""


def moment_problem(moment: datetime) -> str | None:
    """Why ``moment`` is no article's moment (outside :data:`EARLIEST` to :data:`LATEST`)."""
    try:
        utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        return f"must be between {EARLIEST.year} and {LATEST.year - 1}"
    return None


def source_id_problem(value: str | int) -> str | None:
    """Why a source's own id for an article cannot be its key (too long)."""
    if len(str(value)) > ID_MAX_LENGTH:
        return f"id is longer than {ID_MAX_LENGTH} characters"
    return None


@dataclass(frozen=True)
class TopicRef:
    """A topic named by an import: slug is the key, name the Slovenian label."""

    slug: str
    name: str


def _clean(topic: TopicRef) -> TopicRef:
    """``topic`` without control characters, as every text of a draft is kept."""
    return replace(topic, slug=without_controls(topic.slug), name=without_controls(topic.name))


@dataclass(frozen=True)
class PhotoFile:
    """A photo's bytes as an import found them (the image beside an office export), read by
    the importer so that the parsers stay free of the database and the writer of files."""

    name: str
    data: bytes

    @property
    def source(self) -> str:
        """What ``Article.image_source`` records: the file's name and hash, so a re-import of
        the same photo is not processed again."""
        base = re.split(r"[\\/]", self.name)[-1]
        return f"{base} sha256:{hashlib.sha256(self.data).hexdigest()}"


@dataclass
class ArticleDraft:
    """One article as read from a source, before it is stored.

    ``body_html`` is already sanitised and ``body_text`` already rendered by the parser
    (both through ``publisher.articles.sanitize``), so the store saves exactly what it gets.
    """

    external_id: str
    """Identity across re-imports: the same source item always yields the same value."""
    title: str
    published_at: datetime
    """Timezone-aware."""
    body_html: str
    body_text: str
    summary: str = ""
    image_caption: str = ""
    image_url: str | None = None
    image_alt: str = ""
    """The photo's text for readers who cannot see it; empty: the caption."""
    image_credit: str = ""
    fetch_image: bool = False
    """``image_url`` is a photo to fetch once and store (JSON and the API); a feed's image
    stays a link to the partner's site."""
    photo: PhotoFile | None = None
    """A photo file that came with the article (the image beside an office export)."""
    url: str | None = None
    updated_at: datetime | None = None
    topics: list[TopicRef] = field(default_factory=list)
    communities: list[str] = field(default_factory=list)
    """Slugs of the local communities it concerns (none: the whole town); they must exist."""
    source: str = ""
    """File name or feed URL the draft came from."""
    line: int | None = None
    """Line in the source where the item starts, for reports."""

    def __post_init__(self) -> None:
        for one in fields(self):
            value = getattr(self, one.name)
            if isinstance(value, str):
                setattr(self, one.name, without_controls(value))
        self.topics = [_clean(topic) for topic in self.topics]
        self.communities = list(dict.fromkeys(without_controls(c) for c in self.communities))

    def add_topics(self, topics: Iterable[TopicRef]) -> None:
        """File the draft under ``topics`` too, after the ones its source gives (``articles
        import --topic``): a topic it has already (by slug) is not added twice."""
        have = {topic.slug for topic in self.topics}
        for topic in topics:
            if topic.slug not in have:
                have.add(topic.slug)
                self.topics.append(_clean(topic))

    def add_communities(self, slugs: Iterable[str]) -> None:
        """The draft concerns these local communities too (``articles import --community``),
        after its own; each once."""
        self.communities = list(dict.fromkeys([*self.communities, *slugs]))

    def problems(self) -> list[str]:
        """Why the draft cannot be stored, in the user's words; empty when it can."""
        found = [
            f"{name} {problem}"
            for name, moment in (
                ("published_at", self.published_at),
                ("updated_at", self.updated_at),
            )
            if moment is not None and (problem := moment_problem(moment))
        ]
        if self.url is not None and len(self.url) > URL_MAX_LENGTH:
            found.append(f"url is longer than {URL_MAX_LENGTH} characters")
        if len(self.external_id) > EXTERNAL_ID_MAX_LENGTH:
            found.append(f"the item's id is longer than {EXTERNAL_ID_MAX_LENGTH} characters")
        if len(self.image_alt) > IMAGE_ALT_MAX_LENGTH:
            found.append(f"image_alt is longer than {IMAGE_ALT_MAX_LENGTH} characters")
        if len(self.image_credit) > IMAGE_CREDIT_MAX_LENGTH:
            found.append(f"image_credit is longer than {IMAGE_CREDIT_MAX_LENGTH} characters")
        return found

    @property
    def photo_source(self) -> str | None:
        """What the stored photo of this draft would come from (``Article.image_source``): the
        file beside it, or the ``image_url`` to fetch; ``None`` when it brings no photo."""
        if self.photo is not None:
            return self.photo.source
        if self.fetch_image and self.image_url:
            return self.image_url
        return None


@dataclass(frozen=True)
class Rejection:
    """An item (or a whole file) that could not be read, and why, in the user's words."""

    source: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.reason}"


@dataclass
class ParsedSource:
    """Everything one file or feed yielded: good drafts and rejected items side by side."""

    source: str
    format: str
    """One of "office-export", "json", "jsonl", "feed"; "unknown" when detection failed."""
    drafts: list[ArticleDraft] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    encoding: str = "utf-8"
    warnings: list[Rejection] = field(default_factory=list)
    """Items kept with a loss (a photo beside the file that could not be read)."""

    def add(self, item: ArticleDraft | Rejection) -> None:
        """File a parser's verdict on one item where it belongs."""
        if isinstance(item, Rejection):
            self.rejections.append(item)
        else:
            self.drafts.append(item)

    def refuse_invalid(self) -> ParsedSource:
        """Move every draft with :meth:`ArticleDraft.problems` to the rejections, at its line:
        the same bounds for every format as for the API."""
        kept = []
        for draft in self.drafts:
            problems = draft.problems()
            if problems:
                self.rejections.append(Rejection(self.source, draft.line, "; ".join(problems)))
            else:
                kept.append(draft)
        self.drafts = kept
        return self
