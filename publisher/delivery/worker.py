"""The sender: claims due rows, fills each copy, hands it to the outbox, records the reply.

A ``SendWorker`` is made and started only by :mod:`publisher.delivery.runner`, whichever
shell asked (``publisher worker`` for every job until stopped; ``digest send``, the admin, the
API, the schedule and ``serve``'s resuming of interrupted sends for one edition until it is
finished). Scale out by running more of them, on more machines, against one PostgreSQL.
Domain code: progress goes to a callback, never a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.clock import utcnow
from publisher.config import Settings
from publisher.delivery import ledger
from publisher.delivery.ledger import Claimed, Result
from publisher.delivery.models import DeliveryStatus, JobState, SendJob
from publisher.delivery.outbox import Outbox
from publisher.delivery.smtp import Outcome, SmtpConfig, Verdict
from publisher.links import SubscriberLinks
from publisher.mail.message import MessageTemplate, Recipient, message_id_for, sender_domain
from publisher.subscribers.models import SuppressionReason
from publisher.subscribers.suppression import suppress

ERASED = "erased"
"""The link reference of someone erased after the claim: it leads to "no longer here"."""


GROUP_WAIT = 0.005
"""Longest a copy's outcome waits for others to share its ledger write (seconds)."""


class AnotherSenderRunning(RuntimeError):
    """SQLite allows one sender process at a time; the message says which one is running."""


@dataclass(frozen=True)
class WorkerConfig:
    batch: int = 200
    lease: timedelta = timedelta(seconds=120)
    heartbeat: float = 2.0
    retry_base: timedelta = timedelta(seconds=60)
    max_attempts: int = 6
    pause_after_failures: int = 50
    rate: float = 0.0
    daily_cap: int = 0

    @property
    def stale_after(self) -> timedelta:
        """A worker silent for five beats, and at least ten seconds, is taken as dead and its
        claims as free. Generous on purpose: a live worker taken for dead means duplicates
        (another worker re-sends its batch), a dead one taken for live only a short wait."""
        return timedelta(seconds=max(self.heartbeat * 5, 10.0))

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        return cls(
            batch=settings.delivery_batch,
            lease=timedelta(seconds=settings.worker_lease),
            heartbeat=settings.worker_heartbeat,
            retry_base=timedelta(seconds=settings.smtp_retry_base),
            max_attempts=settings.smtp_max_attempts,
            pause_after_failures=settings.pause_after_failures,
            rate=settings.smtp_rate,
            daily_cap=settings.smtp_daily_cap,
        )


