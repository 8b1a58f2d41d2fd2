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
from collections import Counter, deque
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
from publisher.delivery import ledger, limits
from publisher.delivery.bounces import handle_event
from publisher.delivery.bounces.parse import enhanced_status
from publisher.delivery.ledger import Claimed, Result
from publisher.delivery.limits import Hold
from publisher.delivery.models import DeliveryStatus, JobState, SendJob
from publisher.delivery.outbox import Outbox, verp_address
from publisher.delivery.reasons import RELAY_REFUSED, TOO_MANY_FAILED, pause_reason
from publisher.delivery.smtp import Outcome, SmtpConfig, Verdict
from publisher.i18n import format_moment
from publisher.links import SubscriberLinks
from publisher.mail.message import MessageTemplate, Recipient, message_id_for, sender_domain

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
    pause_window: int = 50
    pause_failure_rate: float = 0.5
    reconnect_base: timedelta = timedelta(seconds=5)
    reconnect_max: timedelta = timedelta(minutes=5)
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
            pause_window=settings.pause_window,
            pause_failure_rate=settings.pause_failure_rate,
            reconnect_base=timedelta(seconds=settings.smtp_reconnect_base),
            reconnect_max=timedelta(seconds=settings.smtp_reconnect_max),
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
    relay_troubles: int = 0
    """Times the relay could not be reached, dropped the connection, timed out or said 421."""
    relay_waits_until: datetime | None = None
    """While the relay is in trouble: when the sender tries it again."""
    held: Hold | None = None
    """Why the sender stopped or waits without sending (the sending window, the daily cap)."""

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


