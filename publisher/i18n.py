"""Dates (and later every reader-facing string) in the reader's language, Slovenian first.

Small on purpose: the email digest will add gettext catalogs under ``templates/locale``
and a ``translations(language)`` here; callers already pass the language explicitly so
that nothing has to change then.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

LANGUAGES: tuple[str, ...] = ("sl", "en")
"""Languages pages and emails are offered in; the first is the default."""


def format_day(moment: datetime, language: str, tz: ZoneInfo) -> str:
    """The calendar day of ``moment`` in ``tz``, as readers of ``language`` write it.

    ``format_day(dt, "sl", tz)`` gives "7. marec 2025"; the day is taken in the site's time
    zone, so an article stored at 23:30 UTC on 6 March is dated 7 March in Novo mesto.
    """
    return format_date(moment.astimezone(tz).date(), "long", locale=language)
