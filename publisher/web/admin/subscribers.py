"""Lists and subscribers: counts, search, CSV import with a per-line report, CSV export.

The import runs :func:`publisher.subscribers.csv_import.import_csv`, the function behind
``publisher subscribers import``, on the uploaded file saved (once, as it streams in:
:mod:`publisher.web.uploads`) under its own name (the report and the consent records name the
file staff chose); the export streams
:func:`publisher.subscribers.export.write_csv`, the function behind ``subscribers export``.
"""

from __future__ import annotations

import io
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from publisher import audit
from publisher.audit import AuditAction, record
from publisher.db import session_scope
from publisher.digests.periods import current_period
from publisher.staff.models import StaffAccount
from publisher.subscribers.csv_batches import RowOutcome
from publisher.subscribers.csv_import import import_csv
from publisher.subscribers.csv_rows import CsvFileError
from publisher.subscribers.errors import RegisterError
from publisher.subscribers.export import export_rows, write_csv
from publisher.subscribers.lists import (
    ListNotFound,
    all_lists,
    get_list,
    list_topics,
    set_english_name,
    status_counts,
)
from publisher.subscribers.models import MailingList, SubscriptionStatus, SuppressionReason
from publisher.subscribers.search import SubscriberPage, subscriber_page
from publisher.subscribers.suppression import (
    LiftReasonMissing,
    NotSuppressed,
    SuppressionKept,
    lift_suppression,
)
from publisher.web.admin.auth import Admin, Staff
from publisher.web.admin.render import (
    ENGLISH_NAME_TOO_LONG,
    csv_download,
    engine_of,
    render,
    settings_of,
)
from publisher.web.body import BodyRule
from publisher.web.clients import client_address
from publisher.web.csrf import FIELD as CSRF_FIELD
from publisher.web.csrf import check_csrf_token, require_csrf
from publisher.web.uploads import Upload, UploadRefused, receive_upload

router = APIRouter()
MAX_UPLOAD = 50 * 1024 * 1024
"""Half a million rows fit comfortably; a bigger file is better imported with the CLI."""
IMPORT_BODY_RULE = BodyRule(r"/admin/lists/[^/]+/import", MAX_UPLOAD)
"""The upload's body limit, enforced while it streams in (the app's one ``BodyLimit``)."""
OUTCOME_NAMES = {
    RowOutcome.added: "dodani",
    RowOutcome.updated: "posodobljeni",
    RowOutcome.unchanged: "nespremenjeni",
    RowOutcome.merged: "združeni (naslov že prej v datoteki)",
    RowOutcome.suppressed: "preskočeni (blokiran naslov)",
    RowOutcome.unsubscribed: "preskočeni (odjavljeni s seznama)",
    RowOutcome.rejected: "zavrnjeni",
}
STATUS_NAMES = {
    SubscriptionStatus.confirmed.value: "potrjeni",
    SubscriptionStatus.pending.value: "čakajo na potrditev",
    SubscriptionStatus.unsubscribed.value: "odjavljeni",
}


def _list(session: Session, slug: str) -> MailingList:
    try:
        return get_list(session, slug)
    except ListNotFound:
        raise HTTPException(status_code=404) from None


@router.get("/admin/lists")
def lists_page(request: Request, staff: Admin) -> Response:
    with Session(engine_of(request), expire_on_commit=False) as session:
        lists = all_lists(session)
        counts = status_counts(session)
        return render(
            request,
            "admin/lists.html",
            staff=staff,
            active="lists",
            lists=lists,
            counts={m.id: counts.get(m.id or 0, Counter()) for m in lists},
            statuses=STATUS_NAMES,
            period=current_period(settings_of(request).tz),
        )


@dataclass(frozen=True)
class Paging:
    """What a page of subscribers was asked for: the search and where to page from."""

    q: str = ""
    before: int | None = None
    after: int | None = None

    def page(self, session: Session, list_id: int | None = None) -> SubscriberPage:
        return subscriber_page(
            session, self.q, list_id=list_id, before=self.before, after=self.after
        )

    def url(self, path: str, **cursor: int) -> str:
        """``path`` for the page beside this one (``before=`` older, ``after=`` newer)."""
        query = {"q": self.q} if self.q else {}
        return f"{path}?{urlencode({**query, **cursor})}" if query or cursor else path


