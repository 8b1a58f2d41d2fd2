"""The article store's tables: articles and their link to topics (:mod:`publisher.topics`).

No ``from __future__ import annotations`` here: SQLModel reads relationship annotations at runtime.
"""

import enum
import uuid
from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, Relationship, SQLModel

from publisher.clock import utcnow
from publisher.communities import Community
from publisher.db import StoredEnum, UTCDateTime
from publisher.media.models import Photo
from publisher.topics import Topic


class ArticleStatus(enum.StrEnum):
    """Published articles are public from their ``published_at`` on (before it they are
    *scheduled*: embargoed, shown nowhere public); drafts and withdrawn ones are shown nowhere."""

    draft = "draft"
    published = "published"
    withdrawn = "withdrawn"


def new_article_uid() -> str:
    """The permanent id aggregators see (Atom id, RSS guid): minted once, never changed."""
    return f"urn:uuid:{uuid.uuid4()}"


class ArticleTopic(SQLModel, table=True):
    __tablename__ = "article_topic"

    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    topic_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )


class ArticleCommunity(SQLModel, table=True):
    """A local community an article concerns; an article with none concerns the whole town."""

    __tablename__ = "article_community"

    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True)
    )
    community_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("community.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )


class Article(SQLModel, table=True):
    """One news item, sanitised on the way in; everything downstream reads it as stored."""

    __tablename__ = "article"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'withdrawn')", name="status"),
        Index("ix_article_status_published_at", "status", "published_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(
        default_factory=new_article_uid,
        sa_column=Column(String(64), nullable=False, unique=True),
    )
    external_id: str = Field(sa_column=Column(String(500), nullable=False, unique=True))
    slug: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    image_caption: str = Field(default="", sa_column=Column(Text, nullable=False))
    image_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    source: str = Field(default="", sa_column=Column(Text, nullable=False))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    status: ArticleStatus = Field(
        default=ArticleStatus.published,
        sa_column=Column(StoredEnum(ArticleStatus, 16), nullable=False),
    )

    body_markdown: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """What staff wrote in the admin's editor (``body_html`` is made from it); ``None`` for an
    article that came from an import and was never edited."""
    photo_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("photo.id", ondelete="SET NULL"), nullable=True),
    )
    image_alt: str = Field(default="", sa_column=Column(Text, nullable=False))
    """The photo's text for readers who cannot see it (defaults to the caption)."""
    image_credit: str = Field(default="", sa_column=Column(Text, nullable=False))
    image_source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """Where the stored photo came from (a URL, or a file's name and hash): fetched once."""
    edited_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    """When staff last changed what readers see (the article page's "Popravljeno")."""
    edited_by: str = Field(default="", sa_column=Column(String(320), nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    """Raised by every save: a form that carries an older number is stale and is refused."""

    topics: list[Topic] = Relationship(link_model=ArticleTopic)
    communities: list[Community] = Relationship(link_model=ArticleCommunity)
    """The local communities it concerns; none: the whole town."""
    photo: Photo | None = Relationship()


class RevisionKind(enum.StrEnum):
    """How a revision came to be."""

    imported = "imported"
    """The article as an import, the API or the CMS brought it."""
    edited = "edited"
    """Staff changed it in the admin (or the CLI)."""
    held = "held"
    """An import brought a new version of an article staff had edited; kept aside, not applied,
    until staff take it (the admin's button, ``articles import --overwrite``)."""


class ArticleRevision(SQLModel, table=True):
    """One version of an article as it was stored: who, when, what (a public body must be able
    to show what it published and when). The differences are computed between neighbours."""

    __tablename__ = "article_revision"
    __table_args__ = (
        CheckConstraint("kind IN ('imported', 'edited', 'held')", name="kind"),
        Index("ix_article_revision_article_id_id", "article_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(
        sa_column=Column(Integer, ForeignKey("article.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    kind: RevisionKind = Field(sa_column=Column(StoredEnum(RevisionKind, 16), nullable=False))
    actor: str = Field(default="", sa_column=Column(String(320), nullable=False))
    """A staff member's address, or the import's source (file name, feed URL, ``api``)."""
    title: str = Field(sa_column=Column(Text, nullable=False))
    published_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_markdown: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    topics: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    """JSON list of topic slugs."""
    communities: str = Field(
        default="[]", sa_column=Column(Text, nullable=False, server_default="[]")
    )
    """JSON list of local community slugs (none: the whole town)."""
    photo_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("photo.id", ondelete="SET NULL"), nullable=True),
    )
    image_caption: str = Field(default="", sa_column=Column(Text, nullable=False))
    image_alt: str = Field(default="", sa_column=Column(Text, nullable=False))
    image_credit: str = Field(default="", sa_column=Column(Text, nullable=False))
    image_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))


STORED_TOGETHER = timedelta(seconds=1)
"""``updated_at`` this close to ``created_at`` is the moment of storing, not a change."""


def last_changed(article: Article) -> datetime:
    """When readers' view of the article last changed: a later re-import, edit, photo or
    republication, the source's own ``updated`` time, else its publication time.

    ``updated_at`` alone is the import moment for an article never changed since, so every
    article of one import would share it (the W3C feed validator: "Two entries with the same
    value for atom:updated"); feeds and pages use this instead."""
    moments = [article.published_at]
    if article.edited_at is not None:
        moments.append(article.edited_at)
    if abs(article.updated_at - article.created_at) >= STORED_TOGETHER:
        moments.append(article.updated_at)
    return max(moments)
