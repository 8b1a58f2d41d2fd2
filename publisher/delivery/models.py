"""The delivery ledger: send jobs, their prepared messages, and one row per recipient.

``delivery`` knows message bytes and addresses, not articles: a digest edition becomes a
:class:`SendJob` whose :class:`JobMessage` rows hold the composed template per language, and
whose :class:`Delivery` rows say, per person, what happened. A row is ``sent`` only after the
SMTP server answered 250 to DATA, so a crash can only cause a re-send, never a loss.

No ``from __future__ import annotations`` here: SQLModel reads annotations at runtime.
"""

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from publisher.clock import utcnow
from publisher.db import StoredEnum, UTCDateTime


class JobState(enum.StrEnum):
    """Whether workers may send a job's rows."""

    active = "active"
    paused = "paused"
    cancelled = "cancelled"
    done = "done"


class DeliveryStatus(enum.StrEnum):
    queued = "queued"
    sending = "sending"
    """Claimed by a worker (``claimed_by`` until ``lease_until``)."""
    sent = "sent"
    deferred = "deferred"
    """A temporary failure; tried again from ``next_attempt_at``."""
    failed = "failed"
    cancelled = "cancelled"


OPEN_STATUSES = (DeliveryStatus.queued, DeliveryStatus.sending, DeliveryStatus.deferred)


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class SendJob(SQLModel, table=True):
    """One mailing to many people (a digest edition), sent by any number of workers."""

    __tablename__ = "send_job"
    __table_args__ = (CheckConstraint(_in("state", JobState), name="state"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), nullable=False))
    """What staff call it, e.g. ``tedenske-novice/2025-W10``; also in the X-Publisher-Edition."""
    list_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    """The list unsubscribe links of this job act on."""
    envelope_from: str = Field(sa_column=Column(String(320), nullable=False))
    state: JobState = Field(
        default=JobState.active, sa_column=Column(StoredEnum(JobState, 16), nullable=False)
    )
    state_reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    breaker_tripped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    """When too many hard bounces or complaints paused it (once: staff may resume)."""