@dataclass
class Tally:
    """What this worker has done so far; the CLI and the admin render it as progress."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    started: datetime = field(default_factory=utcnow)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        elapsed = (utcnow() - self.started).total_seconds()
        return self.sent / elapsed if elapsed > 0 else 0.0

    def add(self, outcome: Outcome, final: bool) -> None:
        if outcome.verdict is Verdict.sent:
            self.sent += 1
        elif final:
            self.failed += 1
            self.reasons[_reason(outcome)] += 1
        else:
            self.deferred += 1
            self.reasons[_reason(outcome)] += 1


def _reason(outcome: Outcome) -> str:
    code = f"{outcome.code} " if outcome.code else ""
    return f"{code}{outcome.reply}".strip()[:200] or "(no reply)"


@dataclass(frozen=True)
class _Job:
    job: SendJob
    templates: dict[str, MessageTemplate]


class SendWorker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        job_ids: Sequence[int] | None = None,
        config: WorkerConfig | None = None,
        smtp: SmtpConfig | None = None,
        on_progress: Callable[[Tally], None] | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.job_ids = list(job_ids) if job_ids is not None else None
        self.config = config or WorkerConfig.from_settings(settings)
        self.smtp = smtp or SmtpConfig.from_settings(settings)
        self.on_progress = on_progress
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.tally = Tally()
        self.links = SubscriberLinks(settings)
        self.domain = sender_domain(settings.from_address)
        self._jobs: dict[int, _Job] = {}
        self._halted: set[int] = set()
        """Jobs that are paused, cancelled or done: their claimed rows go back unsent."""
        self._failures_in_row: Counter[int] = Counter()
        self._stop = asyncio.Event()
        self._database: ThreadPoolExecutor | None = None
        """Claim, record and the watcher's look at the jobs can overlap; nothing more does, so
        three threads (and so at most three database connections) are all a sender needs."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_asked = False
        self._unwritten: list[tuple[tuple[Claimed, Outcome | None, str], asyncio.Future[None]]] = []
        """Copies the relay has answered for, waiting for the next ledger write."""
        self._writing: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()
        self._outcomes = ledger.OutcomeWriter(engine)
        self._in_hand = 0
        """Copies between their connection's turn and their outcome's write."""
        self._group_size = max(self.smtp.pool_size // 2, 1)

    # --- database steps, run in a thread so SMTP I/O keeps flowing -------------------------

    def _db(self, fn: Callable[[Session], Any]) -> Any:
        with Session(self.engine, expire_on_commit=False) as session:
            result = fn(session)
            session.commit()
            return result

    async def _run_db(self, fn: Callable[[Session], Any]) -> Any:
        assert self._database is not None, "the sender is not running"
        return await asyncio.get_running_loop().run_in_executor(self._database, self._db, fn)

    def _register(self, session: Session) -> None:
        if self.engine.dialect.name == "sqlite":
            others = [
                w for w in ledger.live_workers(session, self.config.stale_after) if w.id != self.id
            ]
            if others:
                other = others[0]
                raise AnotherSenderRunning(
                    f"another sender is running on this SQLite database ({other.host}, "
                    f"pid {other.pid}, since {other.started_at:%Y-%m-%d %H:%M:%S} UTC); "
                    "SQLite allows one at a time: wait for it, or use PostgreSQL to run several"
                )
        ledger.register_worker(session, self.id, socket.gethostname(), os.getpid())

    async def _register_when_free(self) -> None:
        """On SQLite, a sender that crashed a moment ago still looks alive until its heartbeat
        goes stale; wait that long before saying another sender is running."""
        deadline = (
            time.monotonic() + self.config.stale_after.total_seconds() + self.config.heartbeat
        )
        while True:
            try:
                await self._run_db(self._register)
                return
            except AnotherSenderRunning:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(self.config.heartbeat / 2)

    def request_stop(self) -> None:
        """Finish the batch in hand, hand back what is unsent, and return.

        Safe to call from any thread (a signal handler, a server shutting down)."""
        self._stop_asked = True
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._stop.set()
        else:
            loop.call_soon_threadsafe(self._stop.set)

    @property
    def stopped(self) -> bool:
        return self._stop_asked

    # --- the loop ----------------------------------------------------------------------

    async def run(self, *, until_idle: bool) -> Tally:
        """Send until stopped; with ``until_idle``, until this worker's jobs have nothing due
        now or later (finished, paused or cancelled)."""
        self._loop = asyncio.get_running_loop()
        self._database = ThreadPoolExecutor(max_workers=3, thread_name_prefix="sender-db")
        if self._stop_asked:
            self._stop.set()
        try:
            await self._register_when_free()
        except BaseException:
            self._database.shutdown(wait=False)
            raise
        outbox = Outbox(self.settings, smtp=self.smtp)
        watcher = asyncio.create_task(self._watch())
        claiming: asyncio.Task[list[Claimed]] = asyncio.create_task(self._claim())
        try:
            while not self._stop.is_set():
                claimed = await claiming
                if not claimed:
                    if await self._idle() and until_idle:
                        break
                    await self._wait_for_work()
                    claiming = asyncio.create_task(self._claim())
                    continue
                # Claim the next batch while this one is on the wire; each copy of it is
                # recorded as soon as the relay has answered for it (see _send).
                claiming = asyncio.create_task(self._claim())
                await self._send(outbox, claimed)
        finally:
            watcher.cancel()
            if self._writing is not None:
                with contextlib.suppress(Exception):
                    await self._writing
            if not claiming.done():
                claiming.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await claiming
            await outbox.close()
            await asyncio.get_running_loop().run_in_executor(self._database, self._outcomes.close)
            await self._run_db(lambda s: ledger.unregister_worker(s, self.id))
            self._database.shutdown(wait=False)
        return self.tally

    def _report_progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.tally)

    async def _watch(self) -> None:
        """Heartbeat, and notice pause/cancel of our jobs within a fraction of a second."""
        ticks = 0
        interval = 0.25
        beat_every = max(int(self.config.heartbeat / interval), 1)
        while True:
            await asyncio.sleep(interval)
            ticks += 1
            jobs = list(self._jobs) if self.job_ids is None else self.job_ids

            states = await self._run_db(
                partial(self._check_jobs, jobs=jobs, beat=ticks % beat_every == 0)
            )
            self._halted = {job_id for job_id, state in states.items() if state != JobState.active}

    def _check_jobs(self, session: Session, *, jobs: list[int], beat: bool) -> dict[int, JobState]:
        if beat:
            ledger.beat(session.connection(), self.id)
        return ledger.job_states(session, jobs)

    async def _claim(self) -> list[Claimed]:
        limit = self.config.batch
        if self.config.rate or self.config.daily_cap:
            limit = await self._granted(limit)
            if limit == 0:
                return []
        claimed: list[Claimed] = await self._run_db(
            lambda s: ledger.claim(
                s,
                self.id,
                limit=limit,
                lease=self.config.lease,
                stale_after=self.config.stale_after,
                job_ids=self.job_ids,
            )
        )
        unknown = {c.job_id for c in claimed} - set(self._jobs)
        if unknown:
            await self._run_db(lambda s: self._load_jobs(s, unknown))
        return claimed

    async def _granted(self, wanted: int) -> int:
        """Wait for the shared rate limits to allow sending, then take what they allow."""
        while not self._stop.is_set():
            day = utcnow().astimezone(self.settings.tz).date().isoformat()
            granted, wait = await self._run_db(
                partial(
                    ledger.take_tokens,
                    wanted=wanted,
                    per_second=self.config.rate,
                    daily_cap=self.config.daily_cap,
                    day=day,
                )
            )
            if granted:
                return int(granted)
            await asyncio.sleep(min(wait, 1.0))
        return 0

    def _load_jobs(self, session: Session, job_ids: set[int]) -> None:
        for job_id in job_ids:
            job = ledger.get_job(session, job_id)
            self._jobs[job_id] = _Job(job=job, templates=ledger.load_templates(session, job_id))

    async def _idle(self) -> bool:
        """True when our jobs have no open rows (they are then marked done) or are halted.

        A worker for every job (``job_ids`` None) is never idle, but still marks the jobs it
        worked on as done once nothing is left of them.
        """
        jobs = self.job_ids if self.job_ids is not None else list(self._jobs)

        def check(session: Session) -> bool:
            states = ledger.job_states(session, jobs)
            finished = True
            for job_id, state in states.items():
                if state is JobState.active and not ledger.finish_if_done(session, job_id):
                    finished = False
            return finished

        finished = bool(await self._run_db(check))
        return finished and self.job_ids is not None

    async def _wait_for_work(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=0.5)

    async def _send(self, outbox: Outbox, claimed: list[Claimed]) -> None:
        now = utcnow()
        # As many copies in hand as there are connections: a copy is filled only when a
        # connection is free for it (memory stays flat however large the batch), and a pause
        # or a stop takes effect for every copy not yet on the wire. A copy keeps its place
        # until its outcome is in the ledger, so a crash at any moment leaves at most that
        # many copies sent but not recorded: the only ones a restart can send twice.
        slots = asyncio.Semaphore(outbox.config.pool_size)

        async def send_one(row: Claimed) -> None:
            async with slots:
                self._in_hand += 1
                try:
                    await self._recorded(await fill_and_send(row))
                finally:
                    self._in_hand -= 1

        async def fill_and_send(row: Claimed) -> tuple[Claimed, Outcome | None, str]:
            if row.job_id in self._halted or self._stop.is_set():
                return row, None, ""
            job = self._jobs[row.job_id]
            template = job.templates.get(row.language) or next(iter(job.templates.values()))
            message_id = message_id_for(job.job.name, row.id, self.domain)
            recipient = Recipient(
                email=row.email,
                name=row.name,
                unsubscribe_url=self.links.unsubscribe(row.token_uid or ERASED, job.job.list_id),
                preferences_url=self.links.preferences(row.token_uid or ERASED),
                message_id=message_id,
            )
            try:
                data = template.fill(recipient, now=now)
            except ValueError as exc:  # an address or value that cannot go in a header
                return row, Outcome(Verdict.failed, None, f"refused before sending: {exc}"), ""
            outcome = await outbox.send(row.email, data, envelope_from=job.job.envelope_from)
            return row, outcome, message_id

        sending = [asyncio.ensure_future(send_one(row)) for row in claimed]
        try:
            await asyncio.gather(*sending)
        except BaseException:  # a ledger write failed: stop the other copies of the batch
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            raise

    async def _recorded(self, done: tuple[Claimed, Outcome | None, str]) -> None:
        """Return once this copy's outcome is committed to the ledger (see _write_outcomes)."""
        written = asyncio.get_running_loop().create_future()
        self._unwritten.append((done, written))
        self._arrived.set()
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_outcomes())
        await written

    async def _write_outcomes(self) -> None:
        """Group commit: one short transaction for a handful of copies, not one per copy.

        A write waits until half the connections have an outcome to record, or every copy in
        hand has one, or GROUP_WAIT has passed, whichever comes first: so the ledger takes a
        few hundred small transactions a second at full speed, not thousands, and no copy
        waits long for its own.
        """
        loop = asyncio.get_running_loop()
        while self._unwritten:
            deadline = loop.time() + GROUP_WAIT
            while (
                len(self._unwritten) < self._group_size
                and len(self._unwritten) < self._in_hand
                and loop.time() < deadline
            ):
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            group, self._unwritten = self._unwritten, []
            try:
                await loop.run_in_executor(
                    self._database,
                    self._outcomes.write,
                    partial(self._record, done=[done for done, _ in group]),
                )
            except Exception as exc:  # the sender stops; the rows stay claimed, none is lost
                for _, written in group:
                    if not written.done():  # its copy may have been cancelled meanwhile
                        written.set_exception(exc)
                continue
            for _, written in group:
                if not written.done():
                    written.set_result(None)
            self._report_progress()

    def _record(self, session: Session, *, done: list[tuple[Claimed, Outcome | None, str]]) -> None:
        results: list[Result] = []
        unsent: list[int] = []
        for row, outcome, message_id in done:
            if outcome is None:
                unsent.append(row.id)
                continue
            final = outcome.verdict is Verdict.failed or (
                outcome.verdict is Verdict.deferred and row.attempts + 1 >= self.config.max_attempts
            )
            self.tally.add(outcome, final)
            if outcome.verdict is Verdict.sent:
                status, next_at = DeliveryStatus.sent, None
                self._failures_in_row[row.job_id] = 0
            else:
                status = DeliveryStatus.failed if final else DeliveryStatus.deferred
                next_at = (
                    None if final else ledger.retry_at(row.attempts + 1, self.config.retry_base)
                )
                self._failures_in_row[row.job_id] += 1
                if outcome.verdict is Verdict.failed and outcome.recipient_refused:
                    suppress(session, row.email, SuppressionReason.hard_bounce)
            results.append(
                Result(row.id, status, outcome.code, outcome.reply, message_id or None, next_at)
            )
        ledger.record(session, self.id, results)
        if unsent:
            ledger.release(session, self.id, unsent)
        for job_id, failures in self._failures_in_row.items():
            if failures >= self.config.pause_after_failures:
                last = next(
                    (r.reply for r in reversed(results) if r.status is not DeliveryStatus.sent), ""
                )
                ledger.set_job_state(
                    session,
                    job_id,
                    JobState.paused,
                    f"paused after {failures} failures in a row; last reply: {last[:200]}",
                )
                self._halted.add(job_id)
                self._failures_in_row[job_id] = 0
