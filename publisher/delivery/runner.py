"""The sender runner: the one way a sender is started, watched and stopped in a process.

Every shell asks the process's :class:`Senders` (the web app's lifespan owns one, a CLI
command makes one): the admin's "approve & send", the API, the schedule, ``digest send``,
``publisher worker`` and ``serve`` resuming a send a restart interrupted. So a send is the
same thing wherever it was started, visible in the same places, and stopped the same way:
each sender finishes the batch in hand and hands the rest back to the ledger.

Each sender runs in a thread of its own with its own event loop, so sending never blocks a
web request or a terminal. The ledger's claims make sure nobody gets two copies, however many
senders in however many processes work on one job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType

from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.config import Settings
from publisher.delivery import ledger, limits
from publisher.delivery.smtp import SmtpConfig
from publisher.delivery.worker import AnotherSenderRunning, SendWorker, Tally, WorkerConfig
from publisher.logs import event

log = logging.getLogger(__name__)

EVERY_JOB = "every job"


@dataclass
class Sending:
    """One sender at work in this process: what it serves, what it has done, how it ended."""

    job_ids: tuple[int, ...] | None
    """The jobs it sends; ``None``: every active job (``publisher worker``)."""
    started_by: str
    worker: SendWorker
    until_idle: bool = True
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    refused: AnotherSenderRunning | None = None
    """SQLite allows one sender at a time and another process has it."""
    again: bool = False
    """Asked to start while finishing (resumed just as it saw a pause): run once more."""

    @property
    def tally(self) -> Tally:
        return self.worker.tally

    @property
    def running(self) -> bool:
        return not self.done.is_set()

    @property
    def stopped(self) -> bool:
        """Asked to stop (a signal, a shutdown) rather than finished."""
        return self.worker.stopped

    def stop(self) -> None:
        self.worker.request_stop()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def wait_forever(self) -> None:
        """Until the sender ends, waking often so that a terminal's signals are handled."""
        while not self.done.wait(0.5):
            pass

    def progress(self, every: float = 0.25) -> Iterator[Tally]:
        """The tally every ``every`` seconds until the sender ends, then once more."""
        while not self.done.wait(every):
            yield self.tally
        yield self.tally


class Senders:
    """This process's senders, by job; the only place a :class:`SendWorker` is made."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        config: WorkerConfig | None = None,
        smtp: SmtpConfig | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.config = config or WorkerConfig.from_settings(settings)
        self.smtp = smtp
        self._lock = threading.Lock()
        self._sendings: dict[int | str, Sending] = {}

    def start(
        self,
        job_id: int | None,
        *,
        by: str,
        until_idle: bool = True,
        on_progress: Callable[[Tally], None] | None = None,
    ) -> Sending:
        """Send the job (``None``: every job, until stopped) unless this process already does.

        Returns the sending that now serves it; a second request for a job that is being
        finished makes that sending look once more before it ends.
        """
        key: int | str = EVERY_JOB if job_id is None else job_id
        with self._lock:
            current = self._sendings.get(key)
            if current is not None and current.running:
                current.again = True
                return current
            job_ids = None if job_id is None else (job_id,)
            worker = self._worker(job_ids, on_progress)
            sending = Sending(job_ids, by, worker, until_idle=until_idle)
            self._sendings[key] = sending
            event(log, "sending started", job=job_id if job_id is not None else EVERY_JOB, by=by)
            thread = threading.Thread(
                target=self._run, args=(sending,), name=f"sender-{key}", daemon=True
            )
            thread.start()
            return sending

    def _worker(
        self,
        job_ids: tuple[int, ...] | None,
        on_progress: Callable[[Tally], None] | None,
        tally: Tally | None = None,
    ) -> SendWorker:
        worker = SendWorker(
            self.engine,
            self.settings,
            job_ids=job_ids,
            config=self.config,
            smtp=self.smtp,
            on_progress=on_progress,
        )
        if tally is not None:
            worker.tally = tally  # a second round of the same sending counts on
        return worker

    def _run(self, sending: Sending) -> None:
        while True:
            try:
                asyncio.run(sending.worker.run(until_idle=sending.until_idle))
                sending.error = None
            except AnotherSenderRunning as exc:
                sending.refused = exc
                sending.error = str(exc)
                log.info("sender for %s not started: %s", sending.job_ids or EVERY_JOB, exc)
            except Exception as exc:  # the ledger keeps every row safe; say what stopped it
                log.exception("sender for %s stopped", sending.job_ids or EVERY_JOB)
                sending.error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                if not sending.again or sending.stopped or sending.refused is not None:
                    sending.done.set()
                    return
                sending.again = False
                # A worker belongs to the event loop it ran in: the next round gets a new one.
                old = sending.worker
                sending.worker = self._worker(sending.job_ids, old.on_progress, old.tally)

    def get(self, job_id: int) -> Sending | None:
        """This process's sending of the job, running or finished, if it had one."""
        with self._lock:
            return self._sendings.get(job_id)

    def is_sending(self, job_id: int) -> bool:
        """Whether anyone sends the job now: a sender of this process, or a live one anywhere."""
        with self._lock:
            for key in (job_id, EVERY_JOB):
                sending = self._sendings.get(key)
                if sending is not None and sending.running:
                    return True
        with Session(self.engine) as session:
            return ledger.in_hand(session, job_id, self.config.stale_after)

    def resume_waiting(self) -> list[int]:
        """Start a sender for every active job that has rows due and nobody sending them:
        what a restart, a crash or a stopped terminal left half sent, and what waited for
        the sending window or the daily cap, once they allow it. Returns the jobs."""
        relay = (self.smtp or SmtpConfig.from_settings(self.settings)).relay
        with Session(self.engine) as session:
            if limits.held(session, self.settings, relay) is not None:
                return []
            due = ledger.jobs_with_rows_due(session, self.config.stale_after)
        started = []
        for job_id in due:
            if not self.is_sending(job_id):
                self.start(job_id, by="resumed by the server")
                started.append(job_id)
        return started

    def stop_all(self, timeout: float = 30.0) -> None:
        """Ask every sender to finish its batch and hand back the rest, and wait for them."""
        with self._lock:
            sendings = [s for s in self._sendings.values() if s.running]
        for sending in sendings:
            sending.stop()
        for sending in sendings:
            if not sending.wait(timeout):
                log.warning("sender for %s did not stop in %s s", sending.job_ids, timeout)

    @contextlib.contextmanager
    def stopped_by_signals(
        self, signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM)
    ) -> Iterator[None]:
        """While the block runs, Ctrl+C or SIGTERM ask every sender to stop cleanly instead
        of killing the process with recipients still claimed (a terminal command)."""

        def ask(signum: int, frame: FrameType | None) -> None:
            with self._lock:
                sendings = list(self._sendings.values())
            for sending in sendings:
                sending.stop()

        previous = {signum: signal.signal(signum, ask) for signum in signals}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
