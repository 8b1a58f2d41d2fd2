"""The digest page of one list and period: preview, a test to myself, approve & send.

The safe path is the page's order: look at the preview (the message exactly as a resident
gets it, in both languages), send a test copy to my own address, then approve & send,
which leads to the edition's progress page. Once an edition is approved the preview shows
the frozen message, not a fresh composition, so it stays what was sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.exceptions import HTTPException

from publisher.config import Settings
from publisher.db import session_scope, utcnow
from publisher.delivery import ledger
from publisher.delivery.smtp import Verdict
from publisher.digests.content import compose, sample_recipient
from publisher.digests.editions import EditionPlan, NothingToSend, approve, plan, report, send_test
from publisher.digests.models import EditionStatus
from publisher.digests.periods import (
    BadPeriod,
    Period,
    current_period,
    parse_period,
    period_containing,
)
from publisher.mail.compose import format_period
from publisher.subscribers.lists import ListNotFound, get_list
from publisher.subscribers.models import MailingList
from publisher.translations import LANGUAGES
from publisher.web.admin.auth import Staff
from publisher.web.admin.dashboard import STATE_NAMES
from publisher.web.admin.render import engine_of, render, settings_of
from publisher.web.csrf import require_csrf

router = APIRouter()

PREVIEW_CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",  # mail clients read inlined styles; no scripts, ever
        "img-src https: http: data:",
        "frame-ancestors 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "sandbox allow-popups allow-popups-to-escape-sandbox",
    ]
)
LANGUAGE_NAMES = {"sl": "slovenščina", "en": "angleščina"}
NOTICES = {
    "test": "Poskusni izvod je poslan na vaš naslov. Preverite ga v svojem predalu.",
}


@dataclass
class Preview:
    """One language of the message as a resident would read it."""

    language: str
    subject: str
    html: str
    text: str


def _list_and_period(session: Session, slug: str, period_key: str) -> tuple[MailingList, Period]:
    try:
        return get_list(session, slug), parse_period(period_key)
    except (ListNotFound, BadPeriod):
        raise HTTPException(status_code=404) from None


def _language(value: str | None, mailing_list: MailingList) -> str:
    return value if value in LANGUAGES else str(mailing_list.language)


def preview_message(
    session: Session,
    settings: Settings,
    planned: EditionPlan,
    language: str,
) -> Preview:
    """The filled message for the made-up resident: frozen if approved, else composed now
    by the same function the edition will use."""
    mailing_list, period = planned.mailing_list, planned.period
    sample = sample_recipient(settings, mailing_list, period)
    edition = planned.edition
    if edition is not None and edition.status == EditionStatus.approved and edition.job_id:
        templates = ledger.load_templates(session, edition.job_id)
        template = templates.get(language) or next(iter(templates.values()))
    else:
        template = compose(settings, mailing_list, period, planned.articles, language).template
    parsed = message_from_bytes(template.fill(sample, now=utcnow()), policy=policy.default)
    parts = {
        part.get_content_type(): part.get_content().replace("\r\n", "\n")
        for part in parsed.walk()
        if part.get_content_type() in ("text/html", "text/plain")
    }
    return Preview(
        language, str(parsed["Subject"]), parts.get("text/html", ""), parts.get("text/plain", "")
    )


def digest_url(mailing_list: MailingList, period: Period, **query: str) -> str:
    url = f"/admin/digests/{mailing_list.slug}/{period.key}"
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


@router.get("/admin/digests/{slug}")
def this_period(request: Request, slug: str) -> Response:
    period = current_period(settings_of(request).tz)
    return RedirectResponse(f"/admin/digests/{slug}/{period.key}", status_code=303)


def _digest_page(
    request: Request,
    staff: Staff,
    slug: str,
    period_key: str,
    language: str | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    settings = settings_of(request)
    with Session(engine_of(request), expire_on_commit=False) as session:
        mailing_list, period = _list_and_period(session, slug, period_key)
        planned = plan(session, settings, mailing_list, period)
        lang = _language(language, mailing_list)
        preview = preview_message(session, settings, planned, lang) if planned.articles else None
        edition_report = report(session, planned.edition) if planned.edition else None
        return render(
            request,
            "admin/digest.html",
            staff=staff,
            status_code=status_code,
            frames=True,
            active="digests",
            mailing_list=mailing_list,
            period=period,
            period_text=format_period(period.start, period.end, "sl"),
            previous=_previous(period),
            following=period.following(),
            planned=planned,
            report=edition_report,
            state_name=STATE_NAMES.get(edition_report.state, edition_report.state)
            if edition_report
            else None,
            approved=planned.edition is not None
            and planned.edition.status == EditionStatus.approved,
            language=lang,
            languages=LANGUAGE_NAMES,
            preview=preview,
            notice=notice,
            error=error,
        )


def _previous(period: Period) -> Period:
    return period_containing(period.start - timedelta(days=1), period.kind)


@router.get("/admin/digests/{slug}/{period_key}")
def digest_page(
    request: Request,
    staff: Staff,
    slug: str,
    period_key: str,
    lang: str | None = None,
    notice: str | None = None,
) -> Response:
    return _digest_page(request, staff, slug, period_key, lang, notice=NOTICES.get(notice or ""))


@router.get("/admin/digests/{slug}/{period_key}/preview.html")
def preview_html(request: Request, slug: str, period_key: str, lang: str | None = None) -> Response:
    """The HTML part alone, for the digest page's sandboxed frame: no scripts, no forms."""
    settings = settings_of(request)
    with Session(engine_of(request), expire_on_commit=False) as session:
        mailing_list, period = _list_and_period(session, slug, period_key)
        planned = plan(session, settings, mailing_list, period)
        if not planned.articles:
            raise HTTPException(status_code=404)
        preview = preview_message(session, settings, planned, _language(lang, mailing_list))
    return Response(
        preview.html,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": PREVIEW_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        },
    )


