"""The delivery figures a monitoring system reads, counted from the ledger when it asks.

Nothing is counted in a process: the ledger and the bounce table are the truth, so every web
process and every worker on every machine reports the same figures. Each figure is one
aggregate query, kept cheap by asking the ``(job_id, status, id)`` index of the ledger for
the jobs that can still change (active or paused, or finished within the send-rate window)
where it can. :mod:`publisher.web.metrics` renders them for Prometheus.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlmodel import Session

from publisher.clock import utcnow
from publisher.delivery.models import Bounce, Delivery, DeliveryStatus, JobState, SendJob
from publisher.subscribers.models import MailingList

RATE_WINDOWS = (timedelta(minutes=1), timedelta(minutes=5))
"""The send rate is the copies sent in each of these windows, from the ledger's ``sent_at``."""
NO_LIST = ""
"""The list label of a send job without a list (none is made so today)."""

delivery = Delivery.__table__  # type: ignore[attr-defined]
job_table = SendJob.__table__  # type: ignore[attr-defined]
bounce_table = Bounce.__table__  # type: ignore[attr-defined]
list_table = MailingList.__table__  # type: ignore[attr-defined]
OPEN_JOBS = (JobState.active.value, JobState.paused.value)


@dataclass(frozen=True)
class DeliveryFigures:
    """The ledger's figures at one moment, as plain numbers."""

    copies: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(list slug, delivery status) → copies in that status."""
    bounces: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(list slug, bounce kind) → copies that drew a bounce or complaint of that kind."""
    queued: int = 0
    """Copies waiting in the queue of an active or paused edition."""
    oldest_queued: timedelta | None = None
    """How long the oldest of them has waited since it was (last) queued."""
    sent_recently: dict[timedelta, int] = field(default_factory=dict)
    """Window → copies sent within it (the send rate)."""


def _job_lists(session: Session) -> dict[int, str]:
    rows = session.execute(
        select(job_table.c.id, list_table.c.slug).outerjoin(
            list_table, list_table.c.id == job_table.c.list_id
        )
    ).all()
    return {int(job_id): slug or NO_LIST for job_id, slug in rows}


def copies_by_job(session: Session) -> list[tuple[int, str, int]]:
    """(job, status, copies) for every job: one GROUP BY over the ledger's index."""
    rows = session.execute(
        select(delivery.c.job_id, delivery.c.status, func.count()).group_by(
            delivery.c.job_id, delivery.c.status
        )
    ).all()
    return [(int(job_id), str(status), int(n)) for job_id, status, n in rows]


def bounces_by_job(session: Session) -> list[tuple[int, str, int]]:
    """(job, kind, copies): each person counted once per kind and edition, as the edition's
    report counts them (:func:`publisher.delivery.bounces.reports.edition_counts`)."""
    rows = session.execute(
        select(
            bounce_table.c.job_id,
            bounce_table.c.kind,
            func.count(func.distinct(bounce_table.c.subscriber_id)),
        )
        .where(bounce_table.c.job_id.is_not(None))
        .group_by(bounce_table.c.job_id, bounce_table.c.kind)
    ).all()
    return [(int(job_id), str(kind), int(n)) for job_id, kind, n in rows]


def queue(session: Session) -> tuple[int, datetime | None]:
    """Queued copies of active and paused jobs, and when the oldest of them was queued."""
    open_jobs = select(job_table.c.id).where(job_table.c.state.in_(OPEN_JOBS))
    count, oldest = session.execute(
        select(func.count(), func.min(delivery.c.updated_at)).where(
            delivery.c.job_id.in_(open_jobs),
            delivery.c.status == DeliveryStatus.queued.value,
        )
    ).one()
    return int(count), oldest


def sent_since(session: Session, since: datetime) -> int:
    """Copies sent since ``since``, among the jobs that were sending then."""
    recent_jobs = select(job_table.c.id).where(
        or_(job_table.c.state.in_(OPEN_JOBS), job_table.c.finished_at >= since)
    )
    return int(
        session.execute(
            select(func.count()).where(
                delivery.c.job_id.in_(recent_jobs),
                delivery.c.status == DeliveryStatus.sent.value,
                delivery.c.sent_at >= since,
            )
        ).scalar_one()
    )


def figures(session: Session) -> DeliveryFigures:
    """Every figure of :class:`DeliveryFigures`, now."""
    now = utcnow()
    lists = _job_lists(session)
    copies: Counter[tuple[str, str]] = Counter()
    for job_id, status, n in copies_by_job(session):
        copies[(lists.get(job_id, NO_LIST), status)] += n
    bounces: Counter[tuple[str, str]] = Counter()
    for job_id, kind, n in bounces_by_job(session):
        bounces[(lists.get(job_id, NO_LIST), kind)] += n
    queued, oldest = queue(session)
    return DeliveryFigures(
        copies=copies,
        bounces=bounces,
        queued=queued,
        oldest_queued=max(now - oldest, timedelta(0)) if oldest is not None else None,
        sent_recently={window: sent_since(session, now - window) for window in RATE_WINDOWS},
    )
