"""Periods are calendar facts of Novo mesto's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from publisher.digests.periods import BadPeriod, PeriodKind, current_period, parse_period

LJUBLJANA = ZoneInfo("Europe/Ljubljana")


def test_iso_week_runs_monday_to_sunday() -> None:
    week = parse_period("2025-W10")
    assert (week.start, week.end, week.kind) == (
        date(2025, 3, 3),
        date(2025, 3, 9),
        PeriodKind.week,
    )
    assert week.key == "2025-W10"
    assert parse_period("2025w10") == week


def test_week_bounds_are_local_midnights() -> None:
    start, end = parse_period("2025-W10").bounds(LJUBLJANA)
    assert start.astimezone(UTC) == datetime(2025, 3, 2, 23, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2025, 3, 9, 23, 0, tzinfo=UTC)


def test_week_across_summer_time_change_has_local_bounds() -> None:
    start, end = parse_period("2025-W13").bounds(LJUBLJANA)  # clocks go forward on 30 March
    assert start.utcoffset().total_seconds() == 3600
    assert end.utcoffset().total_seconds() == 7200


def test_week_one_can_start_in_the_previous_year() -> None:
    week = parse_period("2025-W01")
    assert week.start == date(2024, 12, 30) and week.end == date(2025, 1, 5)


def test_days_and_months() -> None:
    assert parse_period("2025-03-07").key == "2025-03-07"
    month = parse_period("2025-02")
    assert (month.start, month.end, month.key) == (date(2025, 2, 1), date(2025, 2, 28), "2025-02")
    assert parse_period("2024-02").end == date(2024, 2, 29)
    assert month.following().key == "2025-03"


def test_current_week_is_local() -> None:
    sunday_night_utc = datetime(2025, 3, 9, 23, 30, tzinfo=UTC)  # already Monday in Ljubljana
    assert current_period(LJUBLJANA, now=sunday_night_utc).key == "2025-W11"


@pytest.mark.parametrize("text", ["2025-W54", "2025-13", "2025-02-30", "prejšnji teden", ""])
def test_bad_periods_say_which_forms_work(text: str) -> None:
    with pytest.raises(BadPeriod, match="2025-W10"):
        parse_period(text)
