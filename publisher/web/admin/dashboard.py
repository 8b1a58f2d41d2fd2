"""The admin's first page: lists and their subscribers, editions waiting or sent, what is next;
for admins, ``publisher check``'s list on demand (a button, so that a page load never waits on
the relay, DNS or the site)."""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from publisher.checks import Check, run_checks
from publisher.checks.results import in_language
from publisher.config import Settings
from publisher.delivery.bounces.reports import list_rates
from publisher.digests.editions import EditionReport, editions_of, report
from publisher.digests.models import Edition, EditionStatus
from publisher.digests.periods import Period, current_period
from publisher.staff.models import StaffAccount
from publisher.subscribers.lists import all_lists, status_counts
from publisher.subscribers.models import MailingList
from publisher.web.admin.auth import Admin, Staff
from publisher.web.admin.render import ADMIN_LANGUAGE, engine_of, render, settings_of
from publisher.web.csrf import require_csrf

router = APIRouter()
RECENT_EDITIONS = 10
RATE_EDITIONS = 5
"""How many of each list's last sent editions the bounce and complaint rates cover."""


@dataclass
class EditionRow:
    """An edition as the admin's tables show it."""

    edition: Edition
    list: MailingList
    report: EditionReport

    @property
    def done(self) -> int:
        return self.report.done

    @property
    def percent(self) -> int:
        total = self.report.total
        return 100 if not total else int(self.done * 100 / total)


STATE_NAMES = {
    "draft": "čaka na odobritev",
    "approved": "odobrena",
    "sending": "pošiljanje",
    "paused": "ustavljena",
    "cancelled": "preklicana",
    "sent": "poslana",
    "no recipients": "brez prejemnikov",
}


def edition_rows(
    session: Session, editions: list[Edition], settings: Settings | None = None
) -> list[EditionRow]:
    """The rows; with the settings, a waiting edition's row knows until when it waits."""
    lists = {mailing_list.id: mailing_list for mailing_list in all_lists(session)}
    return [EditionRow(e, lists[e.list_id], report(session, e, settings)) for e in editions]


@dataclass(frozen=True)
class NextEdition:
    """A scheduled run as the dashboard lists it."""

    list_slug: str
    period: Period
    at: datetime
    approval: bool


def scheduled(settings: Settings) -> list[NextEdition] | None:
    """The next scheduled editions, or None where this installation has no schedule module.

    Imported by name so the admin works with or without :mod:`publisher.digests.schedule`.
    """
    try:
        schedule = importlib.import_module("publisher.digests.schedule")
    except ImportError:
        return None
    upcoming = getattr(schedule, "upcoming", None)
    if not callable(upcoming):
        return None
    return [
        NextEdition(run.entry.list, run.period, run.at, bool(run.entry.approval))
        for run in upcoming(settings)
    ]


CHECK_PATH = "/admin/check"
CHECK_STATUS = {"ok": "v redu", "warn": "opozorilo", "fail": "napaka"}
CHECK_GROUPS = {
    "settings": "Nastavitve",
    "smtp": "Poštni posrednik (SMTP)",
    "dns": "DNS domene pošiljatelja",
    "web": "Spletno mesto od zunaj",
}


@router.get("/admin")
def dashboard(request: Request, staff: Staff) -> Response:
    return dashboard_page(request, staff)


@router.post(CHECK_PATH, dependencies=[Depends(require_csrf)])
async def run_deployment_check(request: Request, staff: Admin) -> Response:
    """``publisher check``'s list, run now; the rest of the page as ``GET /admin``."""
    checks = await run_checks(settings_of(request), engine_of(request))
    return await run_in_threadpool(dashboard_page, request, staff, checks)


def dashboard_page(
    request: Request, staff: StaffAccount, checks: list[Check] | None = None
) -> Response:
    settings = settings_of(request)
    period = current_period(settings.tz)
    with Session(engine_of(request), expire_on_commit=False) as session:
        lists = all_lists(session)
        counts = status_counts(session)
        editions = editions_of(session)
        drafts = [e for e in editions if e.status == EditionStatus.draft]
        recent = [e for e in editions if e.status == EditionStatus.approved][:RECENT_EDITIONS]
        return render(
            request,
            "admin/dashboard.html",
            staff=staff,
            active="dashboard",
            lists=lists,
            counts={
                mailing_list.id: counts.get(mailing_list.id or 0, Counter())
                for mailing_list in lists
            },
            period=period,
            drafts=edition_rows(session, drafts),
            recent=edition_rows(session, recent),
            states=STATE_NAMES,
            upcoming=scheduled(settings),
            list_names={m.slug: m.name for m in lists},
            rates=list_rates(session, RATE_EDITIONS),
            rate_editions=RATE_EDITIONS,
            checks=checks,
            check_status=CHECK_STATUS,
            check_groups=CHECK_GROUPS,
            check_text=lambda text: in_language(text, ADMIN_LANGUAGE),
        )
