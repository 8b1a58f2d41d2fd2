"""The one clock: tests move time instead of waiting for it.

Periods, token expiry and the schedule all read :mod:`publisher.clock`; time-machine moves
it across a week boundary, past a confirmation link's lifetime and to a Friday noon.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from publisher.clock import local_now, utcnow
from publisher.config import ScheduleEntry, load_settings
from publisher.digests.periods import current_period
from publisher.digests.schedule import upcoming
from publisher.tokens import ExpiredToken, Purpose, Tokens

LJUBLJANA = ZoneInfo("Europe/Ljubljana")


def test_the_week_changes_at_local_midnight_between_sunday_and_monday() -> None:
    # 23:59 on Sunday 9 March 2025 in Novo mesto is 22:59 UTC: still week 10 there.
    with time_machine.travel(datetime(2025, 3, 9, 23, 59, tzinfo=LJUBLJANA), tick=False) as clock:
        assert current_period(LJUBLJANA).key == "2025-W10"
        assert local_now(LJUBLJANA).hour == 23
        clock.shift(timedelta(minutes=2))
        assert current_period(LJUBLJANA).key == "2025-W11"
        assert utcnow().hour == 23  # UTC is still on Sunday


def test_a_confirmation_link_expires_after_its_lifetime_and_not_before() -> None:
    settings = load_settings(confirm_token_days=7, secret_key="x" * 40)
    with time_machine.travel(datetime(2025, 3, 1, 9, 0, tzinfo=LJUBLJANA), tick=False) as clock:
        tokens = Tokens.from_settings(settings)
        token = tokens.make(Purpose.confirm, "uid-12", 3)
        clock.shift(timedelta(days=7) - timedelta(minutes=1))
        assert tokens.read(token, Purpose.confirm).subscriber_uid == "uid-12"
        clock.shift(timedelta(minutes=2))
        with pytest.raises(ExpiredToken):
            tokens.read(token, Purpose.confirm)
        # A link that never expires (unsubscribe) still works years later.
        forever = tokens.make(Purpose.unsubscribe, "uid-12", 3)
        clock.shift(timedelta(days=3 * 365))
        assert tokens.read(forever, Purpose.unsubscribe).list_id == 3


def test_the_next_scheduled_run_follows_the_clock() -> None:
    settings = load_settings(
        schedule=[ScheduleEntry(list="tedenske-novice", day="fri", time="12:00").model_dump()]
    )
    with time_machine.travel(datetime(2025, 3, 7, 11, 0, tzinfo=LJUBLJANA), tick=False) as clock:
        assert upcoming(settings)[0].at == datetime(2025, 3, 7, 12, 0, tzinfo=LJUBLJANA)
        clock.shift(timedelta(hours=2))
        assert upcoming(settings)[0].at == datetime(2025, 3, 14, 12, 0, tzinfo=LJUBLJANA)


def test_nothing_in_the_package_reads_the_time_but_the_clock() -> None:
    """A rule reading ``datetime.now`` or ``time.time`` itself is one no test can move."""
    package = Path(__file__).resolve().parents[1] / "publisher"
    readers = re.compile(r"\b(datetime\.now|datetime\.utcnow|date\.today|time\.time)\(")
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in package.rglob("*.py")
        if path.name != "clock.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if readers.search(line)
    ]
    assert offenders == []