@dataclass
class FirstAttempts:
    """The stop rule's window: whether each of a job's latest first attempts failed.

    Only first attempts count. A retry batch holds nothing but the few deferred mailboxes
    (greylisted, full), so its failures say nothing about the relay; a relay that refuses
    everything shows at once among the first attempts.
    """

    size: int
    failed: deque[bool] = field(default_factory=deque)
    last_failure: str = ""

    def add(self, outcome: Outcome) -> None:
        failed = outcome.verdict is not Verdict.sent
        self.failed.append(failed)
        if failed:
            self.last_failure = _reason(outcome)
        if len(self.failed) > self.size:
            self.failed.popleft()

    def verdict(self, rate: float) -> str | None:
        """Why the job should pause, once the window is full and too many of it failed."""
        failures = sum(self.failed)
        if len(self.failed) < self.size or failures < rate * self.size:
            return None
        return pause_reason(
            TOO_MANY_FAILED,
            failures=failures,
            window=self.size,
            limit=f"{rate:.0%}",
            reply=self.last_failure,
        )


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
        self._first_attempts: dict[int, FirstAttempts] = {}
        self._pausing: dict[int, str] = {}
        """Jobs the stop rule (or the relay's refusal) halted, with why: paused at the next
        record."""
        self._paused_here: set[int] = set()
        """Jobs this worker paused whose pause the watch has not read back yet: a read begun
        before the pause was committed must not make them active again."""
        self._relay_until: datetime | None = None
        self._relay_failures = 0
        self._held: Hold | None = None
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
                tz = self.settings.tz  # said in English, like the rest of the command line
                raise AnotherSenderRunning(
                    f"another sender is running on this SQLite database ({other.host}, "
                    f"pid {other.pid}, since {format_moment(other.started_at, 'en', tz)}); "
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
        outbox = Outbox(self.settings, smtp=self.smtp, engine=self.engine)
        watcher = asyncio.create_task(self._watch())
        claiming: asyncio.Task[list[Claimed]] = asyncio.create_task(self._claim())
        try:
            while not self._stop.is_set():
                claimed = await claiming
                if not claimed:
                    if await self._idle() and until_idle:
                        break
                    if self._held is not None:
                        if until_idle:
                            break  # the rows stay queued; the job runner resumes the job
                        await self._wait_until(self._held.until)
                        self._held = self.tally.held = None
                    else:
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
            self._take_states(states)

    def _take_states(self, states: dict[int, JobState]) -> None:
        """Our jobs' states as the store has them: halted unless active, or paused by us."""
        halted = {job_id for job_id, state in states.items() if state != JobState.active}
        self._paused_here -= halted
        self._halted = halted | self._paused_here

    def _check_jobs(self, session: Session, *, jobs: list[int], beat: bool) -> dict[int, JobState]:
        if beat:
            ledger.beat(session.connection(), self.id)
        return ledger.job_states(session, jobs)

    async def _claim(self) -> list[Claimed]:
        """Claim a batch when the relay, the sending window and the limits allow it: while
        they do not, no row is held (another sender, or a later one, may take them)."""
        await self._wait_until(self._relay_until)
        hold = limits.window_hold(self.settings)
        if hold is not None:
            self._held = self.tally.held = hold
            return []
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
        """Wait for the shared rate limit to allow sending, then take what it allows; 0 when
        the relay's daily cap is met (the sender is then held until the next day)."""
        while not self._stop.is_set():
            granted, wait = await self._run_db(
                partial(
                    ledger.take_tokens,
                    wanted=wanted,
                    relay=self.smtp.relay,
                    per_second=self.config.rate,
                    daily_cap=self.config.daily_cap,
                    day=limits.cap_day(self.settings),
                )
            )
            if granted:
                return int(granted)
            if not wait:
                self._held = self.tally.held = limits.cap_hold(self.settings)
                return 0
            await asyncio.sleep(min(wait, 1.0))
        return 0

    async def _wait_until(self, moment: datetime | None) -> None:
        """Until ``moment`` by the clock (which a test may move), a stop, or a halt of every
        job this sender serves; looking often, so a moved clock is noticed at once."""
        while moment is not None and not self._stop.is_set():
            left = (moment - utcnow()).total_seconds()
            if left <= 0:
                return
            if self.job_ids is not None and set(self.job_ids) <= self._halted:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=min(left, 0.25))

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
                if state == JobState.active and not ledger.finish_if_done(session, job_id):
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
            if not self._may_send(row):
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
            sender = verp_address(job.job.envelope_from, row.id, self.links.tokens)
            outcome = await outbox.send(row.email, data, envelope_from=sender)
            if self._relay_in_trouble(row, outcome):
                return row, None, ""  # handed back as it was: not an attempt of theirs
            if row.attempts == 0:
                self._judge(row.job_id, outcome)
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

    def _may_send(self, row: Claimed) -> bool:
        """Whether this copy may go on the wire now: its job is not halted, nobody asked us to
        stop, the relay is not in trouble and the sending window is open."""
        if row.job_id in self._halted or row.job_id in self._pausing or self._stop.is_set():
            return False
        if self._relay_until is not None and utcnow() < self._relay_until:
            return False
        return not self.settings.sending_window or limits.window_hold(self.settings) is None

    def _relay_in_trouble(self, row: Claimed, outcome: Outcome) -> bool:
        """Back off from a relay that could not be reached, dropped, timed out or said 421,
        doubling the wait up to ``reconnect_max``; True if the copy is to be handed back
        unsent. A connection lost during DATA backs off too, but is the copy's attempt (the
        relay may have kept it)."""
        lost = outcome.verdict is Verdict.deferred and outcome.code is None
        if not (outcome.relay_trouble or lost):
            self._relay_failures = 0
            self.tally.relay_waits_until = None
            return False
        if outcome.relay_trouble and outcome.verdict is Verdict.failed:
            # 5xx to the greeting or the login: waiting will not help; staff must look.
            self._pausing[row.job_id] = pause_reason(RELAY_REFUSED, reply=_reason(outcome))
            return True
        now = utcnow()
        if self._relay_until is None or now >= self._relay_until:  # once per closed spell
            self._relay_failures += 1
            wait = min(
                self.config.reconnect_base * 2 ** (self._relay_failures - 1),
                self.config.reconnect_max,
            )
            self._relay_until = self.tally.relay_waits_until = now + wait
            self.tally.relay_troubles += 1
            self.tally.reasons[_reason(outcome)] += 1
        return outcome.relay_trouble

    def _judge(self, job_id: int, outcome: Outcome) -> None:
        """The stop rule, on each first attempt as its reply comes in."""
        window = self._first_attempts.setdefault(job_id, FirstAttempts(self.config.pause_window))
        window.add(outcome)
        reason = window.verdict(self.config.pause_failure_rate)
        if reason is not None:
            self._pausing[job_id] = reason
            del self._first_attempts[job_id]

    def _pause_halted(self, session: Session) -> None:
        """Pause the jobs the stop rule halted (unless staff cancelled or paused them since)."""
        for job_id in list(self._pausing):
            self._paused_here.add(job_id)
            self._halted.add(job_id)
            reason = self._pausing.pop(job_id)
            if ledger.job_states(session, [job_id]).get(job_id) == JobState.active:
                ledger.set_job_state(session, job_id, JobState.paused, reason)

    def _record(self, session: Session, *, done: list[tuple[Claimed, Outcome | None, str]]) -> None:
        results: list[Result] = []
        unsent: list[int] = []
        refused: list[tuple[Claimed, Outcome]] = []
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
            else:
                status = DeliveryStatus.failed if final else DeliveryStatus.deferred
                next_at = (
                    None if final else ledger.retry_at(row.attempts + 1, self.config.retry_base)
                )
                if outcome.verdict is Verdict.failed and outcome.recipient_refused:
                    refused.append((row, outcome))
            results.append(
                Result(row.id, status, outcome.code, outcome.reply, message_id or None, next_at)
            )
        ledger.record(session, self.id, results)
        for row, outcome in refused:
            self._bounced_at_rcpt(session, row, outcome)
        if unsent:
            ledger.release(session, self.id, unsent)
        self._pause_halted(session)

    def _bounced_at_rcpt(self, session: Session, row: Claimed, outcome: Outcome) -> None:
        """A 5xx at RCPT is a bounce like a DSN, and goes through the same policy: 5.1.x
        suppresses at once, 5.2.2 is counted soft, a refusal of the relay's own (5.7.1
        "relay denied") is kept as ``other``. A reply without an enhanced code is a failure
        without a code, which the policy counts soft, as it does a DSN that gives none.
        Recorded in this same transaction, so a refusal is never lost nor counted twice."""
        reply = f"{outcome.code} {outcome.reply}".strip()
        handle_event(
            session,
            self.settings,
            source="smtp",
            delivery_id=row.id,
            action="failed",
            status=enhanced_status(outcome.reply),
            diagnostic=reply,
            event_id=f"rcpt:{row.id}:{row.attempts + 1}",
        )
