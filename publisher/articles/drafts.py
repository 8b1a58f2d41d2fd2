"""What the import formats hand to the store: drafts to save and rejections to report.

Parsers never touch the database; the store never reads files. These types are the seam.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TopicRef:
    """A topic named by an import: slug is the key, name the Slovenian label."""

    slug: str
    name: str


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
    url: str | None = None
    updated_at: datetime | None = None
    topics: list[TopicRef] = field(default_factory=list)
    source: str = ""
    """File name or feed URL the draft came from."""
    line: int | None = None
    """Line in the source where the item starts, for reports."""


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

    def add(self, item: ArticleDraft | Rejection) -> None:
        """File a parser's verdict on one item where it belongs."""
        if isinstance(item, Rejection):
            self.rejections.append(item)
        else:
            self.drafts.append(item)
