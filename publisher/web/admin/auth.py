"""Staff sessions: login, logout, and the check every ``/admin`` route makes first.

A session is a signed cookie (itsdangerous, the site's secret, its own salt) holding the
account id and a fingerprint of its password hash, for at most :data:`SESSION_MAX_AGE`.
Nothing is kept on the server, so any number of web processes share sessions; removing an
account or changing its password ends its sessions at their next request, and logging out
deletes the cookie. The cookie is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` on https.

Strangers asking for a page are sent to the login page; strangers posting a form get 403.
Wrong passwords count per account (see :mod:`publisher.staff.accounts`, which locks it) and
per client address (:class:`publisher.web.ratelimit.LoginThrottle`), so one address cannot
try many accounts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode, urlunsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlmodel import Session
from starlette.exceptions import HTTPException

from publisher.staff.accounts import (
    AccountLocked,
    LoginRefused,
    authenticate,
    session_fingerprint,
)
from publisher.staff.models import StaffAccount
from publisher.web.admin.render import engine_of, render, settings_of, when
from publisher.web.clients import client_address
from publisher.web.csrf import require_csrf
from publisher.web.ratelimit import LoginThrottle

SESSION_COOKIE = "publisher_staff"
SESSION_MAX_AGE = timedelta(hours=8)
"""A working day: staff log in again the next morning."""
LOGIN_PATH = "/admin/login"

router = APIRouter()


def _serializer(request: Request) -> URLSafeTimedSerializer:
    secret = settings_of(request).secret
    return URLSafeTimedSerializer(secret, salt="publisher.staff-session")


def start_session(request: Request, response: Response, account: StaffAccount) -> None:
    value = _serializer(request).dumps([account.id, session_fingerprint(account)])
    response.set_cookie(
        SESSION_COOKIE,
        str(value),
        max_age=int(SESSION_MAX_AGE.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/admin",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/admin", httponly=True, samesite="lax")


def current_staff(request: Request) -> StaffAccount | None:
    """The logged-in account, or None for a missing, forged, expired or outdated cookie."""
    cached = getattr(request.state, "staff", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or len(cookie) > 500:
        return None
    try:
        payload = _serializer(request).loads(cookie, max_age=int(SESSION_MAX_AGE.total_seconds()))
        account_id, fingerprint = payload
    except (BadData, TypeError, ValueError):
        return None
    if not isinstance(account_id, int) or not isinstance(fingerprint, str):
        return None
    with Session(engine_of(request), expire_on_commit=False) as session:
        account = session.get(StaffAccount, account_id)
    if account is None or not account.active or session_fingerprint(account) != fingerprint:
        return None
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
    raise HTTPException(status_code=403, detail="Za to dejanje se morate prijaviti.")


Staff = Annotated[StaffAccount, Depends(require_staff)]


def _safe_next(value: str | None) -> str:
    """Only back into the admin: never to another site (``//evil``) after logging in."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin"


def _client(request: Request) -> str:
    return client_address(request) or "unknown"


@router.get("/admin/login")
def login_page(request: Request, next: str | None = None, odjava: int = 0) -> Response:
    if current_staff(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    notice = "Odjavljeni ste." if odjava else None
    return render(
        request, "admin/login.html", staff=None, next=_safe_next(next), notice=notice, error=None
    )


@router.post("/admin/login", dependencies=[Depends(require_csrf)])
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/admin",
) -> Response:
    settings = settings_of(request)
    throttle: LoginThrottle = request.app.state.admin.throttle
    client = _client(request)

    def refused(message: str, status_code: int) -> Response:
        return render(
            request,
            "admin/login.html",
            staff=None,
            status_code=status_code,
            next=_safe_next(next),
            notice=None,
            error=message,
            email=email,
        )

    if not throttle.allowed(client):
        return refused(
            "Preveč neuspelih prijav s tega računalnika. Poskusite znova čez nekaj minut.", 429
        )
    with Session(engine_of(request), expire_on_commit=False) as session:
        try:
            account = authenticate(session, email, password)
        except AccountLocked as exc:
            session.commit()
            throttle.failed(client)
            until = when(settings, exc.until)
            return refused(
                "Račun je zaradi preveč napačnih gesel začasno zaklenjen "
                f"(do {until}). Poskusite pozneje ali prosite skrbnika za novo geslo.",
                423,
            )
        except LoginRefused:
            session.commit()
            throttle.failed(client)
            return refused("Napačen e-poštni naslov ali geslo.", 401)
        session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    start_session(request, response, account)
    return response


@router.post("/admin/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    response = RedirectResponse(f"{LOGIN_PATH}?{urlencode({'odjava': 1})}", status_code=303)
    end_session(response)
    return response
