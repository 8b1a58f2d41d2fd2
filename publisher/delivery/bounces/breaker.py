"""The circuit breaker: an edition whose copies bounce hard or draw complaints too often stops.

Gmail's and Yahoo's sender guidelines count a list as abusive past a few per cent of hard
bounces or a few in a thousand complaints; sending on through such a list ruins the
municipality's reputation for every later mail. So once an edition has sent
``breaker_min_copies`` copies (500), a hard bounce or complaint that takes its rate to
``breaker_hard_percent`` (5 %) or ``breaker_complaint_percent`` (0.3 %) pauses the sending,
with the reason for staff to read. Staff resume it after looking (``digest resume``, the
admin); the breaker trips once per edition, so a resumed send is not paused again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from publisher.clock import utcnow
from publisher.config import Settings
from publisher.delivery import ledger
from publisher.delivery.models import (
    Bounce,
    BounceKind,
    Delivery,
    DeliveryStatus,
    JobState,
    SendJob,
)
from publisher.delivery.reasons import COMPLAINTS, HARD_BOUNCES, pause_reason


@dataclass(frozen=True)
class Rates:
    """An edition's copies sent, and its hard bounces and complaints among them."""

    sent: int
    hard: int
    complaints: int

    def percent(self, count: int) -> float:
        return 100.0 * count / self.sent if self.sent else 0.0


def rates(session: Session, job_id: int) -> Rates:
    sent = session.execute(
        select(func.count()).where(
            Delivery.job_id == job_id,  # type: ignore[arg-type]
            Delivery.status == DeliveryStatus.sent.value,  # type: ignore[arg-type]
        )
    ).scalar_one()
    by_kind = dict(
        session.execute(
            select(Bounce.kind, func.count(func.distinct(Bounce.subscriber_id)))
            .where(
                Bounce.job_id == job_id,  # type: ignore[arg-type]
                Bounce.kind.in_([BounceKind.hard.value, BounceKind.complaint.value]),  # type: ignore[attr-defined]
            )
            .group_by(Bounce.kind)
        ).all()
    )
    return Rates(
        int(sent), int(by_kind.get("hard", 0)), int(by_kind.get(BounceKind.complaint.value, 0))
    )


def check(session: Session, settings: Settings, job_id: int) -> str | None:
    """Pause the job if its rates passed a threshold; the reason when it was paused now."""
    job = session.get(SendJob, job_id)
    if job is None or job.state != JobState.active or job.breaker_tripped_at is not None:
        return None
    found = rates(session, job_id)
    if found.sent < settings.breaker_min_copies:
        return None
    hard, complaints = found.percent(found.hard), found.percent(found.complaints)
    if hard >= settings.breaker_hard_percent:
        source, count, percent = HARD_BOUNCES, found.hard, f"{hard:.1f}"
        limit = settings.breaker_hard_percent
    elif complaints >= settings.breaker_complaint_percent:
        source, count, percent = COMPLAINTS, found.complaints, f"{complaints:.2f}"
        limit = settings.breaker_complaint_percent
    else:
        return None
    reason = pause_reason(source, count=count, percent=percent, limit=limit, sent=found.sent)
    job.breaker_tripped_at = utcnow()
    session.add(job)
    ledger.set_job_state(session, job_id, JobState.paused, reason)
    return reason
