"""The job runner: scheduled work, run by exactly one process at a time.

The digest schedule, resuming sends that a restart or crash interrupted (expired leases),
reading the bounce mailbox (every ``bounce_imap_every`` seconds, when ``bounce_imap_url`` is
set), telling the WebSub hub when scheduled articles go public (when ``websub_hub`` is set),
the daily purge of personal data kept past its time (at :data:`PURGE_AT`, unless both
``purge_*`` settings are 0), and the jobs later issues add (polling sources) are registered
here and nowhere else. However many ``serve`` processes share a database, one runs
them: on PostgreSQL the holder of a session advisory lock (it dies with the process's
connection, and another process takes over at its next try, within ``jobs_poll`` seconds); on
SQLite the ``serve`` that holds a lock file beside the database. ``serve --no-jobs`` starts a
web process that never tries.

Only the shells (``serve``) start a runner; it sits above the domain and calls into it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from publisher.articles.store import came_public
from publisher.clock import local_now, utcnow
from publisher.config import ScheduleEntry, Settings
from publisher.delivery.bounces.mailbox import MailboxError, fetch_bounces
from publisher.delivery.retention import plan_purge, purge
from publisher.delivery.runner import Senders
from publisher.digests.schedule import (
    MISFIRE_GRACE,
    ScheduledRun,
    describe,
    fire,
    owed,
    trigger_for,
)
from publisher.feeds.websub import notify_hub_of_changes

log = logging.getLogger(__name__)

ANNOUNCE_EVERY = 60.0
"""Seconds between looks for scheduled articles that went public (and a WebSub ping)."""
PURGE_AT = (3, 30)
"""The daily retention purge, on the site's wall clock: a quiet hour, after the night's
bounces and before anyone sends. Missed (no process ran), it runs within the hour after."""
PURGE_ACTOR = "schedule (daily retention purge)"


def lock_key(connection: Connection) -> int:
    """The advisory lock of this installation: one per database and schema, so that two
    installations sharing a PostgreSQL server (or tests in schemas of their own) do not
    stand in each other's way."""
    where = connection.execute(text("SELECT current_database() || '.' || current_schema()"))
    return zlib.crc32(f"publisher-jobs:{where.scalar_one()}".encode())


