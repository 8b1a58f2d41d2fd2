"""What the bounces say, for the people who read them: per edition, per person, one by one."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlmodel import Session

from publisher.db import MAX_ROW_ID
from publisher.delivery.models import Bounce, SendJob


def edition_counts(session: Session, job_id: int) -> Counter[str]:
    """Bounces and complaints of one edition's send job by kind (hard, soft, complaint …),
    each copy counted once however many reports came about it."""
    rows = session.execute(
        select(Bounce.kind, func.count(func.distinct(Bounce.subscriber_id)))
        .where(Bounce.job_id == job_id)  # type: ignore[arg-type]
        .group_by(Bounce.kind)
    ).all()
    return Counter({str(kind): int(n) for kind, n in rows})


def edition_reasons(session: Session, job_id: int, limit: int = 5) -> list[tuple[str, int]]:
    """The commonest kind, status and diagnostic of an edition's bounces, with how often."""
    rows = session.execute(
        select(Bounce.kind, Bounce.status, Bounce.diagnostic, func.count())
        .where(Bounce.job_id == job_id)  # type: ignore[arg-type]
        .group_by(Bounce.kind, Bounce.status, Bounce.diagnostic)
        .order_by(func.count().desc(), Bounce.kind)
        .limit(limit)
    ).all()
    return [
        (" ".join(part for part in (kind, status, diagnostic[:160]) if part), int(n))
        for kind, status, diagnostic, n in rows
    ]


def edition_bounces(session: Session, job_id: int, limit: int = 50) -> list[Bounce]:
    """An edition's bounces and complaints, newest first."""
    return list(
        session.execute(
            select(Bounce)
            .where(Bounce.job_id == job_id)  # type: ignore[arg-type]
            .order_by(Bounce.received_at.desc(), Bounce.id.desc())  # type: ignore[attr-defined]
            .limit(limit)
        ).scalars()
    )


def history(session: Session, subscriber_id: int, limit: int = 50) -> list[tuple[Bounce, str]]:
    """One person's bounces and complaints, newest first, each with its edition's name."""
    rows = session.execute(
        select(Bounce, SendJob.name)
        .outerjoin(SendJob, SendJob.id == Bounce.job_id)  # type: ignore[arg-type]
        .where(Bounce.subscriber_id == subscriber_id)  # type: ignore[arg-type]
        .order_by(Bounce.received_at.desc(), Bounce.id.desc())  # type: ignore[attr-defined]
        .limit(limit)
    ).all()
    return [(bounce, name or "") for bounce, name in rows]


def get_bounce(session: Session, bounce_id: int) -> Bounce | None:
    if not 0 < bounce_id <= MAX_ROW_ID:
        return None
    return session.get(Bounce, bounce_id)
