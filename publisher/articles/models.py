"""The article store's tables: articles and their link to topics (:mod:`publisher.topics`).

No ``from __future__ import annotations`` here: SQLModel reads relationship annotations at runtime.
"""

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, Relationship, SQLModel

from publisher.clock import utcnow
from publisher.db import UTCDateTime
from publisher.topics import Topic


class ArticleStatus(enum.StrEnum):
    """Published articles are in feeds and digests; withdrawn ones are kept but shown nowhere."""

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


class Article(SQLModel, table=True):
    """One news item, sanitised on the way in; everything downstream reads it as stored."""

    __tablename__ = "article"
    __table_args__ = (
        CheckConstraint("status IN ('published', 'withdrawn')", name="status"),
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
        sa_column=Column(String(16), nullable=False),
    )

    topics: list[Topic] = Relationship(link_model=ArticleTopic)