class Leadership:
    """Who runs the jobs: try to become it, know whether we are, let go."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._key = 0

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None

    def try_take(self) -> bool:
        """True if this process runs the jobs now (taken now, or still held)."""
        with self._lock:
            if self.engine.dialect.name == "postgresql":
                return self._postgresql()
            return self._sqlite()

    def _postgresql(self) -> bool:
        if self._connection is not None:
            try:  # still ours while our connection lives
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception:
                self._drop_connection()
        # Autocommit: the lock is the session's, and no transaction stays open while held
        # (an idle transaction would hold back VACUUM for as long as this process leads).
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            self._key = lock_key(connection)
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            ).scalar_one()
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def _sqlite(self) -> bool:
        if self._file is not None:
            return True
        database = self.engine.url.database
        if not database or database == ":memory:":
            return True  # one process by definition
        handle = Path(f"{database}.jobs-lock").open("ab")  # noqa: SIM115 (held while leading)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def release(self) -> None:
        with self._lock:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                    )
                self._drop_connection()
            if self._file is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
                self._file.close()
                self._file = None


class JobRunner:
    """APScheduler in a background thread; every job runs only while we hold leadership."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        senders: Senders,
        *,
        on_run: Callable[[ScheduledRun], None] | None = None,
        on_lead: Callable[[bool], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.senders = senders
        self.on_run = on_run
        self.on_lead = on_lead
        self.leadership = Leadership(engine)
        self._announced: bool | None = None
        self._leading = threading.Lock()
        self._fetching = threading.Lock()
        self.scheduler = BackgroundScheduler(timezone=settings.tz)
        self._every(
            settings.jobs_poll, self._lead, "leadership", "take over the jobs if nobody runs them"
        )
        self._every(
            settings.jobs_resume_every, self._resume, "resume-sending", "resume interrupted sends"
        )
        self._public_until = utcnow()
        if settings.websub_hub:
            self._every(
                ANNOUNCE_EVERY,
                self._announce_scheduled,
                "announce-scheduled",
                "tell the WebSub hub when scheduled articles go public",
            )
        if settings.bounce_imap_url:
            self._every(
                settings.bounce_imap_every,
                self._fetch_bounces,
                "fetch-bounces",
                "read the bounce mailbox",
            )
        if settings.purge_unconfirmed_days or settings.purge_delivery_months:
            self.scheduler.add_job(
                self._purge,
                CronTrigger(hour=PURGE_AT[0], minute=PURGE_AT[1], timezone=settings.tz),
                id="retention-purge",
                name="delete or anonymise personal data kept past its time",
                misfire_grace_time=3600,
                coalesce=True,
                max_instances=1,
            )
        for index, entry in enumerate(settings.schedule):
            self.scheduler.add_job(
                self._fire,
                trigger_for(entry, settings.tz),
                args=[entry],
                id=f"digest-{index}",
                name=f"{entry.list}: {describe(entry)}",
                misfire_grace_time=int(MISFIRE_GRACE.total_seconds()),
                coalesce=True,
                max_instances=1,
            )

    @property
    def leading(self) -> bool:
        return self.leadership.held

    def start(self) -> None:
        self.scheduler.start()
        self.scheduler.add_job(self._lead, id="leadership-now", name="take the jobs at start")

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.leadership.release()

    # --- the jobs --------------------------------------------------------------------------

    def _every(self, seconds: float, job: Callable[[], object], job_id: str, name: str) -> None:
        """A periodic job of this runner: never two runs of it at once, missed runs merged."""
        self.scheduler.add_job(
            job,
            IntervalTrigger(seconds=seconds),
            id=job_id,
            name=name,
            coalesce=True,
            max_instances=1,
        )

    def _lead(self) -> None:
        with self._leading:  # the start-up try and the periodic one must not overlap
            self._try_to_lead()

    def _try_to_lead(self) -> None:
        was = self.leading
        try:
            now = self.leadership.try_take()
        except Exception:
            log.exception("could not ask the database who runs the jobs")
            return
        if now != self._announced:
            self._announced = now
            if now:
                log.info("this process (pid %s) runs the scheduled jobs", os.getpid())
            else:
                log.info("another process runs the scheduled jobs; this one stands by")
            if self.on_lead is not None:
                self.on_lead(now)
        if now and not was:
            self._catch_up()
            if self.settings.bounce_imap_url:  # bounces that came while nobody read them
                self.scheduler.add_job(
                    self._fetch_bounces, id="fetch-bounces-now", replace_existing=True
                )

    def _catch_up(self) -> None:
        """Runs owed from before we took over (a restart at 12:00), then interrupted sends."""
        for entry, fire_at in owed(self.engine, self.settings, local_now(self.settings.tz)):
            self._run(entry, fire_at)
        self._resume()

    def _resume(self) -> None:
        if not self.leading:
            return
        started = self.senders.resume_waiting()
        if started:
            log.info("resumed the interrupted send jobs %s", started)

    def _announce_scheduled(self) -> None:
        """Scheduled articles go public with no write to the store: ping the hub for them."""
        if not self.leading:
            return
        since, until = self._public_until, utcnow()
        with Session(self.engine) as session:
            topics = came_public(session, since, until)
        self._public_until = until
        if topics is not None:
            notify_hub_of_changes(self.engine, self.settings, topics)

    def _fetch_bounces(self) -> None:
        if not self.leading:
            return
        with self._fetching:  # the periodic read and the one at take-over never overlap
            try:
                run = fetch_bounces(self.engine, self.settings)
            except MailboxError as exc:
                log.warning("bounces: %s", exc)
                return
            except Exception:
                log.exception("bounces: reading the mailbox failed")
                return
        for result in run.results:
            if result.error is not None:
                log.warning("bounces: %s UID %s: %s", run.mailbox, result.uid, result.error)
        if run.results:
            log.info(
                "bounces: %s: %d new message(s), %d moved, %d error(s)",
                run.mailbox,
                len(run.results),
                sum(1 for result in run.results if result.moved),
                run.errors,
            )

    def _purge(self) -> None:
        if not self.leading:
            return
        try:
            with Session(self.engine) as session:
                result = purge(session, plan_purge(session, self.settings), actor=PURGE_ACTOR)
        except Exception:
            log.exception("retention purge failed; it runs again tomorrow")
            return
        log.info("retention purge: %s", result.summary())

    def _fire(self, entry: ScheduleEntry) -> None:
        if self.leading:
            self._run(entry, local_now(self.settings.tz))

    def _run(self, entry: ScheduleEntry, moment: datetime) -> None:
        run = fire(self.engine, self.settings, self.senders, entry, moment)
        log.info("schedule %s %s: %s %s", entry.list, run.period.key, run.outcome, run.message)
        if self.on_run is not None:
            self.on_run(run)
