"""Staff sessions held in the database, so that ending one ends every copy of its cookie.

A session is a random key, given to the browser (inside the signed cookie the web layer sets)
and stored here only as its SHA-256, with the account and an expiry. Logging out deletes the
row, "log out everywhere" and a new password delete all the account's rows, and removing an
account deletes them with it: a cookie copied before any of these opens nothing afterwards,
in every web process at once. Nothing here knows about HTTP.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlmodel import Session

from publisher.clock import utcnow
from publisher.staff.models import StaffAccount, StaffSession

SESSION_MAX_AGE = timedelta(hours=8)
"""A working day: staff log in again the next morning."""

session_table = StaffSession.__table__  # type: ignore[attr-defined]


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def open_session(session: Session, account: StaffAccount, *, now: datetime | None = None) -> str:
    """A new session for ``account``; returns the key for the cookie (never stored)."""
    moment = now or utcnow()
    assert account.id is not None
    session.execute(delete(session_table).where(session_table.c.expires_at <= moment))
    key = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            account_id=account.id,
            key_hash=_hash(key),
            created_at=moment,
            expires_at=moment + SESSION_MAX_AGE,
        )
    )
    session.flush()
    return key


def session_account(
    session: Session, key: str, *, now: datetime | None = None
) -> StaffAccount | None:
    """The active account whose unexpired session ``key`` is, else None."""
    moment = now or utcnow()
    row = (
        session.execute(select(StaffSession).where(session_table.c.key_hash == _hash(key)))
        .scalars()
        .first()
    )
    if row is None or row.expires_at <= moment:
        return None
    account = session.get(StaffAccount, row.account_id)
    if account is None or not account.active:
        return None
    return account


def close_session(session: Session, key: str) -> None:
    """Log out: this session's key opens nothing from now on."""
    session.execute(delete(session_table).where(session_table.c.key_hash == _hash(key)))


def close_all_sessions(session: Session, account: StaffAccount) -> int:
    """Log out everywhere: every session of ``account`` ends; returns how many there were."""
    result = session.execute(delete(session_table).where(session_table.c.account_id == account.id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
