"""Dates as Slovenian readers write them, on the calendar day of Novo mesto."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from publisher.i18n import format_day

LJUBLJANA = ZoneInfo("Europe/Ljubljana")


def test_slovenian_long_date() -> None:
    assert format_day(datetime(2025, 3, 7, 12, tzinfo=UTC), "sl", LJUBLJANA) == "7. marec 2025"


def test_the_day_is_taken_in_the_site_time_zone() -> None:
    late_evening_utc = datetime(2025, 3, 6, 23, 30, tzinfo=UTC)  # 00:30 on 7 March in Ljubljana
    assert format_day(late_evening_utc, "sl", LJUBLJANA) == "7. marec 2025"


def test_english_is_available() -> None:
    assert format_day(datetime(2025, 3, 7, 12, tzinfo=UTC), "en", LJUBLJANA) == "March 7, 2025"
