"""Staff sessions: login, logout, and the checks every ``/admin`` request passes first.

A session is a row in the database (:mod:`publisher.staff.sessions`) whose random key the
browser holds in a signed cookie (``HttpOnly``, ``SameSite=Lax``, ``Secure`` on https, at
most :data:`~publisher.staff.sessions.SESSION_MAX_AGE`). Logging out deletes the row, so a
copy of the cookie taken before opens nothing afterwards; "log out everywhere" deletes every
session of the account, as does a new password or removing the account.

:class:`StaffGate` decides who may post before a byte of the body is read: a form to any
admin route but the login page needs a live session, and every admin form must come from
our own pages as far as the headers tell (:func:`publisher.web.csrf.refuse_before_body`). A
stranger's upload is refused at once instead of being spooled to disk first; the token in
the form is checked as before once the (size-limited) body has been read.

Login guessing is slowed per client and per account by
:class:`publisher.web.ratelimit.LoginThrottle`, which never locks the staff member's own
browser out (see there), and every answer to a wrong or throttled attempt is the same for a
known and an unknown address, after the same one password verification. Sign-ins, failures,
throttling and logouts are logged (logger ``publisher.web.admin.auth``; throttling at
WARNING) with the address typed and the client's.

Two-factor sign-in (:mod:`publisher.staff.two_factor`): for an account that has it, the
right password opens only a session *awaiting the second factor*, which no admin page, form
or API call accepts; the code (or a recovery code) typed on :data:`SECOND_STEP_PATH` turns
it into a full session with a new key. Wrong codes count in the same throttle as wrong
passwords. Where the ``require_two_factor`` setting names the account's role and it has no
second factor yet, a full session reaches only :data:`BEFORE_TWO_FACTOR_PATHS` (the set-up
page, logging out) until it is set up.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Annotated, Generic, TypeVar
from urllib.parse import urlencode, urlunsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from publisher import audit
from publisher.audit import AuditAction, record
from publisher.db import session_scope
from publisher.staff.accounts import LoginRefused, authenticate, verify_nothing
from publisher.staff.models import ROLE_NAMES, Role, StaffAccount
from publisher.staff.sessions import (
    SECOND_STEP_MAX_AGE,
    SESSION_MAX_AGE,
    awaiting_account,
    close_all_sessions,
    close_session,
    complete_second_factor,
    open_session,
    session_account,
)
from publisher.staff.two_factor import Check, Verdict, enabled, must_set_up, verify
from publisher.web.admin.render import engine_of, render, settings_of
from publisher.web.clients import client_address
from publisher.web.csrf import refuse_before_body, require_csrf
from publisher.web.gate import before_body
from publisher.web.ratelimit import LoginThrottle

SESSION_COOKIE = "publisher_staff"
DEVICE_COOKIE = "publisher_device"
DEVICE_MAX_AGE = timedelta(days=365)
"""How long a browser that signed in stays a known device of its account."""
LOGIN_PATH = "/admin/login"
SECOND_STEP_PATH = "/admin/login/code"
LOGOUT_PATH = "/admin/logout"
LOGOUT_EVERYWHERE_PATH = "/admin/logout/everywhere"
TWO_FACTOR_PATH = "/admin/two-factor"
TWO_FACTOR_ENABLE_PATH = "/admin/two-factor/enable"
BEFORE_TWO_FACTOR_PATHS = frozenset(
    {TWO_FACTOR_PATH, TWO_FACTOR_ENABLE_PATH, LOGOUT_PATH, LOGOUT_EVERYWHERE_PATH}
)
"""All that a staff member whose role requires two-factor sign-in may open before setting it up."""
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_SIGNED_IN = "Za to dejanje se morate prijaviti."
SET_UP_FIRST = "Vaša vloga zahteva dvostopenjsko prijavo: najprej jo nastavite."
WRONG = "Napačen e-poštni naslov ali geslo."
WRONG_CODE = (
    "Koda ni pravilna. Vpišite trenutno kodo iz aplikacije ali neuporabljeno obnovitveno kodo."
)
REPLAYED_CODE = "Ta koda je že bila uporabljena. Počakajte na naslednjo kodo v aplikaciji."
NOT_ALLOWED = "Tega vaša vloga ({have}) ne dovoli: potrebna je vloga {need}."
THROTTLED = "Preveč neuspelih prijav. Poskusite znova čez nekaj minut."

log = logging.getLogger(__name__)
router = APIRouter()


def _serializer(request: Request, purpose: str) -> URLSafeTimedSerializer:
    secret = settings_of(request).secret
    return URLSafeTimedSerializer(secret, salt=f"publisher.staff-{purpose}")


def _cookie(request: Request, response: Response, name: str, value: str, age: timedelta) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(age.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/admin",
    )


def _session_key(request: Request) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or len(cookie) > 500:
        return None
    try:
        key = _serializer(request, "session").loads(
            cookie, max_age=int(SESSION_MAX_AGE.total_seconds())
        )
    except BadData:
        return None
    return key if isinstance(key, str) else None


def current_staff(request: Request) -> StaffAccount | None:
    """The signed-in account, or None for a missing, forged, expired or ended session, and
    for one whose second factor is still to come."""
    cached = getattr(request.state, "staff", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    key = _session_key(request)
    if key is None:
        return None
    with Session(engine_of(request), expire_on_commit=False) as session:
        account = session_account(session, key)
    if account is not None:
        request.state.staff = account
    return account


def awaiting_staff(request: Request) -> StaffAccount | None:
    """The account whose password was right in this browser, if its second factor is due."""
    key = _session_key(request)
    if key is None:
        return None
    with Session(engine_of(request), expire_on_commit=False) as session:
        return awaiting_account(session, key)


def setting_up_only(request: Request, account: StaffAccount) -> bool:
    """Whether this request is out of bounds for ``account`` because its role requires
    two-factor sign-in and it has none yet (only :data:`BEFORE_TWO_FACTOR_PATHS` are not)."""
    required = settings_of(request).require_two_factor
    return must_set_up(account, required) and request.url.path not in BEFORE_TWO_FACTOR_PATHS


def require_staff(request: Request) -> StaffAccount:
    """Dependency of every admin route: the staff member, else login page (GET) or 403; the
    set-up page for one who must set up two-factor sign-in first."""
    account = current_staff(request)
    if account is not None and not setting_up_only(request, account):
        return account
    if request.method in ("GET", "HEAD"):
        if account is not None:
            location = TWO_FACTOR_PATH
        else:
            target = urlunsplit(("", "", request.url.path, request.url.query, ""))
            location = f"{LOGIN_PATH}?{urlencode({'next': target}, safe='/')}"
        raise HTTPException(status_code=303, detail="Prijavite se.", headers={"Location": location})
    raise HTTPException(status_code=403, detail=SET_UP_FIRST if account else NOT_SIGNED_IN)


class RoleRefused(HTTPException):
    """403 for a signed-in staff member whose role does not allow the page or the form."""

    def __init__(self, have: Role, need: Role) -> None:
        super().__init__(
            status_code=403, detail=NOT_ALLOWED.format(have=ROLE_NAMES[have], need=ROLE_NAMES[need])
        )


def role_of(account: StaffAccount) -> Role:
    """The account's role (the column reads back as a plain string)."""
    return Role(account.role)


