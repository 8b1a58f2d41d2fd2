"""The register's tables: lists, subscribers, their subscriptions, consents and suppressions.

No ``from __future__ import annotations`` here: SQLModel reads annotations at runtime.

Every status, source and reason is a plain string column with a CHECK constraint, so the
database itself refuses a value the code does not know, on SQLite as on PostgreSQL.
"""

import enum
import secrets
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from publisher.clock import utcnow
from publisher.db import StoredEnum, UTCDateTime
from publisher.i18n import Language
from publisher.topics import name_in


class SubscriptionStatus(enum.StrEnum):
    """``pending`` until the address confirms; only ``confirmed`` ever receives mail."""

    pending = "pending"
    confirmed = "confirmed"
    unsubscribed = "unsubscribed"


class Source(enum.StrEnum):
    """Who put a subscription or consent on record: the resident (web, API) or staff."""

    web = "web"
    import_ = "import"
    api = "api"
    staff = "staff"


class SuppressionReason(enum.StrEnum):
    """Why an address must never be mailed again unless its owner subscribes anew."""

    unsubscribed = "unsubscribed"
    erased = "erased"
    hard_bounce = "hard_bounce"
    soft_bounce = "soft_bounce"
    """Mail to it bounced softly (a full mailbox, lasting deferrals) too often of late."""
    complaint = "complaint"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    quoted = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({quoted})"


class MailingListTopic(SQLModel, table=True):
    """The topics a list carries (its editions pick articles of these topics)."""

    __tablename__ = "mailing_list_topic"

    list_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("mailing_list.id", ondelete="CASCADE"), primary_key=True
        )
    )
    topic_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )


class MailingList(SQLModel, table=True):
    """A newsletter residents can subscribe to, e.g. ``tedenske-novice``."""

    __tablename__ = "mailing_list"
    __table_args__ = (CheckConstraint(_in("language", Language), name="language"),)

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    name_en: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    public: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    language: Language = Field(
        default=Language.sl, sa_column=Column(StoredEnum(Language, 2), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    def name_for(self, language: str) -> str:
        """The list's name for residents reading ``language`` (English falls back to Slovenian)."""
        return name_in(self.name, self.name_en, language)


def new_token_uid() -> str:
    """A subscriber's random reference for links: 128 bits, 22 URL-safe characters."""
    return secrets.token_urlsafe(16)


class Subscriber(SQLModel, table=True):
    """One person, identified by one address however it was typed.

    ``email`` is the address as first given, trimmed and with the domain lower-cased;
    ``email_key`` is its lower-cased form, unique, so ``Ana@x.org`` and ``ana@x.org`` are one
    person; ``address_hash`` is the SHA-256 of the key, the same value a suppression stores,
    so the recipients query can rule out suppressed addresses with an index look-up.
    The table never reuses an id (AUTOINCREMENT on SQLite), so a link signed for an erased
    person can never act for someone added later. Links do not carry the id at all but
    ``token_uid``, 128 random bits made with the row (see :mod:`publisher.tokens`).
    """

    __tablename__ = "subscriber"
    __table_args__ = (
        CheckConstraint(_in("language", Language), name="language"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(320), nullable=False))
    email_key: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    address_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    token_uid: str = Field(
        default_factory=new_token_uid,
        sa_column=Column(String(32), nullable=False, unique=True, index=True),
    )
    name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    language: Language = Field(
        default=Language.sl, sa_column=Column(StoredEnum(Language, 2), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Subscription(SQLModel, table=True):
    """A subscriber on one list, with how and when they got there and left."""

    __tablename__ = "subscription"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "list_id"),
        CheckConstraint(_in("status", SubscriptionStatus), name="status"),
        CheckConstraint(_in("source", Source), name="source"),
        # The sender's question, "who is confirmed on these lists", is answered from here.
        Index("ix_subscription_list_id_status_subscriber_id", "list_id", "status", "subscriber_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int = Field(
        sa_column=Column(Integer, ForeignKey("subscriber.id", ondelete="CASCADE"), nullable=False)
    )
    list_id: int = Field(
        sa_column=Column(Integer, ForeignKey("mailing_list.id", ondelete="CASCADE"), nullable=False)
    )
    status: SubscriptionStatus = Field(
        default=SubscriptionStatus.pending,
        sa_column=Column(StoredEnum(SubscriptionStatus, 16), nullable=False),
    )
    source: Source = Field(sa_column=Column(StoredEnum(Source, 16), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    unsubscribed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class SubscriberTopic(SQLModel, table=True):
    """A topic a subscriber chose; a subscriber with no choices receives every topic."""

    __tablename__ = "subscriber_topic"

    subscriber_id: int = Field(
        sa_column=Column(Integer, ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True)
    )
    topic_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )


class SubscriberCommunity(SQLModel, table=True):
    """A local community a subscriber lives in or follows; with none chosen they receive the
    news of every part of town."""

    __tablename__ = "subscriber_community"

    subscriber_id: int = Field(
        sa_column=Column(Integer, ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True)
    )
    community_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("community.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )


class Consent(SQLModel, table=True):
    """Proof of why an address is on a list: when, through what, from where, having seen what."""

    __tablename__ = "consent"
    __table_args__ = (CheckConstraint(_in("source", Source), name="source"),)

    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("subscriber.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    list_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("mailing_list.id", ondelete="SET NULL")),
    )
    given_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    source: Source = Field(sa_column=Column(StoredEnum(Source, 16), nullable=False))
    ip_address: str | None = Field(default=None, sa_column=Column(String(45)))
    wording_version: str = Field(default="", sa_column=Column(String(80), nullable=False))
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False))


class Suppression(SQLModel, table=True):
    """An address never to be mailed, kept only as the SHA-256 of its normalised form."""

    __tablename__ = "suppression"
    __table_args__ = (CheckConstraint(_in("reason", SuppressionReason), name="reason"),)

    address_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    reason: SuppressionReason = Field(
        sa_column=Column(StoredEnum(SuppressionReason, 16), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
