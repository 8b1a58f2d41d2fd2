"""The digest schedule: local wall-clock runs across DST, approval drafts, concurrent firing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from publisher.cli import app as cli_app
from publisher.config import ScheduleEntry, SettingsError, load_settings
from publisher.db import make_engine
from publisher.delivery.runner import Senders
from publisher.digests.models import Edition, EditionStatus
from publisher.digests.schedule import (
    RunOutcome,
    ScheduledRun,
    fire,
    missed_run,
    next_run,
    owed,
    period_for,
    upcoming,
)
from publisher.jobs import JobRunner
from tests.delivery.sending_support import LIST, LJUBLJANA, SmtpServer, settings_for, stock

FRIDAY_NOON = ScheduleEntry(list=LIST, day="fri", time="12:00")
IN_WEEK_10 = datetime(2025, 3, 7, 12, 0, tzinfo=LJUBLJANA)  # the Friday of 2025-W10


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LJUBLJANA)


def wait_until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not done within {timeout} s"
        time.sleep(0.05)


# --- when -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expected", "utc_hour"),
    [
        (at(2025, 3, 21, 12, 30), at(2025, 3, 28, 12, 0), 11),  # last Friday in CET
        (at(2025, 3, 28, 12, 0), at(2025, 4, 4, 12, 0), 10),  # across the spring change: CEST
        (at(2025, 10, 24, 13, 0), at(2025, 10, 31, 12, 0), 11),  # across the autumn change
        (at(2025, 3, 7, 11, 59), at(2025, 3, 7, 12, 0), 11),  # later the same day
    ],
)
def test_next_run_keeps_the_local_time_across_daylight_saving_changes(
    after: datetime, expected: datetime, utc_hour: int
) -> None:
    run = next_run(FRIDAY_NOON, LJUBLJANA, after)
    assert run == expected
    assert (run.hour, run.minute) == (12, 0) and run.weekday() == 4
    assert run.astimezone(UTC).hour == utc_hour


def test_runs_in_the_hour_daylight_saving_skips_or_repeats_are_kept_and_harmless() -> None:
    entry = ScheduleEntry(list=LIST, day="sun", time="02:30")
    # 30 March 2025: clocks jump from 02:00 to 03:00; the run still happens that night.
    spring = next_run(entry, LJUBLJANA, at(2025, 3, 29, 12, 0))
    assert spring.date() == at(2025, 3, 30, 0, 0).date()
    assert next_run(entry, LJUBLJANA, spring).date() == at(2025, 4, 6, 0, 0).date()
    # 26 October 2025: 02:30 happens twice, and so does the run; the edition of the week is
    # unique, so the second run finds it approved and sends nobody anything again.
    first = next_run(entry, LJUBLJANA, at(2025, 10, 25, 12, 0))
    second = next_run(entry, LJUBLJANA, first)
    assert first.date() == second.date() == at(2025, 10, 26, 0, 0).date()
    assert (second.astimezone(UTC) - first.astimezone(UTC)).total_seconds() == 3600
    assert period_for(entry, first, LJUBLJANA) == period_for(entry, second, LJUBLJANA)


def test_runs_cover_this_period_or_the_previous_one() -> None:
    assert period_for(FRIDAY_NOON, IN_WEEK_10, LJUBLJANA).key == "2025-W10"
    monday = ScheduleEntry(list=LIST, day="mon", time="07:00", covers="previous")
    assert period_for(monday, at(2025, 3, 10, 7, 0), LJUBLJANA).key == "2025-W10"
    monthly = ScheduleEntry(list=LIST, day="mon", time="07:00", period="month", covers="previous")
    assert period_for(monthly, at(2025, 3, 3, 7, 0), LJUBLJANA).key == "2025-02"


def test_settings_read_and_check_schedule_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        '[[schedule]]\nlist = "tedenske-novice"\nday = "Fri"\ntime = "9:05"\n\n'
        '[[schedule]]\nlist = "kultura"\nday = "mon, thu"\ntime = "07:30"\napproval = true\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PUBLISHER_CONFIG", str(good))
    settings = load_settings()
    assert [(e.list, e.day, e.time, e.approval) for e in settings.schedule] == [
        ("tedenske-novice", "fri", "09:05", False),
        ("kultura", "mon,thu", "07:30", True),
    ]
    runs = upcoming(settings, at(2025, 3, 7, 10, 0))  # a Friday, after 09:05
    assert [(run.entry.list, run.at, run.period.key) for run in runs] == [
        ("kultura", at(2025, 3, 10, 7, 30), "2025-W11"),
        ("tedenske-novice", at(2025, 3, 14, 9, 5), "2025-W11"),
    ]

    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[schedule]]\nlist = "Tedenske Novice"\nday = "petek"\ntime = "12.00"\n', encoding="utf-8"
    )
    monkeypatch.setenv("PUBLISHER_CONFIG", str(bad))
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    for key in ("schedule.0.list", "schedule.0.day", "schedule.0.time"):
        assert key in message
    assert "HH:MM" in message and "fri" in message


def test_digest_schedule_command_shows_the_next_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "publisher.toml"
    config.write_text(
        '[[schedule]]\nlist = "tedenske-novice"\nday = "fri"\ntime = "12:00"\n\n'
        '[[schedule]]\nlist = "kultura"\nday = "mon"\ntime = "07:30"\napproval = true\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PUBLISHER_CONFIG", str(config))
    result = CliRunner().invoke(cli_app, ["digest", "schedule"])
    assert result.exit_code == 0, result.output
    assert "every Friday at 12:00" in result.stdout and "every Monday at 07:30" in result.stdout
    assert "staff approve the draft" in result.stdout
    assert "Europe/Ljubljana" in result.stderr  # the title: piped on, stdout holds rows only
    assert " 12.00 (CE" in result.stdout  # CET or CEST, whichever the next Friday has
    runs = json.loads(CliRunner().invoke(cli_app, ["digest", "schedule", "--json"]).stdout)
    runs.sort(key=lambda run: run["list"])  # soonest first: which one depends on today
    assert [(run["list"], run["when"], run["approval"]) for run in runs] == [
        ("kultura", "every Monday at 07:30", True),
        ("tedenske-novice", "every Friday at 12:00", False),
    ]
    friday = datetime.fromisoformat(runs[1]["next_run_at"])
    assert (friday.weekday(), friday.hour, friday.minute) == (4, 12, 0) and friday.utcoffset()

    monkeypatch.setenv("PUBLISHER_CONFIG", str(tmp_path / "empty.toml"))
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    empty = CliRunner().invoke(cli_app, ["digest", "schedule"])
    assert empty.exit_code == 0 and "No schedule" in empty.stdout


# --- what a run does ------------------------------------------------------------------------


def test_a_list_that_needs_approval_gets_a_draft_and_nothing_is_sent(
    engine: Engine, database_url: str
) -> None:
    stock(engine, 3)
    entry = ScheduleEntry(list=LIST, day="fri", time="12:00", approval=True)
    settings = settings_for(database_url, 1, schedule=[entry.model_dump()])

    first = fire(engine, settings, None, entry, IN_WEEK_10)
    again = fire(engine, settings, None, entry, IN_WEEK_10)  # another server, or a restart
    assert first.outcome is again.outcome is RunOutcome.drafted
    assert first.edition_id == again.edition_id
    with Session(engine) as session:
        editions = session.exec(select(Edition)).all()
    assert len(editions) == 1
    assert editions[0].status == EditionStatus.draft and editions[0].job_id is None

    empty_week = fire(engine, settings, None, entry, at(2025, 3, 14, 12, 0))
    assert empty_week.outcome is RunOutcome.nothing
    unknown = ScheduleEntry(list="ni-je", day="fri", time="12:00")
    assert fire(engine, settings, None, unknown, IN_WEEK_10).outcome is RunOutcome.unknown_list
    with Session(engine) as session:
        assert len(session.exec(select(Edition)).all()) == 1


def test_a_run_missed_while_no_server_ran_is_owed_within_the_grace_time(
    engine: Engine, database_url: str
) -> None:
    stock(engine, 2)
    settings = settings_for(database_url, 1, schedule=[FRIDAY_NOON.model_dump()])
    assert missed_run(FRIDAY_NOON, LJUBLJANA, at(2025, 3, 7, 11, 59)) is None
    assert missed_run(FRIDAY_NOON, LJUBLJANA, at(2025, 3, 7, 12, 40)) == IN_WEEK_10
    assert missed_run(FRIDAY_NOON, LJUBLJANA, at(2025, 3, 7, 18, 1)) is None  # too late
    assert owed(engine, settings, at(2025, 3, 7, 12, 40)) == [(FRIDAY_NOON, IN_WEEK_10)]
    fire(engine, settings, None, FRIDAY_NOON, IN_WEEK_10)
    assert owed(engine, settings, at(2025, 3, 7, 12, 40)) == []  # it ran: nothing owed


def test_two_job_runners_on_one_database_run_the_schedule_once_and_take_over(
    engine: Engine, database_url: str
) -> None:
    """Two servers start at 12:05 on the Friday of week 10, five minutes after the digest
    was due: exactly one of them runs the owed run and sends the edition once to everyone;
    when it stops, the other takes the jobs over."""
    addresses = stock(engine, 25)
    with SmtpServer() as smtp, time_machine.travel(at(2025, 3, 7, 12, 5), tick=True):
        settings = settings_for(
            database_url, smtp.port, schedule=[FRIDAY_NOON.model_dump()], jobs_poll=0.2
        )
        runs: list[tuple[int, ScheduledRun]] = []
        leads: list[tuple[int, bool]] = []
        lock = threading.Lock()

        def runner(index: int, own: Engine) -> JobRunner:
            def on_run(run: ScheduledRun) -> None:
                with lock:
                    runs.append((index, run))

            def on_lead(leading: bool) -> None:
                with lock:
                    leads.append((index, leading))

            return JobRunner(own, settings, Senders(own, settings), on_run=on_run, on_lead=on_lead)

        # Two servers: each with its own engine (connection pool), scheduler and senders.
        engines = [make_engine(database_url) for _ in range(2)]
        runners = [runner(index, own) for index, own in enumerate(engines)]
        try:
            for job_runner in runners:
                job_runner.start()
            wait_until(lambda: len(leads) == 2 and len(runs) == 1)
            leader = next(index for index, leading in leads if leading)
            assert sorted(leading for _, leading in leads) == [False, True]
            assert runs[0][0] == leader and runs[0][1].outcome is RunOutcome.approved
            wait_until(lambda: sorted(smtp.handler.per_recipient()) == sorted(addresses))

            runners[leader].senders.stop_all()
            runners[leader].stop()
            wait_until(lambda: (1 - leader, True) in leads, timeout=30)
            assert len(runs) == 1  # the new leader owes nothing: the edition exists
        finally:
            for job_runner in runners:
                if job_runner.scheduler.running:
                    job_runner.stop()
                job_runner.senders.stop_all()
            for own in engines:
                own.dispose()

        with Session(engine) as session:
            editions = session.exec(select(Edition)).all()
        assert len(editions) == 1 and editions[0].period_key == "2025-W10"
        assert editions[0].approved_by.startswith("schedule")
        received = smtp.handler.per_recipient()
        assert set(received.values()) == {1}  # nobody twice
