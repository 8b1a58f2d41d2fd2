"""The ledger's queries: create a job, freeze its recipients, claim, record, control.

Every step is a short transaction. The order that makes a crash harmless is: claim (rows
become ``sending`` with a lease) → send → record the SMTP reply, copy by copy, before the
connection that sent it takes the next one. A crash between send and record leaves rows
``sending``; when the lease runs out, or the worker's heartbeat stops, another claim takes
them again, so a message may go twice (at most the copies in flight, one per connection)
but never zero times.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ARRAY,
    DateTime,
    Integer,
    Select,
    String,
    Text,
    Update,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from publisher.clock import utcnow
from publisher.db import conflict_insert
from publisher.delivery.models import (
    OPEN_STATUSES,
    Delivery,
    DeliveryStatus,
    JobMessage,
    JobState,
    RateCounter,
    SendJob,
    Worker,
)
from publisher.logs import event
from publisher.mail.message import MessageTemplate, Slots, split_template
from publisher.subscribers.models import Subscriber

T = TypeVar("T")

log = logging.getLogger(__name__)

STATE_EVENTS = {
    JobState.active: "sending resumed",
    JobState.paused: "sending paused",
    JobState.cancelled: "sending cancelled",
    JobState.done: "sending finished",
}
"""The log line of each change of a job's state (:func:`set_job_state`, :func:`finish_if_done`)."""

delivery = Delivery.__table__  # type: ignore[attr-defined]
job_table = SendJob.__table__  # type: ignore[attr-defined]
worker_table = Worker.__table__  # type: ignore[attr-defined]

subscriber_table = Subscriber.__table__  # type: ignore[attr-defined]


class JobNotFound(LookupError):
    pass


# --- jobs and their messages ---------------------------------------------------------------


def create_job(
    session: Session,
    *,
    name: str,
    envelope_from: str,
    templates: dict[str, tuple[bytes, str]],
    list_id: int | None = None,
) -> SendJob:
    """A job with its message per language: ``templates[lang] = (raw bytes, slot nonce)``."""
    job = SendJob(name=name, envelope_from=envelope_from, list_id=list_id)
    session.add(job)
    session.flush()
    for language, (raw, nonce) in templates.items():
        session.add(JobMessage(job_id=job.id, language=language, template=_pack(raw, nonce)))
    session.flush()
    return job


def _pack(raw: bytes, nonce: str) -> bytes:
    return nonce.encode("ascii") + b"\n" + raw


def load_templates(session: Session, job_id: int) -> dict[str, MessageTemplate]:
    rows = session.execute(select(JobMessage).where(JobMessage.job_id == job_id)).scalars()  # type: ignore[arg-type]
    templates = {}
    for row in rows:
        nonce, raw = row.template.split(b"\n", 1)
        templates[row.language] = split_template(raw, Slots(nonce.decode("ascii")))
    return templates


def get_job(session: Session, job_id: int) -> SendJob:
    job = session.get(SendJob, job_id)
    if job is None:
        raise JobNotFound(f"no send job {job_id}")
    return job


def freeze_recipients(session: Session, job_id: int, recipients: Select) -> int:  # type: ignore[type-arg]
    """One set-based INSERT … SELECT of (subscriber_id, email, name, language) rows.

    Duplicates (a person reached through two lists) are collapsed by the SELECT the caller
    gives and guarded by the unique (job, subscriber) constraint.
    """
    now = utcnow()
    source = recipients.subquery()
    statement = insert(delivery).from_select(
        [
            "job_id",
            "subscriber_id",
            "email",
            "name",
            "language",
            "status",
            "attempts",
            "last_reply",
            "updated_at",
        ],
        select(
            literal(job_id),
            source.c[0],
            source.c[1],
            source.c[2],
            source.c[3],
            literal(DeliveryStatus.queued.value),
            literal(0),
            literal(""),
            literal(now, type_=delivery.c.updated_at.type),
        ),
    )
    result = session.execute(statement)
    session.flush()
    return int(result.rowcount or 0)


# --- workers --------------------------------------------------------------------------------


def register_worker(session: Session, worker_id: str, host: str, pid: int) -> None:
    session.add(Worker(id=worker_id, host=host, pid=pid))
    session.flush()


def beat(connection: Connection, worker_id: str) -> None:
    connection.execute(
        update(worker_table).where(worker_table.c.id == worker_id).values(heartbeat_at=utcnow())
    )


