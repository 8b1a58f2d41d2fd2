"""The schedule: each list's digest goes out on its own, at a local day and time from settings.

``[[schedule]]`` tables in ``config/publisher.toml`` (see :class:`publisher.config.ScheduleEntry`)
say when. ``publisher serve`` runs :class:`DigestScheduler` in-process (APScheduler, with cron
triggers in the site's time zone, so "Friday 12:00" stays 12:00 across daylight saving); cron
or a systemd timer calling ``publisher digest send --yes`` does the same from outside.

A firing asks :mod:`publisher.digests.editions` for the edition of (list, period), which is
unique in the database: however many schedulers (processes, machines, cron next to
``serve``) fire at once, there is one edition and every recipient is mailed once. A list whose
schedule says ``approval = true`` only gets a draft edition, which waits for staff.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine

from publisher.config import ScheduleEntry, Settings
from publisher.db import session_scope
from publisher.delivery.worker import AnotherSenderRunning, SendWorker
from publisher.digests.content import articles_for
from publisher.digests.editions import (
    NothingToSend,
    approve,
    get_or_create_edition,
    send_edition,
)
from publisher.digests.models import EditionStatus
from publisher.digests.periods import Period, PeriodKind, current_period, period_containing
from publisher.subscribers.lists import ListNotFound, get_list

log = logging.getLogger(__name__)

DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
MISFIRE_GRACE = timedelta(hours=6)
"""A run missed while the server was down (a restart at 12:00) still happens if the server is
back within this time; later than that, staff send by hand rather than surprise residents."""


class RunOutcome(enum.StrEnum):
    drafted = "drafted"
    """Approval required: the draft edition exists and waits for staff."""
    approved = "approved"
    """Approved now (by this run or a concurrent one) and sent."""
    nothing = "nothing to send"
    unknown_list = "unknown list"


@dataclass(frozen=True)
class ScheduledRun:
    """What one firing did, for logs and the ``serve`` console."""

    entry: ScheduleEntry
    period: Period
    outcome: RunOutcome
    edition_id: int | None = None
    message: str = ""


def describe(entry: ScheduleEntry) -> str:
    """``every Friday at 12:00`` (several days: ``every Monday, Thursday at 07:30``)."""
    days = ", ".join(DAY_NAMES[day] for day in entry.day.split(","))
    return f"every {days} at {entry.time}"


def trigger_for(entry: ScheduleEntry, tz: ZoneInfo) -> CronTrigger:
    """The cron trigger of an entry, in local time (wall-clock, whatever the UTC offset)."""
    return CronTrigger(day_of_week=entry.day, hour=entry.hour, minute=entry.minute, timezone=tz)


def next_run(entry: ScheduleEntry, tz: ZoneInfo, after: datetime) -> datetime:
    """The first run strictly after ``after`` (an aware datetime), in ``tz``."""
    fire = trigger_for(entry, tz).get_next_fire_time(None, after + timedelta(microseconds=1))
    assert fire is not None  # a weekly trigger always has a next time
    return fire.astimezone(tz)


def period_for(entry: ScheduleEntry, moment: datetime, tz: ZoneInfo) -> Period:
    """The period an edition made at ``moment`` covers: the one it falls in, or the one before."""
    period = current_period(tz, PeriodKind(entry.period), now=moment)
    if entry.covers == "previous":
        period = period_containing(period.start - timedelta(days=1), period.kind)
    return period


@dataclass(frozen=True)
class Upcoming:
    entry: ScheduleEntry
    at: datetime
    period: Period


def upcoming(settings: Settings, now: datetime | None = None) -> list[Upcoming]:
    """Each schedule's next run and the period it will cover, soonest first."""
    tz = settings.tz
    moment = now or datetime.now(tz)
    runs = []
    for entry in settings.schedule:
        at = next_run(entry, tz, moment)
        runs.append(Upcoming(entry, at, period_for(entry, at, tz)))
    return sorted(runs, key=lambda run: run.at)


