"""The staff page for admins: every account with its role, its second factor and its last
sign-in, and the reset of another member's second factor (a lost phone).

Accounts are still added, removed and given passwords with ``publisher staff``; the reset is
here too because it is what a colleague without their phone needs at once. An admin resets
only others: their own second factor they turn off on their own page, with their password
or a code, like everybody else.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from publisher import audit
from publisher.audit import AuditAction, record
from publisher.db import MAX_ROW_ID, session_scope
from publisher.staff.accounts import list_staff
from publisher.staff.models import ROLE_NAMES, StaffAccount
from publisher.staff.two_factor import enabled, reset
from publisher.web.admin.auth import Admin, client_of, log
from publisher.web.admin.render import engine_of, render, settings_of
from publisher.web.csrf import require_csrf

router = APIRouter()
STAFF_PATH = "/admin/staff"


def _page(
    request: Request,
    staff: StaffAccount,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    with Session(engine_of(request)) as session:
        accounts = list_staff(session)
    return render(
        request,
        "admin/staff.html",
        staff=staff,
        active="staff",
        status_code=status_code,
        notice=notice,
        error=error,
        accounts=accounts,
        role_names={role.value: name for role, name in ROLE_NAMES.items()},
        required=settings_of(request).require_two_factor,
        enabled=enabled,
    )


def _account(session: Session, account_id: int) -> StaffAccount | None:
    return session.get(StaffAccount, account_id) if 0 < account_id <= MAX_ROW_ID else None


@router.get(STAFF_PATH)
def staff_page(request: Request, staff: Admin, ponastavljen: int = 0) -> Response:
    notice = None
    with Session(engine_of(request)) as session:
        was_reset = _account(session, ponastavljen) if ponastavljen else None
    if was_reset is not None:
        notice = (
            f"Dvostopenjska prijava računa {was_reset.email} je ponastavljena in njegove "
            "prijave so končane. Ob naslednji prijavi zadošča geslo, če vloga ne zahteva "
            "dvostopenjske prijave; sicer jo bo treba najprej nastaviti."
        )
    return _page(request, staff, notice=notice)


@router.post(f"{STAFF_PATH}/{{account_id}}/reset-two-factor", dependencies=[Depends(require_csrf)])
def staff_reset_two_factor(request: Request, staff: Admin, account_id: int) -> Response:
    """Take away another member's second factor and recovery codes, and end their sessions."""
    if account_id == staff.id:
        return _page(
            request,
            staff,
            status_code=409,
            error="Svoje dvostopenjske prijave ne ponastavite tu: izklopite jo na strani "
            "Dvostopenjska prijava, z geslom ali kodo.",
        )
    with session_scope(engine_of(request)) as session:
        account = _account(session, account_id)
        if account is None:
            return _page(request, staff, status_code=404, error="Tega računa ni (več).")
        had = reset(session, account)
        record(
            session,
            AuditAction.two_factor_reset,
            actor=staff.email,
            client=client_of(request),
            subject=account.email,
            detail=audit.detail_line(
                audit.PASSWORD_FROM_STAFF_PAGE if had else audit.PASSWORD_FROM_STAFF_PAGE_FIRST
            ),
        )
        log.info("staff two-factor reset: account=%r by=%r", account.email, staff.email)
    return RedirectResponse(
        f"{STAFF_PATH}?{urlencode({'ponastavljen': account_id})}", status_code=303
    )
