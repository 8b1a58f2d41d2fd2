"""Each staff member's own two-factor sign-in page: set it up, make new recovery codes, turn
it off (:mod:`publisher.staff.two_factor` decides; this module renders).

Setting up shows the QR code as an inline ``data:`` image made by segno, so no request leaves
the site and the page keeps the site's Content-Security-Policy, and the secret in text for
apps that cannot scan. Recovery codes are shown once, in the answer to the form that made
them, never on a page one can come back to. Every check of a code or password here goes
through the login throttle and leaves an audit entry either way
(:func:`~publisher.web.admin.auth.second_factor_attempt`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from publisher import audit
from publisher.audit import AuditAction, record
from publisher.db import session_scope
from publisher.staff.models import ROLE_NAMES, Role, StaffAccount
from publisher.staff.two_factor import (
    Check,
    Enrolment,
    TwoFactorError,
    begin_setup,
    disable,
    enable,
    enabled,
    recovery_codes_left,
    regenerate_recovery_codes,
)
from publisher.web.admin.auth import (
    PASSED_WITH,
    TWO_FACTOR_ENABLE_PATH,
    TWO_FACTOR_PATH,
    SecondFactorAttempt,
    Staff,
    client_of,
    second_factor_attempt,
)
from publisher.web.admin.render import engine_of, render, settings_of
from publisher.web.csrf import require_csrf

router = APIRouter()
Code = Annotated[str, Form(max_length=100)]


def qr_image(uri: str) -> str:
    """The ``otpauth://`` URI as a QR code in a ``data:`` URI (SVG), for an ``<img>``."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=4))


def _grouped(secret: str) -> str:
    """The secret in blocks of four, as authenticator apps show and take it."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _page(
    request: Request,
    staff: StaffAccount,
    *,
    enrolment: Enrolment | None = None,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    """The page as it is now: the set-up for ``enrolment``, else the state of the account."""
    with Session(engine_of(request)) as session:
        loaded = session.get(StaffAccount, staff.id)
        assert loaded is not None
        left = recovery_codes_left(session, loaded) if enabled(loaded) else 0
        enabled_at = loaded.totp_enabled_at
    return render(
        request,
        "admin/two_factor.html",
        staff=staff,
        active="two-factor",
        status_code=status_code,
        error=error,
        notice=notice,
        enabled_at=enabled_at,
        left=left,
        required=str(staff.role) in settings_of(request).require_two_factor,
        role_name=ROLE_NAMES[Role(staff.role)],
        secret=_grouped(enrolment.secret) if enrolment else "",
        qr=qr_image(enrolment.uri) if enrolment else "",
    )


def _enrolment(request: Request, staff: StaffAccount) -> Enrolment:
    with session_scope(engine_of(request)) as session:
        loaded = session.get(StaffAccount, staff.id)
        assert loaded is not None
        return begin_setup(
            session, loaded, settings_of(request).secret, settings_of(request).site_name
        )


def _refused(
    request: Request, staff: StaffAccount, outcome: SecondFactorAttempt[object]
) -> Response:
    message, status_code = outcome.refusal()
    enrolment = None if enabled(staff) else _enrolment(request, staff)
    response = _page(request, staff, enrolment=enrolment, status_code=status_code, error=message)
    if outcome.retry_after:
        response.headers["Retry-After"] = str(outcome.retry_after)
    return response


MakeCodes = Callable[[Session, StaffAccount, str, str], tuple[Check, list[str]]]


def _recovery_codes_for_code(
    request: Request,
    staff: StaffAccount,
    code: str,
    make: MakeCodes,
    *,
    purpose: str,
    action: AuditAction,
) -> Response:
    """Check ``code`` with ``make`` (turning it on, or new codes), record ``action`` if it
    passed, and answer with the new recovery codes: the one time they are shown."""
    client = client_of(request)

    def attempt(session: Session, loaded: StaffAccount) -> tuple[Check, list[str]]:
        check, codes = make(session, loaded, settings_of(request).secret, code)
        if check.passed:
            record(session, action, actor=loaded.email, client=client)
        return check, codes

    try:
        outcome = second_factor_attempt(request, staff, purpose, attempt)
    except TwoFactorError:
        return _stale()
    if not outcome.passed or not outcome.result:
        return _refused(request, staff, outcome)
    return render(
        request,
        "admin/recovery_codes.html",
        staff=staff,
        active="two-factor",
        codes=outcome.result,
        first=action is AuditAction.two_factor_enabled,
    )


def _stale() -> Response:
    """Two tabs: the state changed since this form's page was shown; show it as it is."""
    return RedirectResponse(TWO_FACTOR_PATH, status_code=303)


@router.get(TWO_FACTOR_PATH)
def two_factor_page(
    request: Request, staff: Staff, ostalo: int | None = None, izklopljena: int = 0
) -> Response:
    """Set up (with the QR code), or the state: since when, how many recovery codes are left."""
    notice = "Dvostopenjska prijava je izklopljena." if izklopljena else None
    if ostalo is not None:
        notice = (
            f"Prijavili ste se z obnovitveno kodo; neuporabljenih je še {max(ostalo, 0)}. "
            "Če ste izgubili telefon, izklopite dvostopenjsko prijavo in jo nastavite znova, "
            "sicer si ustvarite nove kode."
        )
    enrolment = None if enabled(staff) else _enrolment(request, staff)
    return _page(request, staff, enrolment=enrolment, notice=notice)


@router.post(TWO_FACTOR_ENABLE_PATH, dependencies=[Depends(require_csrf)])
def two_factor_enable(request: Request, staff: Staff, code: Code = "") -> Response:
    """Turn it on for a code of the secret being set up; answer with the recovery codes."""
    return _recovery_codes_for_code(
        request, staff, code, enable, purpose=audit.SET_UP, action=AuditAction.two_factor_enabled
    )


@router.post(f"{TWO_FACTOR_PATH}/recovery-codes", dependencies=[Depends(require_csrf)])
def two_factor_recovery_codes(request: Request, staff: Staff, code: Code = "") -> Response:
    """Ten new recovery codes for a current code from the app; the old ones stop working."""
    return _recovery_codes_for_code(
        request,
        staff,
        code,
        regenerate_recovery_codes,
        purpose=audit.NEW_CODES,
        action=AuditAction.recovery_codes_regenerated,
    )


@router.post(f"{TWO_FACTOR_PATH}/disable", dependencies=[Depends(require_csrf)])
def two_factor_disable(
    request: Request,
    staff: Staff,
    password: Annotated[str, Form(max_length=1000)] = "",
    code: Code = "",
) -> Response:
    """Turn it off for the password or a current code."""
    client = client_of(request)

    def attempt(session: Session, loaded: StaffAccount) -> tuple[Check, None]:
        check = disable(session, loaded, settings_of(request).secret, password=password, code=code)
        if check.passed:
            record(
                session,
                AuditAction.two_factor_disabled,
                actor=loaded.email,
                client=client,
                detail=audit.detail_line(PASSED_WITH[check.verdict]),
            )
        return check, None

    try:
        outcome = second_factor_attempt(request, staff, audit.TURNING_OFF, attempt)
    except TwoFactorError:
        return _stale()
    if not outcome.passed:
        message, status_code = outcome.refusal()
        if outcome.check is not None:
            message = "Geslo ali koda ni pravilna; dvostopenjska prijava ostaja vklopljena."
        return _page(request, staff, status_code=status_code, error=message)
    return RedirectResponse(f"{TWO_FACTOR_PATH}?izklopljena=1", status_code=303)
