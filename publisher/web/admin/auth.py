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
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Annotated
from urllib.parse import urlencode, urlunsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from publisher.audit import AuditAction, record
from publisher.db import session_scope
from publisher.staff.accounts import LoginRefused, authenticate, verify_nothing
from publisher.staff.models import ROLE_NAMES, Role, StaffAccount
from publisher.staff.sessions import (
    SESSION_MAX_AGE,
    close_all_sessions,
    close_session,
    open_session,
    session_account,
)
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
LOGOUT_PATH = "/admin/logout"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_SIGNED_IN = "Za to dejanje se morate prijaviti."
WRONG = "Napačen e-poštni naslov ali geslo."
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
    """The logged-in account, or None for a missing, forged, expired or ended session."""
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


def require_staff(request: Request) -> StaffAccount:
    """Dependency of every admin route: the staff member, else login page (GET) or 403."""
    account = current_staff(request)
    if account is not None:
        return account
    if request.method in ("GET", "HEAD"):
        target = urlunsplit(("", "", request.url.path, request.url.query, ""))
        location = f"{LOGIN_PATH}?{urlencode({'next': target}, safe='/')}"
        raise HTTPException(status_code=303, detail="Prijavite se.", headers={"Location": location})
    raise HTTPException(status_code=403, detail=NOT_SIGNED_IN)


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


class StaffGate:
    """ASGI middleware: admin forms from strangers or other sites are refused before their
    body is read (FastAPI reads a route's form before any of its dependencies run).

    The login and logout forms need no session; every other admin form does. The full CSRF
    token check still runs in the route, on the body the size limit let through.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if (
            scope["type"] != "http"
            or scope["method"] not in UNSAFE_METHODS
            or not (path == "/admin" or path.startswith("/admin/"))
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = refuse_before_body(request)
        needs_session = path not in (LOGIN_PATH, LOGOUT_PATH)
        if (
            refusal is None
            and needs_session
            and not await run_in_threadpool(current_staff, request)
        ):
            refusal = NOT_SIGNED_IN
        if refusal is not None:
            response = PlainTextResponse(refusal + "\n", status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _safe_next(value: str | None) -> str:
    """Only back into the admin: never to another site (``//evil``) after logging in."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin"


def _client(request: Request) -> str:
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
    client = _client(request)
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
                session, AuditAction.sign_in_failed, actor=typed, client=client, detail="throttled"
            )
        return refused(THROTTLED, 429, throttled.retry_after)
    with session_scope(engine_of(request)) as session:
        try:
            account = authenticate(session, email, password)
        except LoginRefused:
            account = None
        if account is not None:
            key = open_session(session, account)
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
    log.info("staff sign-in: account=%r client=%s", account.email, client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _cookie(request, response, SESSION_COOKIE, _signed(request, "session", key), SESSION_MAX_AGE)
    device_value = [account.email, device or secrets.token_urlsafe(16)]
    _cookie(
        request, response, DEVICE_COOKIE, _signed(request, "device", device_value), DEVICE_MAX_AGE
    )
    return response


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
                record(session, AuditAction.sign_out, actor=account.email, client=_client(request))
    if account is not None:
        log.info("staff logout: account=%r client=%s", account.email, _client(request))
    return _logged_out(request)


@router.post(f"{LOGOUT_PATH}/everywhere", dependencies=[Depends(require_csrf)])
def logout_everywhere(request: Request, staff: Staff) -> Response:
    """End every session of this staff member, in every browser (a lost phone, a shared PC)."""
    with session_scope(engine_of(request)) as session:
        ended = close_all_sessions(session, staff)
        record(
            session,
            AuditAction.sign_out_everywhere,
            actor=staff.email,
            client=_client(request),
            detail=f"{ended} session(s) ended",
        )
    log.info(
        "staff logout everywhere: account=%r client=%s sessions=%d",
        staff.email,
        _client(request),
        ended,
    )
    return _logged_out(request)
