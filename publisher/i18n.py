"""The languages the site speaks and how dates read in them: one home for both.

Pages, mails, the admin and the CLI write a date with :func:`format_day`, a date with a
time with :func:`format_moment` and a digest's period with :func:`format_period`, so a
reader sees the same "7 March 2025" on the web and in the digest. The first two set dates
as Slovenian typesetters do: a no-break space after the day and
the month ("1.\u00a012.\u00a02026", "7.\u00a0marec 2025"), so no line ends at "1.". (The
development mail catcher asks :func:`format_moment` for seconds, for telling a burst of
mails apart.) Gettext catalogs are in ``publisher.translations``.

Babel is imported inside the functions: the settings import this module for
:data:`LANGUAGES`, and the CLI should not load Babel to print its help.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo


class Language(enum.StrEnum):
    """The languages pages and mails are written in; the first, Slovenian, is the default."""

    sl = "sl"
    en = "en"


LANGUAGES: tuple[str, ...] = tuple(language.value for language in Language)
"""The same, as plain codes: for ``in`` tests on what a form, a URL or a file says."""

_BABEL_LOCALES = {"sl": "sl", "en": "en_GB"}
"""English the European way ("7 March 2025", 24-hour clock), as a Slovenian municipality
writes it; the US forms ("March 7, 2025", "2:20 PM") would read oddly beside Slovenian."""

_MOMENT_PATTERNS = {"sl": "d. M. y 'ob' H.mm", "en": "d MMMM y, HH:mm"}
"""CLDR patterns: "7. 3. 2025 ob 14.20" (the Slovenian time with a full stop, as
:func:`format_when` writes "jutri ob 7.00") and "7 March 2025, 14:20"."""
_MOMENT_SECONDS_PATTERNS = {"sl": "d. M. y 'ob' H.mm.ss", "en": "d MMMM y, HH:mm:ss"}
"""The same to the second: "7. 3. 2025 ob 14.20.05" and "7 March 2025, 14:20:05"."""

_DAY_AND_MONTH = re.compile(r"\b(\d{1,2}\.?) (?=\w)")


def unbreakable_dates(label: str) -> str:
    """``label`` with a no-break space after each day and month number ("7.\u00a0marec 2025",
    "3.–9.\u00a0marec", "1.\u00a012.\u00a02026", "7\u00a0March"): a line never ends at "7."."""
    return _DAY_AND_MONTH.sub("\\1\u00a0", label)


def babel_locale(language: str) -> str:
    """The Babel locale that writes dates the way readers of ``language`` expect."""
    return _BABEL_LOCALES.get(language, language)


def format_day(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """The calendar day of ``moment`` in ``tz``: "7. marec 2025" or "7 March 2025".

    The day is taken in the site's time zone, so an article stored at 23:30 UTC on 6 March
    is dated 7 March in Novo mesto.
    """
    from babel.dates import format_date

    day = format_date(moment.astimezone(tz).date(), "long", locale=babel_locale(language))
    return unbreakable_dates(day)


def format_period(start: date, end: date, language: str) -> str:
    """An inclusive date range the way people write it: "3.–9. marec 2025".

    Babel's interval formats abbreviate months in Slovenian ("3.–9. mar. 2025"), so the
    range is built from full dates: the shared month and year are written once.
    """
    from babel.dates import format_date

    locale = babel_locale(language)
    if start == end:
        return format_date(end, "long", locale=locale)
    if language != "sl":
        if (start.year, start.month) == (end.year, end.month):
            return f"{start.day}–{format_date(end, 'long', locale=locale)}"
        first = format_date(start, "d MMMM" if start.year == end.year else "long", locale=locale)
        return f"{first} – {format_date(end, 'long', locale=locale)}"
    last = format_date(end, "long", locale="sl")
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}.–{last}"
    first_format = "d. MMMM" if start.year == end.year else "long"
    return f"{format_date(start, first_format, locale='sl')} – {last}"


def format_moment(moment: datetime, language: str, tz: ZoneInfo, *, seconds: bool = False) -> str:
    """A date and time in ``tz``: "7. 3. 2025 ob 14.20" or "7 March 2025, 14:20"; with
    ``seconds`` (for the mail catcher, where mails arrive in bursts) "… ob 14.20.05"."""
    from babel.dates import format_datetime

    patterns = _MOMENT_SECONDS_PATTERNS if seconds else _MOMENT_PATTERNS
    pattern = patterns.get(language, patterns["en"])
    return unbreakable_dates(
        format_datetime(moment, pattern, tzinfo=tz, locale=babel_locale(language))
    )


_NEAR_DAYS = {"sl": ("danes", "jutri"), "en": ("today", "tomorrow")}
_NEAR_PATTERNS = {"sl": "'{day} ob' H.mm", "en": "'{day} at' H:mm"}
"""A moment today or tomorrow, as people say it: "jutri ob 7.00", "tomorrow at 7:00"."""


def format_when(moment: datetime, language: str, tz: ZoneInfo, now: datetime) -> str:
    """``moment`` seen from ``now``: "danes ob 21.00", "jutri ob 7.00" ("today at 21:00",
    "tomorrow at 7:00"); further off, :func:`format_moment`."""
    from babel.dates import format_datetime

    ahead = (moment.astimezone(tz).date() - now.astimezone(tz).date()).days
    if ahead not in (0, 1) or language not in _NEAR_DAYS:
        return format_moment(moment, language, tz)
    pattern = _NEAR_PATTERNS[language].format(day=_NEAR_DAYS[language][ahead])
    return format_datetime(moment, pattern, tzinfo=tz, locale=babel_locale(language))
