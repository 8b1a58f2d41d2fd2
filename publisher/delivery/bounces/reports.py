"""What the bounces say, for the people who read them: per edition, per person, one by one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session

from publisher.db import MAX_ROW_ID
from publisher.delivery.models import Bounce, BounceKind, Delivery, DeliveryStatus, SendJob


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


@dataclass(frozen=True)
class EditionRates:
    """One sent edition's copies and how many of them bounced or drew a complaint."""

    job_id: int
    name: str
    sent: int
    hard: int
    soft: int
    complaints: int

    def percent(self, count: int) -> float:
        """Of the copies sent, as the circuit breaker reckons it."""
        return 100.0 * count / self.sent if self.sent else 0.0


def list_rates(session: Session, per_list: int = 5) -> dict[int, list[EditionRates]]:
    """Each list's last ``per_list`` send jobs that sent anything, newest first, with their
    hard and soft bounces and complaints (each person counted once per kind): the dashboard's
    view of how a list's mail is received over time."""
    sent = (
        select(Delivery.job_id, func.count().label("sent"))
        .where(Delivery.status == DeliveryStatus.sent.value)  # type: ignore[arg-type]
        .group_by(Delivery.job_id)
        .subquery()
    )
    jobs = session.execute(
        select(SendJob.id, SendJob.name, SendJob.list_id, sent.c.sent)
        .join(sent, sent.c.job_id == SendJob.id)
        .where(SendJob.list_id.is_not(None))  # type: ignore[union-attr]
        .order_by(SendJob.created_at.desc(), SendJob.id.desc())  # type: ignore[union-attr]
    ).all()
    chosen: dict[int, list[tuple[int, str, int]]] = {}
    for job_id, name, list_id, copies in jobs:
        if len(chosen.setdefault(list_id, [])) < per_list:
            chosen[list_id].append((job_id, name, int(copies)))
    ids = [job_id for rows in chosen.values() for job_id, _, _ in rows]
    counted: dict[tuple[int, str], int] = {}
    if ids:
        for job_id, kind, n in session.execute(
            select(Bounce.job_id, Bounce.kind, func.count(func.distinct(Bounce.subscriber_id)))
            .where(Bounce.job_id.in_(ids))  # type: ignore[union-attr]
            .group_by(Bounce.job_id, Bounce.kind)
        ).all():
            counted[(job_id, str(kind))] = int(n)
    return {
        list_id: [
            EditionRates(
                job_id,
                name,
                copies,
                counted.get((job_id, BounceKind.hard.value), 0),
                counted.get((job_id, BounceKind.soft.value), 0),
                counted.get((job_id, BounceKind.complaint.value), 0),
            )
            for job_id, name, copies in rows
        ]
        for list_id, rows in chosen.items()
    }


def bounces_of(session: Session, subscriber_id: int, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Each bounce and complaint about the person, oldest first, for their right of access:
    when, which edition, what kind, the status code and the server's words (not the raw
    message, which is the server's, and may quote other people)."""
    return [
        {
            "received_at": bounce.received_at.astimezone(tz).isoformat(),
            "mailing": name or None,
            "kind": str(bounce.kind),
            "status": bounce.status,
            "diagnostic": bounce.diagnostic,
        }
        for bounce, name in reversed(history(session, subscriber_id, limit=MAX_ROW_ID))
    ]
