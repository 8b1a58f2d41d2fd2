"""CSRF protection for every form: a signed double-submit token.

A random value lives in a cookie (``SameSite=Lax``, ``HttpOnly``); each form carries the same
value signed with the site's secret in a hidden ``csrf_token`` field. A POST is accepted only
when the field's signature is ours and its value equals the cookie's, which a page on another
site can neither read nor set. No server-side state, so it works behind several processes.

A form's token is in its body, so it can only be checked once the body is read. What can be
decided before, :func:`refuse_before_body` decides (the admin's gate calls it before a byte of
an upload is read): the request carries our cookie, and the browser does not say it comes
from another site (``Sec-Fetch-Site``, or for browsers without it ``Origin`` against ``Host``
and the site's ``base_url``, as Go's ``CrossOriginProtection`` does). Clients that send
neither header are not browsers, so no other site can make them post; the token check that
follows still applies to them.

Usage in a route: ``token = csrf_token(request)`` for the form, ``attach_csrf_cookie(request,
response)`` on the response, and ``Depends(require_csrf)`` on the POST handler. One-click
unsubscribe (RFC 8058) is the one POST that must not require it: mail clients send no cookie.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response
from itsdangerous import BadSignature, Signer
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

COOKIE = "publisher_csrf"
FIELD = "csrf_token"


class CsrfRejected(HTTPException):
    """403: the form did not come from one of our pages (or its page is too old)."""

    def __init__(self, reason: str) -> None:
        super().__init__(status_code=403, detail=reason)


def _signer(request: Request) -> Signer:
    settings = request.app.state.settings
    return Signer(settings.secret, salt="publisher.csrf")


def csrf_token(request: Request) -> str:
    """The token to put in this page's forms (creating the cookie value if needed)."""
    value = getattr(request.state, "csrf_value", None) or request.cookies.get(COOKIE)
    if not value or len(value) > 100:
        value = secrets.token_urlsafe(32)
        request.state.csrf_new = True
    request.state.csrf_value = value
    return _signer(request).sign(value).decode("ascii")


def attach_csrf_cookie(request: Request, response: Response) -> Response:
    """Set the cookie if :func:`csrf_token` made a new value for this request."""
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(
            COOKIE,
            request.state.csrf_value,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


EXPIRED = "Obrazec je potekel ali ni z naše strani. Odprite stran znova."
FOREIGN = "Obrazec ni z naše strani."


def refuse_before_body(connection: HTTPConnection) -> str | None:
    """Why this form must be refused before its body is read, or None to read it."""
    fetch_site = connection.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site not in ("same-origin", "none"):
            return FOREIGN
    else:
        origin = connection.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc not in _our_hosts(connection):
            return FOREIGN
    if not connection.cookies.get(COOKIE):
        return EXPIRED
    return None


def _our_hosts(connection: HTTPConnection) -> set[str]:
    """The host the request was sent to, and the site's own (a proxy may rewrite ``Host``)."""
    base_url = connection.app.state.settings.base_url
    return {connection.headers.get("host", ""), urlsplit(str(base_url)).netloc}


async def require_csrf(request: Request) -> None:
    """FastAPI dependency for POST handlers: 403 unless the form's token matches the cookie."""
    form = await request.form()
    check_csrf_token(request, form.get(FIELD))


def check_csrf_token(request: Request, submitted: object) -> None:
    """403 unless ``submitted`` (the form's ``csrf_token``) matches the cookie: for a route
    that reads its own body (a streamed upload) instead of :func:`require_csrf`."""
    cookie = request.cookies.get(COOKIE)
    if not isinstance(submitted, str) or not cookie:
        raise CsrfRejected(EXPIRED)
    try:
        value = _signer(request).unsign(submitted).decode("ascii")
    except BadSignature:
        raise CsrfRejected(FOREIGN) from None
    if not hmac.compare_digest(value, cookie):
        raise CsrfRejected(EXPIRED)