def live_workers(session: Session, stale_after: timedelta) -> list[Worker]:
    cutoff = utcnow() - stale_after
    query = select(Worker).where(Worker.heartbeat_at >= cutoff)  # type: ignore[arg-type]
    return list(session.execute(query).scalars())


def unregister_worker(session: Session, worker_id: str) -> None:
    release(session, worker_id)
    session.execute(worker_table.delete().where(worker_table.c.id == worker_id))


def _due(now: datetime, stale_after: timedelta):  # type: ignore[no-untyped-def]
    """Rows a claim may take now: queued; deferred whose next attempt has come; or
    ``sending`` whose lease ran out or whose worker stopped beating (it crashed)."""
    alive = select(worker_table.c.id).where(worker_table.c.heartbeat_at >= now - stale_after)
    return or_(
        delivery.c.status == DeliveryStatus.queued.value,
        and_(delivery.c.status == DeliveryStatus.deferred.value, delivery.c.next_attempt_at <= now),
        and_(
            delivery.c.status == DeliveryStatus.sending.value,
            or_(delivery.c.lease_until < now, delivery.c.claimed_by.not_in(alive)),
        ),
    )


def in_hand(session: Session, job_id: int, stale_after: timedelta) -> bool:
    """Whether a live sender (in any process, on any machine) is working on the job: it holds
    claimed rows of it, or recorded one within the last ``stale_after``."""
    now = utcnow()
    alive = select(worker_table.c.id).where(worker_table.c.heartbeat_at >= now - stale_after)
    held = select(delivery.c.id).where(
        delivery.c.job_id == job_id,
        or_(
            and_(
                delivery.c.status == DeliveryStatus.sending.value,
                delivery.c.claimed_by.in_(alive),
                delivery.c.lease_until >= now,
            ),
            and_(
                delivery.c.status != DeliveryStatus.queued.value,
                delivery.c.updated_at >= now - stale_after,
                delivery.c.attempts > 0,
            ),
        ),
    )
    return session.execute(held.limit(1)).first() is not None


def jobs_with_rows_due(session: Session, stale_after: timedelta) -> list[int]:
    """Active jobs with rows a claim could take now (whether or not anyone is sending them)."""
    now = utcnow()
    active = select(job_table.c.id).where(job_table.c.state == JobState.active.value)
    rows = session.execute(
        select(delivery.c.job_id)
        .where(delivery.c.job_id.in_(active), _due(now, stale_after))
        .group_by(delivery.c.job_id)
        .order_by(delivery.c.job_id)
    ).all()
    return [job_id for (job_id,) in rows]


# --- claiming and recording -------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    job_id: int
    subscriber_id: int
    email: str
    name: str
    language: str
    attempts: int
    token_uid: str = ""
    """The subscriber's random reference for links ("" once they have been erased)."""


