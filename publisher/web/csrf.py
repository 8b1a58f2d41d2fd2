"""CSRF protection for every form: a signed double-submit token.

A random value lives in a cookie (``SameSite=Lax``, ``HttpOnly``); each form carries the same
value signed with the site's secret in a hidden ``csrf_token`` field. A POST is accepted only
when the field's signature is ours and its value equals the cookie's, which a page on another
site can neither read nor set. No server-side state, so it works behind several processes.

Usage in a route: ``token = csrf_token(request)`` for the form, ``attach_csrf_cookie(request,
response)`` on the response, and ``Depends(require_csrf)`` on the POST handler. One-click
unsubscribe (RFC 8058) is the one POST that must not require it: mail clients send no cookie.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response
from itsdangerous import BadSignature, Signer
from starlette.exceptions import HTTPException

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


async def require_csrf(request: Request) -> None:
    """FastAPI dependency for POST handlers: 403 unless the form's token matches the cookie."""
    form = await request.form()
    submitted = form.get(FIELD)
    cookie = request.cookies.get(COOKIE)
    if not isinstance(submitted, str) or not cookie:
        raise CsrfRejected("Obrazec je potekel ali ni z naše strani. Odprite stran znova.")
    try:
        value = _signer(request).unsign(submitted).decode("ascii")
    except BadSignature:
        raise CsrfRejected("Obrazec ni z naše strani.") from None
    if not hmac.compare_digest(value, cookie):
        raise CsrfRejected("Obrazec je potekel ali ni z naše strani. Odprite stran znova.")
