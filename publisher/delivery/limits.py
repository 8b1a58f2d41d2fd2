"""When editions may be sent: the sending window and each relay's daily cap.

A provider allows so many recipients a day (Microsoft 365 10,000, Google Workspace 2,000),
counted per relay (``host:port``) and per calendar day in the site's time zone; and the
municipality may send editions only by day (``sending_window = "07:00-21:00"``). An edition
that meets either waits: its rows stay queued, its sender hands them back, and the job
runner's resume starts it again when the hold ends (``Senders.resume_waiting``). The admin,
``digest status`` and the API show when that is, from :func:`held` and :func:`describe`.

The window holds the mail of send jobs (editions and later bulk mailings), not mail someone
is waiting for right now: a confirmation mail or a staff member's test copy goes at any hour
(urgent notices will too). A confirmation held until 7:00 would reach a resident who
subscribed at 21:30 after their link's moment had passed; those mails are one at a time and
capped per client and per address, so they never make a night-time burst.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from publisher.clock import utcnow
from publisher.config import Settings
from publisher.delivery import ledger
from publisher.i18n import format_when


class HoldCause(enum.StrEnum):
    window = "sending window"
    cap = "daily cap"


@dataclass(frozen=True)
class Hold:
    """Editions may not be sent before ``until`` (aware), because of ``cause``."""

    cause: HoldCause
    until: datetime


@dataclass(frozen=True)
class Window:
    """The hours editions may go out, on the site's wall clock; ``end`` before ``start``
    means a window across midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window | None:
        """From the validated setting (``"07:00-21:00"``); ``None`` for an empty one."""
        if not text:
            return None
        start, _, end = text.partition("-")
        return cls(time.fromisoformat(start), time.fromisoformat(end))

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def opens_after(self, moment: datetime, tz: ZoneInfo) -> datetime:
        """The next opening at or after ``moment``."""
        local = moment.astimezone(tz)
        opening = _at(local.date(), self.start, tz)
        if opening < local:
            opening = _at(local.date() + timedelta(days=1), self.start, tz)
        return opening

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz)


def window_hold(settings: Settings, now: datetime | None = None) -> Hold | None:
    """The hold of the sending window now (no database needed), or ``None`` inside it."""
    window = Window.parse(settings.sending_window)
    now = now or utcnow()
    if window is None or window.contains(now.astimezone(settings.tz).time()):
        return None
    return Hold(HoldCause.window, window.opens_after(now, settings.tz))


def cap_day(settings: Settings, now: datetime | None = None) -> str:
    """The calendar day the daily cap counts, in the site's time zone (``2026-12-01``)."""
    return (now or utcnow()).astimezone(settings.tz).date().isoformat()


def cap_hold(settings: Settings, now: datetime | None = None) -> Hold:
    """The hold after the day's cap is met: the next day's start, or the window's opening."""
    local = (now or utcnow()).astimezone(settings.tz)
    tomorrow = _at(local.date() + timedelta(days=1), time(0), settings.tz)
    window = Window.parse(settings.sending_window)
    if window is not None and not window.contains(tomorrow.time()):
        tomorrow = window.opens_after(tomorrow, settings.tz)
    return Hold(HoldCause.cap, tomorrow)


def held(session: Session, settings: Settings, relay: str) -> Hold | None:
    """Why editions may not be sent through ``relay`` now, and until when; ``None``: they may."""
    now = utcnow()
    hold = window_hold(settings, now)
    if hold is not None:
        return hold
    cap = settings.smtp_daily_cap
    if cap and ledger.sent_on(session, relay, cap_day(settings, now)) >= cap:
        return cap_hold(settings, now)
    return None


def describe(hold: Hold, settings: Settings, language: str) -> str:
    """ "zunaj časa pošiljanja (07:00–21:00); se nadaljuje jutri ob 7.00", or in English."""
    when = format_when(hold.until, language, settings.tz, utcnow())
    if language == "sl":
        why = (
            f"zunaj časa pošiljanja ({settings.sending_window.replace('-', '–')})"
            if hold.cause is HoldCause.window
            else f"dosežena dnevna omejitev ({settings.smtp_daily_cap} prejemnikov)"
        )
        return f"{why}; se nadaljuje {when}"
    why = (
        f"outside the sending window ({settings.sending_window.replace('-', '–')})"
        if hold.cause is HoldCause.window
        else f"the daily cap of {settings.smtp_daily_cap} recipients is met"
    )
    return f"{why}; continues {when}"