class JobMessage(SQLModel, table=True):
    """The job's message in one language, serialised once, with per-recipient slots."""

    __tablename__ = "job_message"

    job_id: int = Field(
        sa_column=Column(Integer, ForeignKey("send_job.id", ondelete="CASCADE"), primary_key=True)
    )
    language: str = Field(sa_column=Column(String(8), primary_key=True))
    template: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Delivery(SQLModel, table=True):
    """One person's copy of one job: what happened to it, and who is handling it now."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("job_id", "subscriber_id"),
        CheckConstraint(_in("status", DeliveryStatus), name="status"),
        # Workers claim "the open rows of a job in id order"; status pages count by status.
        Index("ix_delivery_job_id_status_id", "job_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(
        sa_column=Column(Integer, ForeignKey("send_job.id", ondelete="CASCADE"), nullable=False)
    )
    subscriber_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("subscriber.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    email: str = Field(sa_column=Column(String(320), nullable=False))
    name: str = Field(default="", sa_column=Column(String(200), nullable=False))
    language: str = Field(default="sl", sa_column=Column(String(8), nullable=False))
    status: DeliveryStatus = Field(
        default=DeliveryStatus.queued,
        sa_column=Column(StoredEnum(DeliveryStatus, 16), nullable=False),
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    claimed_by: str | None = Field(default=None, sa_column=Column(String(100)))
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_code: int | None = Field(default=None, sa_column=Column(Integer))
    last_reply: str = Field(default="", sa_column=Column(Text, nullable=False))
    message_id: str | None = Field(default=None, sa_column=Column(String(255), index=True))
    """Looked up by the bounces that lost their envelope sender but quote the original."""
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Worker(SQLModel, table=True):
    """A running sender process: its heartbeat tells others whether its claims still hold."""

    __tablename__ = "worker"

    id: str = Field(sa_column=Column(String(100), primary_key=True))
    host: str = Field(sa_column=Column(String(255), nullable=False))
    pid: int = Field(sa_column=Column(Integer, nullable=False))
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    heartbeat_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class RateCounter(SQLModel, table=True):
    """Shared rate state for all workers: a token bucket per second and a count per day,
    each per relay.

    Kept in the database so that several sender processes on several machines together
    respect the provider's limits, not each process on its own.
    """

    __tablename__ = "rate_counter"

    name: str = Field(sa_column=Column(String(300), primary_key=True))
    """``rate:HOST:PORT`` (the bucket) or ``day:HOST:PORT:YYYY-MM-DD`` (the day's count)."""
    value: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class BounceKind(enum.StrEnum):
    """What a bounce or complaint means for the address (see :mod:`publisher.delivery.bounces`)."""

    hard = "hard"
    """The mailbox or domain does not exist: suppressed at once."""
    soft = "soft"
    """A full mailbox, a lasting deferral: counted, suppressed after a few in a while."""
    delayed = "delayed"
    """Still trying (a delay warning): recorded, not counted."""
    complaint = "complaint"
    """The resident marked the mail as spam: suppressed at once, counted per edition."""
    other = "other"
    """Failed for a reason that says nothing about the address (a spam verdict, a policy)."""


class Bounce(SQLModel, table=True):
    """One bounce or complaint about one copy, as it came back (kept for staff to open)."""

    __tablename__ = "bounce"
    __table_args__ = (
        CheckConstraint(_in("kind", BounceKind), name="kind"),
        Index("ix_bounce_address_hash_kind_received_at", "address_hash", "kind", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    delivery_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("delivery.id", ondelete="SET NULL"), index=True),
    )
    job_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("send_job.id", ondelete="SET NULL"), index=True),
    )
    """The edition's send job: bounces and complaints are counted per edition by it."""
    subscriber_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("subscriber.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    """Erasing the person erases their bounces with them."""
    address: str = Field(sa_column=Column(String(320), nullable=False))
    address_hash: str = Field(sa_column=Column(String(64), nullable=False))
    kind: BounceKind = Field(sa_column=Column(StoredEnum(BounceKind, 16), nullable=False))
    action: str = Field(default="", sa_column=Column(String(32), nullable=False))
    """The DSN's ``Action`` (failed, delayed …), ``complaint`` for a feedback report."""
    status: str = Field(default="", sa_column=Column(String(16), nullable=False))
    """The RFC 3463 status code, e.g. ``5.1.1``; empty when the bounce gave none."""
    diagnostic: str = Field(default="", sa_column=Column(Text, nullable=False))
    source: str = Field(sa_column=Column(String(32), nullable=False))
    """How it reached us: ``smtp``, ``lmtp``, ``file``, ``imap``, or a provider's name."""
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    """The same report processed twice has the same fingerprint, and is stored once."""
    raw: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))


class BounceMailbox(SQLModel, table=True):
    """How far ``bounces fetch`` has read one mailbox folder: every message up to ``last_uid``
    of that ``uidvalidity`` was looked at, so none is read twice (bounces of ours are moved
    away; everything else stays where it is, unread and unflagged)."""

    __tablename__ = "bounce_mailbox"

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(sa_column=Column(String(500), nullable=False, unique=True))
    """``user@host:port/folder``: the folder read, never a password."""
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    checked_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class RelaySeen(SQLModel, table=True):
    """When a sender or a web process last spoke with the relay, and when it last could not:
    what ``/readyz`` reports of the relay (see :mod:`publisher.delivery.relay_seen`)."""

    __tablename__ = "relay_seen"

    relay: str = Field(sa_column=Column(String(300), primary_key=True))
    """``host:port``, as the rate limits name it."""
    last_ok_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    """The relay last answered (a message taken or refused: it was there)."""
    last_failed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    """The relay last could not be reached, dropped, timed out or said 421."""
    last_failure: str = Field(default="", sa_column=Column(Text, nullable=False))
    """What went wrong then, in words (kept for staff; ``/readyz`` does not show it)."""
