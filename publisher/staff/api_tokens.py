"""API tokens for the municipality's CMS: created once, shown once, stored only as a hash.

A token is ``pub_`` and 43 random URL-safe characters (256 bits). The database keeps its
SHA-256 and its first characters (the *prefix*, so staff can tell tokens apart in listings and
logs); a stolen copy of the database therefore lets nobody call the API. A fast hash is enough
here, unlike for passwords: the secret is random and long, so there is nothing to guess.
Revoking keeps the row (who had access, and when it ended) and refuses the token at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import Session, col, select

from publisher.clock import utcnow
from publisher.staff.models import ApiToken, Role

TOKEN_MARK = "pub_"
PREFIX_LENGTH = 12
"""Characters of the token kept in clear: ``pub_`` and 8 random ones."""
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often, so the API does not write on every call."""

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")


class ApiTokenError(Exception):
    """A token operation the user can correct; the message says how."""


class ApiTokenNotFound(ApiTokenError, LookupError):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, role: Role = Role.editor) -> tuple[ApiToken, str]:
    """A new token called ``name`` acting as ``role`` (an editor, pushing articles, unless said
    otherwise); returns the row and the secret, which is never stored."""
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise ApiTokenError(
            f"token name {name!r}: use up to 100 lower-case letters, digits, '.', '_' or '-', "
            "e.g. cms"
        )
    existing = session.exec(select(ApiToken).where(ApiToken.name == name)).first()
    if existing is not None:
        state = "revoked" if existing.revoked_at else "active"
        raise ApiTokenError(
            f"a token named {name!r} already exists ({state}); names stay taken so the "
            f"record is kept: choose another name, e.g. {name}-2"
        )
    secret = TOKEN_MARK + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name, token_hash=token_hash(secret), prefix=secret[:PREFIX_LENGTH], role=role
    )
    session.add(token)
    session.flush()
    return token, secret


def list_tokens(session: Session) -> Sequence[ApiToken]:
    return session.exec(select(ApiToken).order_by(col(ApiToken.name))).all()


def revoke_token(session: Session, name: str) -> tuple[ApiToken, bool]:
    """Refuse the token from now on; returns it and whether it was active until now."""
    token = session.exec(select(ApiToken).where(ApiToken.name == name.strip())).first()
    if token is None:
        known = ", ".join(t.name for t in list_tokens(session)) or "none"
        raise ApiTokenNotFound(f"no API token named {name!r} (tokens: {known})")
    if token.revoked_at is not None:
        return token, False
    token.revoked_at = utcnow()
    session.add(token)
    session.flush()
    return token, True


def authenticate(session: Session, presented: str) -> ApiToken | None:
    """The active token ``presented`` is, or None (unknown, malformed or revoked).

    Looked up by hash, so the comparison never touches the secret itself.
    """
    if not presented.startswith(TOKEN_MARK) or len(presented) > 200:
        return None
    token = session.exec(
        select(ApiToken).where(ApiToken.token_hash == token_hash(presented))
    ).first()
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.add(token)
        session.flush()
    return token
