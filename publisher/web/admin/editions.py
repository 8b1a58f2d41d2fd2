"""Editions: the history, one edition's progress and problems, and pause/resume/cancel/retry.

The progress page reloads itself every second while an edition is sending (a
``<meta http-equiv="refresh">``: the site's policy allows no scripts), showing the counts from
the ledger, the rate of this process's sender (whoever started it: the admin, the API, the
schedule, a resume after a restart) and a ``<progress>`` bar. Failed and deferred recipients
are listed with the SMTP server's reply, each with a page of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.exceptions import HTTPException

from publisher import audit
from publisher.audit import (
    EDITION_CONTROLS,
    AuditAction,
    admin_actor,
    control_reason,
    edition_subject,
    last_control,
    record,
    set_by_person,
)
from publisher.db import session_scope
from publisher.delivery import ledger
from publisher.delivery.bounces import reports as bounce_reports
from publisher.delivery.limits import describe
from publisher.delivery.models import Delivery, JobState
from publisher.delivery.reasons import reason_in
from publisher.delivery.runner import Sending
from publisher.digests.editions import (
    Control,
    EditionNotFound,
    EditionRefused,
    EditionState,
    control,
    editions_of,
    get_edition,
    plan,
    retry,
)
from publisher.digests.models import Edition
from publisher.digests.periods import parse_period
from publisher.i18n import format_period
from publisher.mail.compose import note_paragraphs
from publisher.subscribers.lists import ListNotFound, get_list
from publisher.subscribers.models import MailingList
from publisher.web.admin.auth import Approver, Staff
from publisher.web.admin.dashboard import STATE_NAMES, EditionRow, edition_rows
from publisher.web.admin.digests import NOTE_LABELS
from publisher.web.admin.render import ADMIN_LANGUAGE, engine_of, render, senders_of, settings_of
from publisher.web.clients import client_address
from publisher.web.csrf import require_csrf

router = APIRouter()
REFRESH_SECONDS = 1
BOUNCE_KINDS = {
    "hard": "trajno (naslov ne obstaja)",
    "soft": "začasno (poln predal, odlog)",
    "delayed": "zamuda (še poskuša)",
    "complaint": "pritožba (označeno kot neželeno)",
    "other": "zavrnjeno sporočilo (ne naslov)",
}
"""The kinds of bounces as the admin names them."""
CONTROL_WORDS = {
    AuditAction.edition_paused: "Ustavljeno",
    AuditAction.edition_resumed: "Nadaljevano",
    AuditAction.edition_cancelled: "Preklicano",
    AuditAction.edition_retried: "Neuspeli znova v vrsti",
}
"""How the edition page words its last control, without the person's grammatical gender:
"Ustavljeno: 1. 12. 2026 ob 18.27 — Ana Novak"."""
NOTICES = {
    "paused": "Pošiljanje je ustavljeno. Noben prejemnik ni izgubljen; "
    "nadaljujete lahko kadar koli.",
    "resumed": "Pošiljanje se nadaljuje.",
    "cancelled": "Pošiljanje je preklicano: kdor izdaje še ni dobil, je ne bo.",
    "retry": "Neuspele prejemnike smo znova uvrstili v vrsto in jim pošiljamo.",
    "retry-none": "Ni neuspelih prejemnikov, ki bi jih lahko poskusili znova.",
}


@dataclass
class Progress:
    """What the progress bar and counters show."""

    row: EditionRow
    sending: Sending | None

    @property
    def rate(self) -> float | None:
        if self.sending is None or not self.sending.running:
            return None
        return self.sending.tally.rate

    @property
    def remaining_seconds(self) -> int | None:
        rate = self.rate
        if not rate:
            return None
        return int((self.row.report.total - self.row.done) / rate)


def _edition(session: Session, edition_id: int) -> Edition:
    try:
        return get_edition(session, edition_id)
    except EditionNotFound:
        raise HTTPException(status_code=404) from None


@router.get("/admin/editions")
def history(request: Request, staff: Staff, list: str | None = None) -> Response:
    with Session(engine_of(request), expire_on_commit=False) as session:
        mailing_list: MailingList | None = None
        if list:
            try:
                mailing_list = get_list(session, list)
            except ListNotFound:
                raise HTTPException(status_code=404) from None
        rows = edition_rows(session, editions_of(session, mailing_list))
        return render(
            request,
            "admin/editions.html",
            staff=staff,
            active="editions",
            rows=rows,
            mailing_list=mailing_list,
            states=STATE_NAMES,
        )


@router.get("/admin/editions/{edition_id}")
def edition_page(
    request: Request, staff: Staff, edition_id: int, notice: str | None = None
) -> Response:
    return _edition_view(request, staff, edition_id, notice=NOTICES.get(notice or ""))


def _edition_view(
    request: Request,
    staff: Staff,
    edition_id: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    senders = senders_of(request)
    with Session(engine_of(request), expire_on_commit=False) as session:
        edition = _edition(session, edition_id)
        settings = settings_of(request)
        row = edition_rows(session, [edition], settings)[0]
        sending = senders.get(edition.job_id) if edition.job_id else None
        problems = ledger.problem_rows(session, edition.job_id) if edition.job_id else []
        bounces = bounce_reports.edition_bounces(session, edition.job_id) if edition.job_id else []
        state = row.report.state
        live = state == EditionState.sending and (
            edition.job_id is not None and senders.is_sending(edition.job_id)
        )
        period = parse_period(edition.period_key)
        planned = plan(session, settings, row.list, period)
        job = row.report.job
        reason = job.state_reason if job is not None else ""
        return render(
            request,
            "admin/edition.html",
            staff=staff,
            status_code=status_code,
            active="editions",
            refresh=REFRESH_SECONDS if live else None,
            row=row,
            edition=edition,
            progress=Progress(row, sending),
            state=state,
            state_name=STATE_NAMES.get(state, state),
            controls=row.report.controls,
            live=live,
            period_text=format_period(period.start, period.end, "sl"),
            planned=planned,
            note_labels=NOTE_LABELS,
            paragraphs=note_paragraphs,
            problems=problems,
            held=describe(row.report.held, settings, "sl") if row.report.held else None,
            control=last_control(session, edition_id),
            control_words=CONTROL_WORDS,
            reason="" if set_by_person(reason) else reason_in(reason, ADMIN_LANGUAGE),
            bounces=bounces,
            bounce_kinds=BOUNCE_KINDS,
            notice=notice,
            error=error or (sending.error if sending is not None else None),
        )


@router.get("/admin/editions/{edition_id}/recipients/{delivery_id}")
def recipient_page(
    request: Request, staff: Approver, edition_id: int, delivery_id: int
) -> Response:
    """One recipient's copy: its status, attempts and the SMTP server's last reply."""
    with Session(engine_of(request), expire_on_commit=False) as session:
        edition = _edition(session, edition_id)
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.job_id != edition.job_id:
            raise HTTPException(status_code=404)
        row = edition_rows(session, [edition])[0]
        return render(
            request,
            "admin/recipient.html",
            staff=staff,
            active="editions",
            row=row,
            edition=edition,
            delivery=delivery,
        )


@router.get("/admin/bounces/{bounce_id}/raw")
def bounce_raw(request: Request, staff: Approver, bounce_id: int) -> Response:
    """A bounce or complaint exactly as it came, as plain text: the browser shows it, never
    renders it (``nosniff`` is on every answer), however hostile the message."""
    with Session(engine_of(request)) as session:
        bounce = bounce_reports.get_bounce(session, bounce_id)
        if bounce is None:
            raise HTTPException(status_code=404)
        text = bounce.raw.decode("utf-8", "replace")
    return Response(
        text,
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="bounce-{bounce_id}.eml.txt"'},
    )


def _act(request: Request, staff: Staff, edition_id: int, action: Control) -> Response:
    try:
        with session_scope(engine_of(request)) as session:
            edition = _edition(session, edition_id)
            job_id = edition.job_id
            reason = control_reason(action, admin_actor(staff.email))
            if action == Control.retry:
                notice = audit.RETRIED if retry(session, edition) else audit.RETRIED_NONE
            else:
                control(session, edition, action, reason)
                notice = audit.CONTROL_DETAILS[action]
            record(
                session,
                EDITION_CONTROLS[action],
                actor=staff.email,
                client=client_address(request),
                subject=edition_subject(edition_id),
                detail=audit.detail_line(notice),
            )
    except EditionRefused as refused:
        return _edition_view(request, staff, edition_id, error=refused.reason_sl, status_code=409)
    if action in (Control.resume, Control.retry) and job_id is not None:
        senders_of(request).start(job_id, by=admin_actor(staff.email))
    return RedirectResponse(_edition_url(edition_id, notice=notice), status_code=303)


def _edition_url(edition_id: int, **query: str) -> str:
    return f"/admin/editions/{edition_id}?{urlencode(query)}"


@router.post("/admin/editions/{edition_id}/pause", dependencies=[Depends(require_csrf)])
def pause(request: Request, staff: Approver, edition_id: int) -> Response:
    return _act(request, staff, edition_id, Control.pause)


@router.post("/admin/editions/{edition_id}/resume", dependencies=[Depends(require_csrf)])
def resume(request: Request, staff: Approver, edition_id: int) -> Response:
    """Resume a paused edition, or restart sending one whose sender stopped (a restart)."""
    with Session(engine_of(request), expire_on_commit=False) as session:
        edition = _edition(session, edition_id)
        job = ledger.get_job(session, edition.job_id) if edition.job_id else None
    if job is not None and job.state == JobState.active and job.id is not None:
        senders_of(request).start(job.id, by=admin_actor(staff.email))
        with session_scope(engine_of(request)) as session:
            record(
                session,
                AuditAction.edition_resumed,
                actor=staff.email,
                client=client_address(request),
                subject=edition_subject(edition_id),
                detail=audit.detail_line(audit.SENDER_RESTARTED),
            )
        return RedirectResponse(_edition_url(edition_id, notice="resumed"), status_code=303)
    return _act(request, staff, edition_id, Control.resume)


@router.post("/admin/editions/{edition_id}/cancel", dependencies=[Depends(require_csrf)])
def cancel(request: Request, staff: Approver, edition_id: int) -> Response:
    return _act(request, staff, edition_id, Control.cancel)


@router.post("/admin/editions/{edition_id}/retry", dependencies=[Depends(require_csrf)])
def retry_failed(request: Request, staff: Approver, edition_id: int) -> Response:
    return _act(request, staff, edition_id, Control.retry)