@cache
def require_role(needed: Role) -> Callable[[Request], StaffAccount]:
    """The one dependency every admin page and form states its role with: the signed-in
    staff member if their role allows ``needed``, else :class:`RoleRefused` (403), or the
    login page / 403 of :func:`require_staff` for nobody signed in. Cached, so that one
    route's dependencies share one check per role; decided before a form's body is read
    (:func:`publisher.web.gate.before_body`)."""

    def check(request: Request) -> StaffAccount:
        account = require_staff(request)
        have = role_of(account)
        if not have.allows(needed):
            log.info(
                "staff refused, role %s needs %s: account=%r path=%s",
                have,
                needed,
                account.email,
                request.url.path,
            )
            raise RoleRefused(have, needed)
        return account

    check.__name__ = f"require_{needed.value}"
    return before_body(check)


Staff = Annotated[StaffAccount, Depends(require_role(Role.editor))]
"""Any signed-in staff member: articles, drafts, previews, test sends."""
Approver = Annotated[StaffAccount, Depends(require_role(Role.approver))]
"""Approving and sending editions, and pausing, resuming, cancelling, retrying them."""
Admin = Annotated[StaffAccount, Depends(require_role(Role.admin))]
"""Lists, the register (its import and export), staff and settings."""


def is_admin_path(path: str) -> bool:
    """Whether ``path`` is one of the admin's (``/admin`` and below, not ``/administration``)."""
    return path == "/admin" or path.startswith("/admin/")