def _paging(q: str, before: int | None, after: int | None) -> Paging:
    return Paging(q.strip()[:200], before, None if before is not None else after)


def _list_view(
    request: Request,
    staff: Staff,
    slug: str,
    *,
    paging: Paging = Paging(),
    import_report: object = None,
    import_error: str | None = None,
    name_notice: str | None = None,
    name_error: str | None = None,
    status_code: int = 200,
) -> Response:
    with Session(engine_of(request), expire_on_commit=False) as session:
        mailing_list = _list(session, slug)
        return render(
            request,
            "admin/list.html",
            staff=staff,
            status_code=status_code,
            active="lists",
            mailing_list=mailing_list,
            counts=status_counts(session, mailing_list.id).get(mailing_list.id or 0, Counter()),
            statuses=STATUS_NAMES,
            topics=list_topics(session, mailing_list.id or 0),
            q=paging.q,
            found=paging.page(session, mailing_list.id),
            page_url=lambda **cursor: paging.url(f"/admin/lists/{slug}", **cursor),
            report=import_report,
            outcomes=OUTCOME_NAMES,
            import_error=import_error,
            notice=name_notice,
            error=name_error,
            period=current_period(settings_of(request).tz),
        )


@router.get("/admin/lists/{slug}")
def list_page(
    request: Request,
    staff: Admin,
    slug: str,
    q: str = "",
    before: int | None = None,
    after: int | None = None,
    notice: str | None = None,
) -> Response:
    """A list: its counts, its newest subscribers (or those found), paged; import and export."""
    saved = "Angleško ime seznama je shranjeno." if notice == "name-saved" else None
    return _list_view(request, staff, slug, paging=_paging(q, before, after), name_notice=saved)


