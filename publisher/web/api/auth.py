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


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> ApiToken:
    """The caller's token, or 401: missing, unknown or revoked are all refused alike."""
    if credentials is None:
        raise _unauthorised("send Authorization: Bearer TOKEN (publisher api-token create NAME)")
    with session_scope(request.app.state.engine) as session:
        token = authenticate(session, credentials.credentials)
    if token is None:
        raise _unauthorised("the token is unknown or revoked", "invalid_token")
    return token


Caller = Annotated[ApiToken, Depends(require_token)]
"""Any valid token: articles, topics, lists and editions to read (an editor's work)."""


@cache
def require_token_role(needed: Role) -> Callable[..., ApiToken]:
    """The caller's token if its role allows ``needed``, else 403 (401 as for any route for no
    valid token). Cached: one check per role, shared by the routes that state it."""

    def check(token: Caller) -> ApiToken:
        if not Role(token.role).allows(needed):
            raise HTTPException(
                403,
                detail=f"this token's role is {Role(token.role)}; {needed} is needed "
                f"(publisher api-token create NAME --role {needed})",
            )
        return token

    check.__name__ = f"require_{needed.value}_token"
    return check


Approving = Annotated[ApiToken, Depends(require_token_role(Role.approver))]
"""A token that may approve and send editions: an approver's or an admin's."""