def claim(
    session: Session,
    worker_id: str,
    *,
    limit: int,
    lease: timedelta,
    stale_after: timedelta,
    job_ids: Sequence[int] | None = None,
) -> list[Claimed]:
    """Take up to ``limit`` rows that are due, for this worker, under a lease.

    Due: see :func:`_due`. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets
    many workers claim at once without waiting on or taking each other's rows.
    """
    now = utcnow()
    due = _due(now, stale_after)
    active_jobs = select(job_table.c.id).where(job_table.c.state == JobState.active.value)
    if job_ids is not None:
        active_jobs = active_jobs.where(job_table.c.id.in_(list(job_ids)))
    # Never the rows this worker holds itself: a moved clock (or a long stall) can make its
    # own lease look expired or its heartbeat stale, and it would send them twice.
    not_mine = or_(
        delivery.c.status != DeliveryStatus.sending.value, delivery.c.claimed_by != worker_id
    )
    candidates = (
        select(delivery.c.id)
        .where(delivery.c.job_id.in_(active_jobs), due, not_mine)
        .order_by(delivery.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(delivery)
        .where(delivery.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=DeliveryStatus.sending.value,
            claimed_by=worker_id,
            lease_until=now + lease,
            updated_at=now,
        )
        .returning(
            delivery.c.id,
            delivery.c.job_id,
            delivery.c.subscriber_id,
            delivery.c.email,
            delivery.c.name,
            delivery.c.language,
            delivery.c.attempts,
        )
    )
    rows = session.execute(statement).all()
    uids = _token_uids(session, {row.subscriber_id for row in rows})
    return sorted(
        (Claimed(*row, token_uid=uids.get(row.subscriber_id, "")) for row in rows),
        key=lambda c: c.id,
    )


def _token_uids(session: Session, subscriber_ids: set[int]) -> dict[int, str]:
    """The link reference of each subscriber still in the register (one query per batch)."""
    if not subscriber_ids:
        return {}
    found = session.execute(
        select(subscriber_table.c.id, subscriber_table.c.token_uid).where(
            subscriber_table.c.id.in_(sorted(subscriber_ids))
        )
    )
    return {subscriber_id: uid for subscriber_id, uid in found}


@dataclass(frozen=True)
class Result:
    """What happened to one claimed row."""

    id: int
    status: DeliveryStatus
    code: int | None
    reply: str
    message_id: str | None = None
    next_attempt_at: datetime | None = None


def record(session: Session, worker_id: str, results: Iterable[Result]) -> None:
    """Write the outcomes of a group of copies in one statement."""
    now = utcnow()
    rows = [
        {
            "b_id": r.id,
            "b_status": r.status.value,
            "b_code": r.code,
            "b_reply": r.reply[:2000],
            "b_message_id": r.message_id,
            "b_next": r.next_attempt_at,
            "b_sent_at": now if r.status == DeliveryStatus.sent else None,
            "b_now": now,
        }
        for r in results
    ]
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(_record_statement(), rows)
        return
    # One round trip however many copies (an executemany would make one per row).
    columns = {name: [row[name] for row in rows] for name in _UNNESTED}
    connection.execute(_record_unnest_statement(), {**columns, "b_now": now})


@cache
def _record_statement() -> Update:
    """Built once: the sender records a handful of copies at a time, hundreds of times a
    second, and making the statement afresh cost more than running it."""
    return (
        update(delivery)
        .where(delivery.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            attempts=delivery.c.attempts + 1,
            last_code=bindparam("b_code"),
            last_reply=bindparam("b_reply"),
            message_id=bindparam("b_message_id"),
            next_attempt_at=bindparam("b_next", type_=delivery.c.next_attempt_at.type),
            sent_at=bindparam("b_sent_at", type_=delivery.c.sent_at.type),
            claimed_by=None,
            lease_until=None,
            updated_at=bindparam("b_now", type_=delivery.c.updated_at.type),
        )
    )


_UNNESTED = {
    "b_id": Integer(),
    "b_status": String(),
    "b_code": Integer(),
    "b_reply": Text(),
    "b_message_id": String(),
    "b_next": DateTime(timezone=True),
    "b_sent_at": DateTime(timezone=True),
}


@cache
def _record_unnest_statement() -> Update:
    """PostgreSQL's: ``UPDATE … FROM unnest(arrays)``, one parameter per column."""
    given = (
        func.unnest(*[bindparam(name, type_=ARRAY(kind)) for name, kind in _UNNESTED.items()])
        .table_valued(*_UNNESTED)
        .render_derived()
    )
    return (
        update(delivery)
        .where(delivery.c.id == given.c.b_id)
        .values(
            status=given.c.b_status,
            attempts=delivery.c.attempts + 1,
            last_code=given.c.b_code,
            last_reply=given.c.b_reply,
            message_id=given.c.b_message_id,
            next_attempt_at=given.c.b_next,
            sent_at=given.c.b_sent_at,
            claimed_by=None,
            lease_until=None,
            updated_at=bindparam("b_now", type_=delivery.c.updated_at.type),
        )
    )


class OutcomeWriter:
    """The connection a sender keeps for writing outcomes, a few hundred times a second.

    The sender waits for each write before the connection that sent those copies takes its
    next one, so a write must cost as few round trips as it can: no pool check-out and
    liveness ping each time, and on PostgreSQL a commit confirmed without waiting for the
    server's own disk (``synchronous_commit`` off, for this connection only). A killed sender
    cannot undo a commit either way; only a crash of the database server itself could lose
    the last fraction of a second of outcomes, whose copies then go twice, never zero times.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in one transaction and commit; once more on a fresh connection if the
        database dropped this one (a restart of PostgreSQL between two writes)."""
        for attempt in range(2):
            connection = self._connect()
            try:
                with Session(bind=connection, expire_on_commit=False) as session:
                    result = fn(session)
                    session.commit()
                return result
            except DBAPIError as exc:
                self.close()
                if attempt or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def _connect(self) -> Connection:
        if self._connection is None or self._connection.closed:
            connection = self.engine.connect()
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET synchronous_commit TO OFF")
                connection.commit()
            self._connection = connection
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def release(session: Session, worker_id: str, ids: Sequence[int] | None = None) -> int:
    """Hand claimed, unsent rows back: to the queue, or closed if their job was cancelled."""
    now = utcnow()
    mine = [
        delivery.c.claimed_by == worker_id,
        delivery.c.status == DeliveryStatus.sending.value,
    ]
    if ids is not None:
        mine.append(delivery.c.id.in_(list(ids)))
    cancelled_jobs = select(job_table.c.id).where(job_table.c.state == JobState.cancelled.value)
    session.execute(
        update(delivery)
        .where(*mine, delivery.c.job_id.in_(cancelled_jobs))
        .values(
            status=DeliveryStatus.cancelled.value, claimed_by=None, lease_until=None, updated_at=now
        )
    )
    result = session.execute(
        update(delivery)
        .where(*mine)
        .values(
            status=DeliveryStatus.queued.value, claimed_by=None, lease_until=None, updated_at=now
        )
    )
    return int(result.rowcount or 0)


def retry_at(attempts: int, base: timedelta, cap: timedelta = timedelta(hours=6)) -> datetime:
    """Exponential backoff with jitter: base, 2×base, 4×base … (±25 %), at most ``cap``."""
    delay = min(base * (2 ** max(attempts - 1, 0)), cap)
    return utcnow() + delay * random.uniform(0.75, 1.25)


# --- job control and counts ----------------------------------------------------------------


def set_job_state(session: Session, job_id: int, state: JobState, reason: str = "") -> SendJob:
    """Pause, resume or cancel; cancelling closes every row not yet sent or failed."""
    job = get_job(session, job_id)
    now = utcnow()
    if job.state != state:
        event(log, STATE_EVENTS[state], job=job_id, edition=job.name, reason=reason or None)
    job.state = state
    job.state_reason = reason
    job.updated_at = now
    if state == JobState.cancelled:
        session.execute(
            update(delivery)
            .where(
                delivery.c.job_id == job_id,
                delivery.c.status.in_([DeliveryStatus.queued.value, DeliveryStatus.deferred.value]),
            )
            .values(status=DeliveryStatus.cancelled.value, updated_at=now)
        )
        job.finished_at = now
    session.add(job)
    session.flush()
    return job


def job_states(session: Session, job_ids: Iterable[int]) -> dict[int, JobState]:
    ids = list(job_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(job_table.c.id, job_table.c.state).where(job_table.c.id.in_(ids))
    ).all()
    return {job_id: JobState(state) for job_id, state in rows}


def counts(session: Session, job_id: int) -> Counter[str]:
    rows = session.execute(
        select(delivery.c.status, func.count())
        .where(delivery.c.job_id == job_id)
        .group_by(delivery.c.status)
    ).all()
    return Counter({status: int(n) for status, n in rows})


def open_count(session: Session, job_id: int) -> tuple[int, datetime | None]:
    """Rows still to handle, and when the earliest deferred one is due."""
    open_rows = session.execute(
        select(func.count(), func.min(delivery.c.next_attempt_at)).where(
            delivery.c.job_id == job_id,
            delivery.c.status.in_([s.value for s in OPEN_STATUSES]),
        )
    ).one()
    return int(open_rows[0]), open_rows[1]


def finish_if_done(session: Session, job_id: int) -> bool:
    """Mark an active job done when no row is left open; True if it is (now) done."""
    remaining, _ = open_count(session, job_id)
    if remaining:
        return False
    job = get_job(session, job_id)
    if job.state == JobState.active:
        job.state = JobState.done
        job.finished_at = job.updated_at = utcnow()
        session.add(job)
        session.flush()
        sent = counts(session, job_id)
        event(
            log,
            STATE_EVENTS[JobState.done],
            job=job_id,
            edition=job.name,
            sent=sent[DeliveryStatus.sent.value],
            failed=sent[DeliveryStatus.failed.value],
        )
    return job.state == JobState.done


def top_failures(session: Session, job_id: int, limit: int = 5) -> list[tuple[str, int]]:
    """The most common replies of failed and deferred rows: what went wrong, how often."""
    rows = session.execute(
        select(delivery.c.last_code, delivery.c.last_reply, func.count())
        .where(
            delivery.c.job_id == job_id,
            delivery.c.status.in_([DeliveryStatus.failed.value, DeliveryStatus.deferred.value]),
        )
        .group_by(delivery.c.last_code, delivery.c.last_reply)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    return [(f"{code or ''} {reply or '(no reply)'}".strip(), int(n)) for code, reply, n in rows]


def problem_rows(session: Session, job_id: int, limit: int = 50) -> list[Delivery]:
    query = (
        select(Delivery)
        .where(
            delivery.c.job_id == job_id,
            delivery.c.status.in_([DeliveryStatus.failed.value, DeliveryStatus.deferred.value]),
        )
        .order_by(delivery.c.id)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def deliveries_of(session: Session, subscriber_id: int, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Each mailing sent (or being sent) to the person: what, when, and what became of it
    (their right of access; the register's own part is ``subscribers``')."""
    rows = session.execute(
        select(Delivery, job_table.c.name)
        .join(job_table, job_table.c.id == delivery.c.job_id)
        .where(delivery.c.subscriber_id == subscriber_id)
        .order_by(delivery.c.id)
    ).all()
    return [
        {
            "mailing": name,
            "address": row.email,
            "language": row.language,
            "status": str(row.status),
            "sent_at": row.sent_at.astimezone(tz).isoformat() if row.sent_at else None,
            "message_id": row.message_id,
        }
        for row, name in rows
    ]


def retry_failed(session: Session, job_id: int) -> int:
    """Put failed rows back in the queue (staff asked for it) and reopen a finished job (a
    paused one stays paused, a cancelled one is not for here); rows whose address the
    retention purge took out stay failed (there is nobody to send them to)."""
    result = session.execute(
        update(delivery)
        .where(
            delivery.c.job_id == job_id,
            delivery.c.status == DeliveryStatus.failed.value,
            delivery.c.email != "",
        )
        .values(status=DeliveryStatus.queued.value, next_attempt_at=None, updated_at=utcnow())
    )
    count = int(result.rowcount or 0)
    job = get_job(session, job_id)
    if count and job.state == JobState.done:
        job.state, job.state_reason, job.finished_at = JobState.active, "", None
        session.add(job)
    session.flush()
    return count


# --- shared rate limits -------------------------------------------------------------------


def take_tokens(
    session: Session, wanted: int, *, relay: str, per_second: float, daily_cap: int, day: str
) -> tuple[int, float]:
    """Grant up to ``wanted`` sends through ``relay`` under the shared limits; returns
    (granted, wait seconds). ``granted`` 0 with wait 0: the day's cap is met.

    The bucket holds at most one second of sending; the day's count is a row per relay and
    day (the provider counts per account, so per relay). Rows are locked while read and
    written, so several workers on PostgreSQL share the budget.
    """
    now = utcnow()
    granted = wanted
    wait = 0.0
    if daily_cap:
        row = _counter(session, _day_counter(relay, day))
        left = max(daily_cap - int(row.value), 0)
        granted = min(granted, left)
        if granted == 0:
            return 0, 0.0
    if per_second:
        row_rate = _counter(session, f"rate:{relay}")
        elapsed = max((now - row_rate.updated_at).total_seconds(), 0.0)
        tokens = min(per_second, row_rate.value + elapsed * per_second)
        granted = min(granted, int(tokens))
        if granted <= 0:
            wait = (1 - tokens) / per_second
            row_rate.value, row_rate.updated_at = tokens, now
            session.add(row_rate)
            return 0, max(wait, 0.01)
        row_rate.value, row_rate.updated_at = tokens - granted, now
        session.add(row_rate)
    if daily_cap:
        row = _counter(session, _day_counter(relay, day))
        row.value += granted
        row.updated_at = now
        session.add(row)
    session.flush()
    return granted, wait


def sent_on(session: Session, relay: str, day: str) -> int:
    """How many sends the daily cap has granted through ``relay`` on ``day``."""
    table = RateCounter.__table__  # type: ignore[attr-defined]
    value = session.execute(
        select(table.c.value).where(table.c.name == _day_counter(relay, day))
    ).scalar_one_or_none()
    return int(value or 0)


def _day_counter(relay: str, day: str) -> str:
    return f"day:{relay}:{day}"


def _counter(session: Session, name: str) -> RateCounter:
    """The counter row, created if missing (race-free), then locked for this transaction."""
    table = RateCounter.__table__  # type: ignore[attr-defined]
    dialect_insert = conflict_insert(session)
    session.execute(
        dialect_insert(table)
        .values(name=name, value=0.0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    query = select(RateCounter).where(table.c.name == name).with_for_update()
    return session.execute(query).scalars().one()