@router.post("/admin/digests/{slug}/{period_key}/test", dependencies=[Depends(require_csrf)])
def send_test_copy(
    request: Request,
    staff: Staff,
    slug: str,
    period_key: str,
    language: Annotated[str, Form()] = "sl",
) -> Response:
    """One copy marked as a test to the logged-in staff member's own address, nobody else."""
    settings = settings_of(request)
    with Session(engine_of(request), expire_on_commit=False) as session:
        mailing_list, period = _list_and_period(session, slug, period_key)
        planned = plan(session, settings, mailing_list, period)
    lang = _language(language, mailing_list)
    if not planned.articles:
        return _digest_page(
            request,
            staff,
            slug,
            period_key,
            lang,
            error="V tem obdobju ni člankov za ta seznam, zato ni kaj poslati.",
            status_code=409,
        )
    outcome = asyncio.run(
        send_test(settings, mailing_list, period, planned.articles, staff.email, lang)
    )
    if outcome.verdict is not Verdict.sent:
        reply = f"{outcome.code or ''} {outcome.reply}".strip()
        return _digest_page(
            request,
            staff,
            slug,
            period_key,
            lang,
            error=f"Poskusnega izvoda ni bilo mogoče poslati na {staff.email}. "
            f"Odgovor strežnika: {reply or '(brez odgovora)'}",
            status_code=502,
        )
    return RedirectResponse(digest_url(mailing_list, period, lang=lang, notice="test"), 303)


@router.post("/admin/digests/{slug}/{period_key}/approve", dependencies=[Depends(require_csrf)])
def approve_and_send(
    request: Request,
    staff: Staff,
    slug: str,
    period_key: str,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Approve (one request wins; the rest get the same edition) and start sending in the
    background (one sender per edition in this process); then watch the progress page."""
    settings = settings_of(request)
    if confirm != "yes":
        return _digest_page(
            request,
            staff,
            slug,
            period_key,
            None,
            error="Najprej potrdite, da ste pregledali predogled in poskusni izvod.",
            status_code=400,
        )
    try:
        with session_scope(engine_of(request)) as session:
            mailing_list, period = _list_and_period(session, slug, period_key)
            edition = approve(
                session, settings, mailing_list, period, approved_by=f"{staff.email} (admin)"
            )
            edition_id = edition.id or 0
    except NothingToSend:
        return _digest_page(
            request,
            staff,
            slug,
            period_key,
            None,
            error="V tem obdobju ni člankov za ta seznam: izdaja ni nastala, nič ni poslano.",
            status_code=409,
        )
    request.app.state.admin.senders.start(edition_id)
    return RedirectResponse(f"/admin/editions/{edition_id}", status_code=303)
