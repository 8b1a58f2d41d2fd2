"""Editions: one digest of one list for one period, kept for ever.

No ``from __future__ import annotations`` here: SQLModel reads annotations at runtime.
"""

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from publisher.clock import utcnow
from publisher.db import StoredEnum, UTCDateTime


class EditionStatus(enum.StrEnum):
    draft = "draft"
    """Created, articles not yet frozen: waits for approval (or is being approved)."""
    approved = "approved"
    """Articles, messages and recipients frozen; sending is the send job's business."""


class Edition(SQLModel, table=True):
    """The (list, period) pair is unique in the database itself: however many terminals, web
    requests and schedulers ask for the same week at once, there is one edition."""

    __tablename__ = "edition"
    __table_args__ = (
        UniqueConstraint("list_id", "period_key"),
        CheckConstraint("status IN ('draft', 'approved')", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    list_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("mailing_list.id", ondelete="RESTRICT"), nullable=False
        )
    )
    period_key: str = Field(sa_column=Column(String(16), nullable=False))
    period_kind: str = Field(sa_column=Column(String(8), nullable=False))
    period_start: date = Field(sa_column=Column(Date, nullable=False))
    period_end: date = Field(sa_column=Column(Date, nullable=False))
    status: EditionStatus = Field(
        default=EditionStatus.draft,
        sa_column=Column(StoredEnum(EditionStatus, 16), nullable=False),
    )
    subject: str = Field(default="", sa_column=Column(Text, nullable=False))
    article_ids: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    """JSON list of the article ids frozen at approval, in the order the digest shows them."""
    chosen_ids: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """JSON list of the article ids staff chose for the draft, in their order; ``None``: every
    article of the period, newest first. Frozen into ``article_ids`` at approval."""
    notes: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    """JSON object of the editor's note at the top of the digest, by language (optional)."""
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    approved_by: str = Field(default="", sa_column=Column(String(320), nullable=False))
    job_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("send_job.id", ondelete="SET NULL"), nullable=True),
    )


class EditionContent(SQLModel, table=True):
    """What the edition said in one language, without personal parts (the public archive)."""

    __tablename__ = "edition_content"

    edition_id: int = Field(
        sa_column=Column(Integer, ForeignKey("edition.id", ondelete="CASCADE"), primary_key=True)
    )
    language: str = Field(sa_column=Column(String(8), primary_key=True))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    html: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