def prepare(
    engine: Engine, settings: Settings, entry: ScheduleEntry, moment: datetime
) -> ScheduledRun:
    """The edition part of a run: a draft (approval required) or an approved edition.

    Safe to call from any number of schedulers at once: ``get_or_create_edition`` and
    ``approve`` let the database decide, so they all end up with the same edition.
    """
    period = period_for(entry, moment, settings.tz)
    with session_scope(engine) as session:
        try:
            mailing_list = get_list(session, entry.list)
        except ListNotFound as exc:
            return ScheduledRun(entry, period, RunOutcome.unknown_list, message=str(exc))
        if entry.approval:
            if not articles_for(session, mailing_list, period, settings):
                return ScheduledRun(
                    entry, period, RunOutcome.nothing, message=f"no articles in {period.key}"
                )
            edition = get_or_create_edition(session, mailing_list, period)
            if edition.status == EditionStatus.draft:
                return ScheduledRun(
                    entry,
                    period,
                    RunOutcome.drafted,
                    edition.id,
                    f"{entry.list}/{period.key} waits for approval in the admin",
                )
            return ScheduledRun(entry, period, RunOutcome.approved, edition.id, "already approved")
        try:
            edition = approve(
                session,
                settings,
                mailing_list,
                period,
                approved_by=f"schedule ({describe(entry)})",
            )
        except NothingToSend as exc:
            return ScheduledRun(entry, period, RunOutcome.nothing, message=str(exc))
        return ScheduledRun(entry, period, RunOutcome.approved, edition.id)


class DigestScheduler:
    """The in-process schedule ``publisher serve`` runs: APScheduler in a background thread.

    Each firing runs in APScheduler's worker threads, so sending never blocks web requests.
    :meth:`stop` asks running senders to finish their batch and hand back the rest (as
    Ctrl+C does for ``digest send``), so a restart loses nobody and mails nobody twice.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        on_run: Callable[[ScheduledRun], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.on_run = on_run
        self.clock = clock or (lambda: datetime.now(settings.tz))
        self.scheduler = BackgroundScheduler(timezone=settings.tz)
        self._senders: list[tuple[asyncio.AbstractEventLoop, SendWorker]] = []
        self._lock = threading.Lock()
        for index, entry in enumerate(settings.schedule):
            self.scheduler.add_job(
                self.fire,
                trigger_for(entry, settings.tz),
                args=[entry],
                id=f"digest-{index}",
                name=f"{entry.list}: {describe(entry)}",
                misfire_grace_time=int(MISFIRE_GRACE.total_seconds()),
                coalesce=True,
                max_instances=1,
            )

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        with self._lock:
            for loop, sender in self._senders:
                loop.call_soon_threadsafe(sender.request_stop)
        self.scheduler.shutdown(wait=True)

    def fire(self, entry: ScheduleEntry) -> ScheduledRun:
        """One run: prepare the edition, then (no approval needed) send it to the end."""
        run = prepare(self.engine, self.settings, entry, self.clock())
        log.info("schedule %s %s: %s %s", entry.list, run.period.key, run.outcome, run.message)
        if run.outcome is RunOutcome.approved and not entry.approval and run.edition_id:
            run = self._send(run)
        if self.on_run is not None:
            self.on_run(run)
        return run

    def _send(self, run: ScheduledRun) -> ScheduledRun:
        async def send() -> str:
            holder: list[SendWorker] = []
            task = asyncio.ensure_future(
                send_edition(self.engine, self.settings, run.edition_id or 0, worker=holder)
            )
            await asyncio.sleep(0)  # let send_edition create its worker
            entry = (asyncio.get_running_loop(), holder[0]) if holder else None
            if entry is not None:
                with self._lock:
                    self._senders.append(entry)
            try:
                tally = await task
            finally:
                if entry is not None:
                    with self._lock:
                        self._senders.remove(entry)
            return f"sent {tally.sent}, deferred {tally.deferred}, failed {tally.failed}"

        try:
            message = asyncio.run(send())
        except AnotherSenderRunning:
            message = "another sender is sending it (SQLite allows one at a time)"
        return ScheduledRun(run.entry, run.period, run.outcome, run.edition_id, message)


def send_in_background(
    engine: Engine, settings: Settings, edition_id: int, *, name: str = "digest-send"
) -> threading.Thread:
    """Send an approved edition from a thread and return at once (the API's approve-and-send).

    Not a daemon: a server shutting down lets the batch in hand finish. If another sender
    (a worker, the schedule) already sends it, this one only logs that and ends.
    """

    def run() -> None:
        try:
            tally = asyncio.run(send_edition(engine, settings, edition_id))
        except AnotherSenderRunning as exc:
            log.info("edition %s: %s", edition_id, exc)
            return
        log.info(
            "edition %s: sent %s, deferred %s, failed %s",
            edition_id,
            tally.sent,
            tally.deferred,
            tally.failed,
        )

    thread = threading.Thread(target=run, name=name, daemon=False)
    thread.start()
    return thread
