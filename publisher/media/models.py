"""The media tables: one row per stored photo, and the bytes of each size on PostgreSQL.

No ``from __future__ import annotations`` here: SQLModel reads annotations at runtime.
"""

from datetime import datetime

from sqlalchemy import Column, Integer, LargeBinary, String
from sqlmodel import Field, SQLModel

from publisher.clock import utcnow
from publisher.db import UTCDateTime


class Photo(SQLModel, table=True):
    """A photo as stored: its key (the SHA-256 of the file as it came) names every size of it
    in the media store, so the same photo uploaded twice is stored once."""

    __tablename__ = "photo"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    width: int = Field(sa_column=Column(Integer, nullable=False))
    """Of the largest stored size, in pixels (the others keep its proportions)."""
    height: int = Field(sa_column=Column(Integer, nullable=False))
    sizes: str = Field(default="[]", sa_column=Column(String(200), nullable=False))
    """JSON list of the stored widths, e.g. ``[1200, 800, 400]``."""
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class MediaObject(SQLModel, table=True):
    """A stored file's bytes, kept in the database when PostgreSQL is the store, so that every
    web machine serves the same photos (on SQLite they are files in ``media_dir``)."""

    __tablename__ = "media_object"

    name: str = Field(sa_column=Column(String(200), primary_key=True))
    content_type: str = Field(sa_column=Column(String(100), nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
