"""The schedule: each list's digest goes out on its own, at a local day and time from settings.

``[[schedule]]`` tables in ``config/publisher.toml`` (see :class:`publisher.config.ScheduleEntry`)
say when. ``publisher serve`` runs them through the job runner (:mod:`publisher.jobs`, cron
triggers in the site's time zone, so "Friday 12:00" stays 12:00 across daylight saving); cron
or a systemd timer calling ``publisher digest send --yes`` does the same from outside.

A firing asks :mod:`publisher.digests.workflow` for the edition of (list, period), which is
unique in the database: however many schedulers (processes, machines, cron next to
``serve``) fire at once, there is one edition and every recipient is mailed once. A list whose
schedule says ``approval = true`` only gets a draft edition, which waits for staff.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine

from publisher.clock import local_now
from publisher.config import ScheduleEntry, Settings
from publisher.db import session_scope
from publisher.delivery.runner import Senders
from publisher.digests.editions import edition_articles, find_edition, get_or_create_edition
from publisher.digests.models import EditionStatus
from publisher.digests.periods import Period, PeriodKind, current_period, period_containing
from publisher.digests.workflow import (
    AlreadyFinished,
    Decided,
    NoArticles,
    Started,
    send_or_resume,
)
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
"""A run missed while no server ran the jobs (a restart at 12:00) still happens if one is back
within this time (:func:`owed`); later, staff send by hand rather than surprise residents."""


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
    moment = now or local_now(tz)
    runs = []
    for entry in settings.schedule:
        at = next_run(entry, tz, moment)
        runs.append(Upcoming(entry, at, period_for(entry, at, tz)))
    return sorted(runs, key=lambda run: run.at)


def fire(
    engine: Engine,
    settings: Settings,
    senders: Senders | None,
    entry: ScheduleEntry,
    moment: datetime,
) -> ScheduledRun:
    """One run of ``entry`` at ``moment``: a draft (approval required) or the edition sent.

    Safe to call from any number of schedulers at once: ``get_or_create_edition`` and
    :func:`send_or_resume` let the database decide, so they all end up with the same edition
    and every recipient is mailed once. The sending itself runs in ``senders``.
    """
    period = period_for(entry, moment, settings.tz)
    with session_scope(engine) as session:
        try:
            mailing_list = get_list(session, entry.list)
        except ListNotFound as exc:
            return ScheduledRun(entry, period, RunOutcome.unknown_list, message=str(exc))
        if entry.approval:
            existing = find_edition(session, mailing_list, period)
            if not edition_articles(session, settings, mailing_list, period, existing):
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
    run = ScheduledRun(entry, period, RunOutcome.nothing)
    for event in send_or_resume(
        engine, settings, senders, mailing_list, period, by=f"schedule ({describe(entry)})"
    ):
        if isinstance(event, NoArticles):
            run = ScheduledRun(entry, period, RunOutcome.nothing, message=event.message)
        elif isinstance(event, Decided):
            finished = isinstance(event, AlreadyFinished)
            message = f"the edition {event.report.state.described}" if finished else ""
            run = ScheduledRun(entry, period, RunOutcome.approved, event.report.edition.id, message)
        elif isinstance(event, Started):
            run = ScheduledRun(
                entry, period, RunOutcome.approved, run.edition_id, "sending started"
            )
    return run


def missed_run(entry: ScheduleEntry, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The latest run of ``entry`` within :data:`MISFIRE_GRACE` before ``now``, if any: what
    a server that was down (or a scheduler that took over from a dead one) still owes."""
    latest = None
    moment = now - MISFIRE_GRACE
    while (fire_at := next_run(entry, tz, moment)) <= now:
        latest = moment = fire_at
    return latest


def owed(engine: Engine, settings: Settings, now: datetime) -> list[tuple[ScheduleEntry, datetime]]:
    """The runs missed within the grace time whose edition does not exist yet."""
    runs = []
    with session_scope(engine) as session:
        for entry in settings.schedule:
            fire_at = missed_run(entry, settings.tz, now)
            if fire_at is None:
                continue
            try:
                mailing_list = get_list(session, entry.list)
            except ListNotFound:
                continue
            if find_edition(session, mailing_list, period_for(entry, fire_at, settings.tz)) is None:
                runs.append((entry, fire_at))
    return runs