class StaffGate:
    """ASGI middleware: admin forms from strangers or other sites are refused before their
    body is read (FastAPI reads a route's form before any of its dependencies run).

    The login and logout forms need no session, the second step of a sign-in a session
    awaiting it; every other admin form needs a full session (and, where the role requires
    it, a second factor set up). The full CSRF token check still runs in the route, on the
    body the size limit let through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if (
            scope["type"] != "http"
            or scope["method"] not in UNSAFE_METHODS
            or not is_admin_path(path)
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = refuse_before_body(request)
        if refusal is None:
            refusal = await run_in_threadpool(self._session_refusal, request, path)
        if refusal is not None:
            response = PlainTextResponse(refusal + "\n", status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _session_refusal(request: Request, path: str) -> str | None:
        if path in (LOGIN_PATH, LOGOUT_PATH):
            return None
        if path == SECOND_STEP_PATH:
            return None if awaiting_staff(request) is not None else NOT_SIGNED_IN
        account = current_staff(request)
        if account is None:
            return NOT_SIGNED_IN
        return SET_UP_FIRST if setting_up_only(request, account) else None


def _safe_next(value: str | None) -> str:
    """Only back into the admin: never to another site (``//evil``) after logging in."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin"


def client_of(request: Request) -> str:
    """The client's address as the audit log and the throttle count it."""
    return client_address(request) or "unknown"


def _known_device(request: Request, typed: str) -> str | None:
    """The id of this browser if it signed in to the account ``typed`` before, else None."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie or len(cookie) > 500:
        return None
    try:
        email, device = _serializer(request, "device").loads(
            cookie, max_age=int(DEVICE_MAX_AGE.total_seconds())
        )
    except (BadData, TypeError, ValueError):
        return None
    if email != typed or not isinstance(device, str):
        return None
    return device


@router.get("/admin/login")
def login_page(request: Request, next: str | None = None, odjava: int = 0) -> Response:
    if current_staff(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    notice = "Odjavljeni ste." if odjava else None
    return render(
        request, "admin/login.html", staff=None, next=_safe_next(next), notice=notice, error=None
    )


@router.post(LOGIN_PATH, dependencies=[Depends(require_csrf)])
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/admin",
) -> Response:
    throttle: LoginThrottle = request.app.state.admin.throttle
    client = client_of(request)
    typed = email.strip().lower()
    device = _known_device(request, typed)

    def refused(message: str, status_code: int, retry_after: int = 0) -> Response:
        response = render(
            request,
            "admin/login.html",
            staff=None,
            status_code=status_code,
            next=_safe_next(next),
            notice=None,
            error=message,
            email=email,
        )
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    throttled = throttle.check(client, typed, device)
    if throttled is not None:
        verify_nothing(password)  # as long as a checked attempt, known address or not
        log.info("staff sign-in refused, throttled: account=%r client=%s", typed, client)
        with session_scope(engine_of(request)) as session:
            record(
                session,
                AuditAction.sign_in_failed,
                actor=typed,
                client=client,
                detail=audit.detail_line(audit.THROTTLED),
            )
        return refused(THROTTLED, 429, throttled.retry_after)
    with session_scope(engine_of(request)) as session:
        try:
            account = authenticate(session, email, password)
        except LoginRefused:
            account = None
        second_step = account is not None and enabled(account)
        if account is not None:
            key = open_session(session, account, awaiting_second_factor=second_step)
            if not second_step:
                record(session, AuditAction.sign_in, actor=account.email, client=client)
        else:
            record(session, AuditAction.sign_in_failed, actor=typed, client=client)
    if account is None:
        throttle.failed(client, typed, device)
        log.info("staff sign-in failed: account=%r client=%s", typed, client)
        now_throttled = throttle.check(client, typed, device)
        if now_throttled is not None:
            log.warning(
                "staff sign-in throttled for %d s (too many failures per %s): "
                "account=%r client=%s known_device=%s",
                now_throttled.retry_after,
                now_throttled.reason,
                typed,
                client,
                device is not None,
            )
        return refused(WRONG, 401)
    session_cookie = _signed(request, "session", key)
    if second_step:
        log.info("staff password right, second factor due: account=%r client=%s", typed, client)
        response = RedirectResponse(
            f"{SECOND_STEP_PATH}?{urlencode({'next': _safe_next(next)}, safe='/')}",
            status_code=303,
        )
        _cookie(request, response, SESSION_COOKIE, session_cookie, SECOND_STEP_MAX_AGE)
        return response
    log.info("staff sign-in: account=%r client=%s", account.email, client)
    required = settings_of(request).require_two_factor
    target = TWO_FACTOR_PATH if must_set_up(account, required) else _safe_next(next)
    return _signed_in(request, account, session_cookie, device, target)


def _signed_in(
    request: Request, account: StaffAccount, session_cookie: str, device: str | None, target: str
) -> Response:
    """Off to ``target`` with the full session's cookie, and this browser now a known device
    of the account (see :class:`~publisher.web.ratelimit.LoginThrottle`)."""
    response = RedirectResponse(target, status_code=303)
    _cookie(request, response, SESSION_COOKIE, session_cookie, SESSION_MAX_AGE)
    device_value = [account.email, device or secrets.token_urlsafe(16)]
    _cookie(
        request, response, DEVICE_COOKIE, _signed(request, "device", device_value), DEVICE_MAX_AGE
    )
    return response


T = TypeVar("T")

FAILURES = {Verdict.wrong: audit.FACTOR_WRONG, Verdict.replayed: audit.FACTOR_REPLAYED}
"""How the audit log words a refused second factor: wrong, or right but used before."""

PASSED_WITH = {
    Verdict.code: audit.WITH_CODE,
    Verdict.recovery_code: audit.WITH_RECOVERY_CODE,
    Verdict.password: audit.WITH_PASSWORD,
}
"""How the audit log words what passed a second step: a code, a recovery code, the password."""


@dataclass(frozen=True)
class SecondFactorAttempt(Generic[T]):
    """What :func:`second_factor_attempt` came to: ``check`` None means it was throttled."""

    check: Check | None
    result: T | None = None
    retry_after: int = 0

    @property
    def passed(self) -> bool:
        return self.check is not None and self.check.passed

    def refusal(self) -> tuple[str, int]:
        """The message and status to answer a refused attempt with."""
        if self.check is None:
            return THROTTLED, 429
        if self.check.verdict is Verdict.replayed:
            return REPLAYED_CODE, 401
        return WRONG_CODE, 401


def second_factor_attempt(
    request: Request,
    account: StaffAccount,
    purpose: str,
    attempt: Callable[[Session, StaffAccount], tuple[Check, T]],
) -> SecondFactorAttempt[T]:
    """Run one check of a second factor (or of a password standing in for it) for ``account``
    under the login throttle: refused unasked while the throttle says wait, counted there when
    wrong, and a failure recorded in the audit log as ``purpose: why``. ``attempt`` gets the
    database session and the account loaded in it, and records its own success."""
    throttle: LoginThrottle = request.app.state.admin.throttle
    client = client_of(request)
    device = _known_device(request, account.email)
    throttled = throttle.check(client, account.email, device)
    if throttled is not None:
        log.warning("staff second factor throttled: account=%r client=%s", account.email, client)
        with session_scope(engine_of(request)) as session:
            record(
                session,
                AuditAction.two_factor_failed,
                actor=account.email,
                client=client,
                detail=audit.detail_line(audit.FACTOR_THROTTLED, purpose=purpose),
            )
        return SecondFactorAttempt(None, retry_after=throttled.retry_after)
    with session_scope(engine_of(request)) as session:
        loaded = session.get(StaffAccount, account.id)
        if loaded is None:
            raise HTTPException(status_code=403, detail=NOT_SIGNED_IN)
        check, result = attempt(session, loaded)
        if not check.passed:
            record(
                session,
                AuditAction.two_factor_failed,
                actor=account.email,
                client=client,
                detail=audit.detail_line(FAILURES[check.verdict], purpose=purpose),
            )
    if not check.passed:
        throttle.failed(client, account.email, device)
        log.info("staff second factor refused: account=%r client=%s", account.email, client)
        return SecondFactorAttempt(check)
    return SecondFactorAttempt(check, result)


@router.get(SECOND_STEP_PATH)
def second_step_page(request: Request, next: str | None = None) -> Response:
    """The second step of a sign-in: the code from the app, or a recovery code."""
    if awaiting_staff(request) is None:
        return RedirectResponse(
            f"{LOGIN_PATH}?{urlencode({'next': _safe_next(next)}, safe='/')}", status_code=303
        )
    return render(request, "admin/login_code.html", staff=None, next=_safe_next(next), error=None)


@router.post(SECOND_STEP_PATH, dependencies=[Depends(require_csrf)])
def second_step(
    request: Request,
    code: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/admin",
) -> Response:
    key = _session_key(request)
    account = awaiting_staff(request)
    if key is None or account is None:  # the ten minutes are over, or it was ended
        return RedirectResponse(LOGIN_PATH, status_code=303)
    client = client_of(request)

    def attempt(session: Session, loaded: StaffAccount) -> tuple[Check, str | None]:
        check = verify(session, loaded, settings_of(request).secret, code)
        if not check.passed:
            return check, None
        full_key = complete_second_factor(session, key, loaded)
        record(
            session,
            AuditAction.sign_in,
            actor=loaded.email,
            client=client,
            detail=audit.detail_line(PASSED_WITH[check.verdict]),
        )
        if check.verdict is Verdict.recovery_code:
            record(
                session,
                AuditAction.recovery_code_used,
                actor=loaded.email,
                client=client,
                detail=audit.detail_line(audit.CODES_LEFT, count=check.recovery_codes_left),
            )
        return check, full_key

    outcome = second_factor_attempt(request, account, audit.SIGN_IN, attempt)
    if not outcome.passed or outcome.result is None:
        message, status_code = outcome.refusal()
        response = render(
            request,
            "admin/login_code.html",
            staff=None,
            status_code=status_code,
            next=_safe_next(next),
            error=message,
        )
        if outcome.retry_after:
            response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    log.info("staff sign-in with second factor: account=%r client=%s", account.email, client)
    assert outcome.check is not None
    target = _safe_next(next)
    if outcome.check.verdict is Verdict.recovery_code:
        target = f"{TWO_FACTOR_PATH}?{urlencode({'ostalo': outcome.check.recovery_codes_left})}"
    session_cookie = _signed(request, "session", outcome.result)
    return _signed_in(
        request, account, session_cookie, _known_device(request, account.email), target
    )


def _signed(request: Request, purpose: str, value: object) -> str:
    return str(_serializer(request, purpose).dumps(value))


def _logged_out(request: Request) -> Response:
    response = RedirectResponse(f"{LOGIN_PATH}?{urlencode({'odjava': 1})}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/admin", httponly=True, samesite="lax")
    return response


@router.post(LOGOUT_PATH, dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    """End this session on the server: a copy of the cookie opens nothing afterwards."""
    key = _session_key(request)
    account = current_staff(request)
    if key is not None:
        with session_scope(engine_of(request)) as session:
            close_session(session, key)
            if account is not None:
                record(
                    session, AuditAction.sign_out, actor=account.email, client=client_of(request)
                )
    if account is not None:
        log.info("staff logout: account=%r client=%s", account.email, client_of(request))
    return _logged_out(request)


@router.post(LOGOUT_EVERYWHERE_PATH, dependencies=[Depends(require_csrf)])
def logout_everywhere(request: Request, staff: Staff) -> Response:
    """End every session of this staff member, in every browser (a lost phone, a shared PC)."""
    with session_scope(engine_of(request)) as session:
        ended = close_all_sessions(session, staff)
        record(
            session,
            AuditAction.sign_out_everywhere,
            actor=staff.email,
            client=client_of(request),
            detail=audit.detail_line(audit.SESSIONS_ENDED, count=ended),
        )
    log.info(
        "staff logout everywhere: account=%r client=%s sessions=%d",
        staff.email,
        client_of(request),
        ended,
    )
    return _logged_out(request)
