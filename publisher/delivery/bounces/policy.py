"""What a bounce means for an address, decided once for every way a bounce arrives.

``failed`` with a bad-mailbox code (5.1.x) is a hard bounce and suppresses the address at
once; ``failed`` with a full mailbox (5.2.2) or any temporary code (4.x.x) is a soft bounce,
and a few of those within some days suppress it; ``delayed`` is kept but counts for nothing;
a complaint suppresses at once. The codes, the count and the days are settings. Every report
is stored, once: the same one processed again finds its fingerprint and changes nothing.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from publisher.addresses import address_hash
from publisher.clock import utcnow
from publisher.config import Settings
from publisher.delivery.bounces import breaker
from publisher.delivery.models import Bounce, BounceKind
from publisher.logs import event
from publisher.subscribers.models import SuppressionReason
from publisher.subscribers.suppression import suppress, suppression_of

log = logging.getLogger(__name__)


class Disposition(enum.StrEnum):
    """What became of one message or event."""

    recorded = "recorded"
    """A bounce or complaint about one of our copies: stored and acted on."""
    duplicate = "duplicate"
    """Processed before: nothing changed."""
    ignored = "ignored"
    """About one of our copies but nothing to act on (an auto-reply, a "delivered" notice)."""
    not_ours = "not_ours"
    """Not a bounce of ours: left as it is (a mailbox reader leaves it where it was)."""


@dataclass(frozen=True)
class Handled:
    """The answer of :func:`~publisher.delivery.bounces.handle_message` and ``handle_event``."""

    disposition: Disposition
    reason: str
    """In words, for the operator: what it was and why it was taken so."""
    kind: BounceKind | None = None
    address: str | None = None
    delivery_id: int | None = None
    job_id: int | None = None
    action: str = ""
    status: str = ""
    diagnostic: str = ""
    bounce_id: int | None = None
    suppressed: SuppressionReason | None = None
    """Set when this report suppressed the address (not when it already was)."""

    @property
    def ours(self) -> bool:
        """A report of ours (a mailbox reader files it away); ``False``: leave it untouched."""
        return self.disposition is not Disposition.not_ours


@dataclass(frozen=True)
class Copy:
    """The delivery a report is about, as the handler found it."""

    subscriber_id: int
    address: str
    delivery_id: int | None
    job_id: int | None


def _matches(status: str, prefixes: list[str]) -> bool:
    parts = status.split(".")
    return any(parts[: len(p.split("."))] == p.split(".") for p in prefixes)


def classify(settings: Settings, action: str, status: str) -> BounceKind | None:
    """The kind of a DSN recipient's ``Action`` and ``Status``; ``None``: not a failure at
    all (``delivered``, ``relayed``, ``expanded``)."""
    action = action.lower()
    if action == "complaint":
        return BounceKind.complaint
    if action == "delayed":
        return BounceKind.delayed
    if action != "failed":
        return None
    if _matches(status, settings.bounce_hard_statuses):
        return BounceKind.hard
    if not status or _matches(status, settings.bounce_soft_statuses):
        # A failure without any code (an old server's own words) is counted, not trusted.
        return BounceKind.soft
    return BounceKind.other


def soft_bounces(session: Session, settings: Settings, hashed: str) -> int:
    """Soft bounces of an address within the window, one per copy however often it bounced."""
    since = utcnow() - timedelta(days=settings.bounce_soft_days)
    where = (
        Bounce.address_hash == hashed,  # type: ignore[arg-type]
        Bounce.kind == BounceKind.soft.value,  # type: ignore[arg-type]
        Bounce.received_at >= since,  # type: ignore[arg-type,operator]
    )
    copies = session.execute(
        select(func.count(func.distinct(Bounce.delivery_id))).where(*where)  # type: ignore[arg-type]
    ).scalar_one()
    loose = session.execute(
        select(func.count()).where(*where, Bounce.delivery_id.is_(None))  # type: ignore[union-attr]
    ).scalar_one()
    return int(copies) + int(loose)


def record(
    session: Session,
    settings: Settings,
    copy: Copy,
    *,
    kind: BounceKind,
    action: str,
    status: str,
    diagnostic: str,
    source: str,
    raw: bytes,
    fingerprint: str,
) -> Handled:
    """Store the report once and act on it; the caller commits."""
    hashed = address_hash(copy.address)
    bounce = Bounce(
        received_at=utcnow(),
        delivery_id=copy.delivery_id,
        job_id=copy.job_id,
        subscriber_id=copy.subscriber_id,
        address=copy.address,
        address_hash=hashed,
        kind=kind,
        action=action[:32],
        status=status[:16],
        diagnostic=diagnostic[:10_000],
        source=source[:32],
        fingerprint=fingerprint,
        raw=raw[: settings.bounce_max_bytes],
    )
    found = dict(
        kind=kind,
        address=copy.address,
        delivery_id=copy.delivery_id,
        job_id=copy.job_id,
        action=action,
        status=status,
        diagnostic=diagnostic,
    )
    try:
        with session.begin_nested():
            session.add(bounce)
    except IntegrityError:
        return Handled(Disposition.duplicate, "processed before; nothing changed", **found)  # type: ignore[arg-type]
    reason = _reason_to_suppress(session, settings, kind, hashed)
    suppressed = None
    if reason is not None and suppression_of(session, hashed) is None:
        suppress(session, copy.address, reason)
        suppressed = reason
    words = _words(kind, suppressed, settings)
    if kind in (BounceKind.hard, BounceKind.complaint) and copy.job_id is not None:
        paused = breaker.check(session, settings, copy.job_id)
        if paused is not None:
            words += f"; the edition is {paused}"
    event(
        log,
        "bounce processed",
        kind=str(kind),
        status=status,
        source=source,
        delivery=copy.delivery_id,
        job=copy.job_id,
        suppressed=str(suppressed) if suppressed else None,
    )
    return Handled(
        Disposition.recorded,
        words,
        bounce_id=bounce.id,
        suppressed=suppressed,
        **found,  # type: ignore[arg-type]
    )


def _reason_to_suppress(
    session: Session, settings: Settings, kind: BounceKind, hashed: str
) -> SuppressionReason | None:
    if kind == BounceKind.hard:
        return SuppressionReason.hard_bounce
    if kind == BounceKind.complaint:
        return SuppressionReason.complaint
    if kind == BounceKind.soft and soft_bounces(session, settings, hashed) >= (
        settings.bounce_soft_limit
    ):
        return SuppressionReason.soft_bounce
    return None


def _words(kind: BounceKind, suppressed: SuppressionReason | None, settings: Settings) -> str:
    what = {
        BounceKind.hard: "a hard bounce",
        BounceKind.soft: "a soft bounce",
        BounceKind.delayed: "a delay notice (not counted)",
        BounceKind.complaint: "a complaint",
        BounceKind.other: "a failure that says nothing about the address (not counted)",
    }[kind]
    if suppressed == SuppressionReason.soft_bounce:
        return (
            f"{what}, {settings.bounce_soft_limit} within {settings.bounce_soft_days} days: "
            "the address is suppressed"
        )
    if suppressed is not None:
        return f"{what}: the address is suppressed"
    return what