@router.post("/admin/lists/{slug}/name-en", dependencies=[Depends(require_csrf)])
def save_english_name(
    request: Request,
    staff: Admin,
    slug: str,
    name_en: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Give the list its English name, or take it away (empty: English readers see the
    Slovenian one), as ``lists create --name-en`` and the API do; recorded in the audit log."""
    try:
        with session_scope(engine_of(request)) as session:
            set_english_name(
                session,
                _list(session, slug),
                name_en,
                actor=staff.email,
                client=client_address(request),
            )
    except RegisterError:  # the English name's rule (clean_english_name)
        return _list_view(request, staff, slug, name_error=ENGLISH_NAME_TOO_LONG, status_code=400)
    return RedirectResponse(f"/admin/lists/{slug}?notice=name-saved", status_code=303)


def _subscribers_view(
    request: Request,
    staff: Admin,
    paging: Paging = Paging(),
    *,
    lift_notice: str | None = None,
    lift_error: str | None = None,
    status_code: int = 200,
) -> Response:
    with Session(engine_of(request), expire_on_commit=False) as session:
        return render(
            request,
            "admin/subscribers.html",
            staff=staff,
            status_code=status_code,
            active="subscribers",
            q=paging.q,
            found=paging.page(session),
            page_url=lambda **cursor: paging.url("/admin/subscribers", **cursor),
            statuses=STATUS_NAMES,
            lift_notice=lift_notice,
            lift_error=lift_error,
        )


@router.get("/admin/subscribers")
def subscribers_page(
    request: Request,
    staff: Admin,
    q: str = "",
    before: int | None = None,
    after: int | None = None,
) -> Response:
    """The newest subscribers of every list, paged; or those found by a piece of the address
    or of the name, paged alike."""
    return _subscribers_view(request, staff, _paging(q, before, after))


LIFT_REFUSALS = {
    NotSuppressed: "Ta naslov ni blokiran (ali ni veljaven naslov): ni česa odblokirati.",
    SuppressionKept: "Lastnik naslova se je odjavil z vseh seznamov ali zahteval izbris: "
    "blokado lahko odpravi le sam, ko se znova prijavi in prijavo potrdi.",
    LiftReasonMissing: "Napišite, zakaj je bila blokada pomota (zapiše se v dnevnik).",
}
"""What the admin says for each refusal of :func:`lift_suppression`."""
SUPPRESSION_NAMES = {
    SuppressionReason.hard_bounce: "trajna zavrnitev",
    SuppressionReason.complaint: "pritožba",
}


@router.post("/admin/subscribers/lift-suppression", dependencies=[Depends(require_csrf)])
def lift_suppression_form(
    request: Request,
    staff: Admin,
    email: Annotated[str, Form(max_length=320)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Lift a bounce or complaint suppression that was a false positive (admins only: the
    register, suppressions included, is theirs), recorded in the audit log."""
    try:
        with session_scope(engine_of(request)) as session:
            was = lift_suppression(
                session, email, why=reason, actor=staff.email, client=client_address(request)
            )
    except (NotSuppressed, SuppressionKept, LiftReasonMissing) as exc:
        return _subscribers_view(
            request, staff, lift_error=LIFT_REFUSALS[type(exc)], status_code=400
        )
    notice = f"Blokada naslova {email.strip()} ({SUPPRESSION_NAMES[was]}) je odpravljena."
    return _subscribers_view(request, staff, lift_notice=notice)


@router.post("/admin/lists/{slug}/import")
async def import_page(request: Request, staff: Admin, slug: str) -> Response:
    """Import an uploaded CSV file into the list. The upload is written once, straight into
    a file under its own name as it streams in (the app's body limit caps it meanwhile);
    its CSRF token is checked once it is read, and rows like ``žiga@example.org`` are
    refused as the subscribe form refuses them when the relay does not offer SMTPUTF8."""
    with tempfile.TemporaryDirectory(prefix="publisher-import-") as folder:
        try:
            upload = await receive_upload(request, Path(folder), default_name="uvoz.csv")
        except UploadRefused:
            return await run_in_threadpool(
                _list_view,
                request,
                staff,
                slug,
                import_error="Datoteke ni bilo mogoče prebrati: izberite datoteko CSV in jo "
                "pošljite z obrazcem na tej strani.",
                status_code=400,
            )
        check_csrf_token(request, upload.fields.get(CSRF_FIELD))
        utf8_mailboxes = await request.app.state.outbox.offers_smtputf8() is not False
        return await run_in_threadpool(_import, request, staff, slug, upload, utf8_mailboxes)


def _import(
    request: Request, staff: StaffAccount, slug: str, upload: Upload, utf8_mailboxes: bool
) -> Response:
    assert upload.path is not None
    path = upload.path
    try:
        with session_scope(engine_of(request)) as session:
            _list(session, slug)
            report = import_csv(
                session,
                path,
                slug,
                confirmed=upload.fields.get("confirmed") == "yes",
                utf8_mailboxes=utf8_mailboxes,
            )
    except (CsvFileError, RegisterError) as exc:
        message = str(exc).replace(str(path), path.name)
        return _list_view(
            request,
            staff,
            slug,
            import_error=f"Datoteke ni bilo mogoče uvoziti: {message}",
            status_code=400,
        )
    report.source = path.name
    return _list_view(request, staff, slug, import_report=report)


@router.get("/admin/lists/{slug}/export.csv")
def export_csv(request: Request, staff: Admin, slug: str, status: str | None = None) -> Response:
    """The list's subscribers as CSV (UTF-8 with a BOM, so spreadsheet programs read č š ž)."""
    chosen = SubscriptionStatus(status) if status in STATUS_NAMES else None
    engine = engine_of(request)
    tz = settings_of(request).tz
    with session_scope(engine) as session:
        _list(session, slug)
        record(
            session,
            AuditAction.register_export,
            actor=staff.email,
            client=client_address(request),
            subject=slug,
            detail=audit.detail_line(audit.EXPORTED, status=chosen or audit.EVERY_STATUS),
        )

    def chunks() -> Iterator[bytes]:
        with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024, mode="w+b") as spool:
            text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
            text.write("\ufeff")
            with Session(engine) as session:
                write_csv(export_rows(session, slug, status=chosen, tz=tz), text)
            text.flush()
            spool.seek(0)
            while chunk := spool.read(64 * 1024):
                yield chunk
            text.detach()

    return csv_download(request, chunks(), slug)
