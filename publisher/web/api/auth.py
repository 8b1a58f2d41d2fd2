"""Bearer-token authentication: every route needs a token from ``publisher api-token create``.

No CSRF tokens: a browser never sends the bearer token by itself (it is not a cookie), so a
page on another site cannot make a request in the CMS's name.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from publisher.db import session_scope
from publisher.staff.api_tokens import authenticate
from publisher.staff.models import ApiToken, Role
from publisher.web.gate import before_body

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A token from `publisher api-token create NAME`.",
)


def _unauthorised(detail: str, error: str | None = None) -> HTTPException:
    challenge = 'Bearer realm="publisher"'
    if error:
        challenge += f', error="{error}"'
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": challenge})


def token_of(request: Request) -> ApiToken:
    """The caller's token from the ``Authorization`` header, or 401: missing, unknown or
    revoked are all refused alike. Looked up once per request (the gate and the route's
    dependency share it)."""
    known = getattr(request.state, "api_token", None)
    if known is not None:
        return known  # type: ignore[no-any-return]
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise _unauthorised("send Authorization: Bearer TOKEN (publisher api-token create NAME)")
    with session_scope(request.app.state.engine) as session:
        token = authenticate(session, presented.strip())
    if token is None:
        raise _unauthorised("the token is unknown or revoked", "invalid_token")
    request.state.api_token = token
    return token


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> ApiToken:
    """Every API route's dependency: the caller's token (``credentials`` puts the scheme in
    the OpenAPI document; :func:`token_of` reads it), decided before the body is read."""
    return token_of(request)


before_body(require_token, token_of)

Caller = Annotated[ApiToken, Depends(require_token)]
"""Any valid token: articles, topics, lists and editions to read (an editor's work)."""


def _refuse_role(token: ApiToken, needed: Role) -> None:
    if not Role(token.role).allows(needed):
        raise HTTPException(
            403,
            detail=f"this token's role is {Role(token.role)}; {needed} is needed "
            f"(publisher api-token create NAME --role {needed})",
        )


@cache
def require_token_role(needed: Role) -> Callable[..., ApiToken]:
    """The caller's token if its role allows ``needed``, else 403 (401 as for any route for no
    valid token), decided before the body is read. Cached: one check per role, shared by the
    routes that state it."""

    def check(token: Caller) -> ApiToken:
        _refuse_role(token, needed)
        return token

    check.__name__ = f"require_{needed.value}_token"
    return before_body(check, lambda request: _refuse_role(token_of(request), needed))


Approving = Annotated[ApiToken, Depends(require_token_role(Role.approver))]
"""A token that may approve and send editions: an approver's or an admin's."""
