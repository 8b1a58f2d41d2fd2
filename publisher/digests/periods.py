"""Periods an edition covers: an ISO week (the default), a day or a month, in local time.

A period is a calendar fact of the municipality's time zone: week 2025-W10 is Monday
3 March to Sunday 9 March 2025 in Europe/Ljubljana, whatever UTC says.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from publisher.clock import local_now


class PeriodKind(enum.StrEnum):
    week = "week"
    day = "day"
    month = "month"


class BadPeriod(ValueError):
    """A period written in a form we do not read; the message shows the accepted forms."""


_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
FORMS = "2025-W10 (ISO week), 2025-03 (month) or 2025-03-07 (day)"


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    """Inclusive: the last day of the period."""
    kind: PeriodKind

    @property
    def key(self) -> str:
        """The period's name, unique per kind: ``2025-W10``, ``2025-03``, ``2025-03-07``."""
        if self.kind is PeriodKind.week:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind is PeriodKind.month:
            return f"{self.start.year}-{self.start.month:02d}"
        return self.start.isoformat()

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes: local midnight to the midnight after the last day."""
        return (
            datetime.combine(self.start, time(), tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time(), tzinfo=tz),
        )

    def following(self) -> Period:
        return period_containing(self.end + timedelta(days=1), self.kind)

    def __str__(self) -> str:
        return self.key


def period_containing(day: date, kind: PeriodKind = PeriodKind.week) -> Period:
    if kind is PeriodKind.week:
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=6), kind)
    if kind is PeriodKind.month:
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return Period(start, following - timedelta(days=1), kind)
    return Period(day, day, kind)


def current_period(
    tz: ZoneInfo, kind: PeriodKind = PeriodKind.week, now: datetime | None = None
) -> Period:
    """The period today falls in, today being local to the municipality."""
    moment = now or local_now(tz)
    return period_containing(moment.astimezone(tz).date(), kind)


def parse_period(text: str) -> Period:
    """Read ``2025-W10``, ``2025-03`` or ``2025-03-07``."""
    value = text.strip()
    try:
        if match := _WEEK.fullmatch(value):
            return period_containing(date.fromisocalendar(int(match[1]), int(match[2]), 1))
        if match := _DAY.fullmatch(value):
            return period_containing(
                date(int(match[1]), int(match[2]), int(match[3])), PeriodKind.day
            )
        if match := _MONTH.fullmatch(value):
            return period_containing(date(int(match[1]), int(match[2]), 1), PeriodKind.month)
    except ValueError:
        raise BadPeriod(f"{text!r} is not a real period; use {FORMS}") from None
    raise BadPeriod(f"{text!r} is not a period; use {FORMS}")
