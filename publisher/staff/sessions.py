"""Staff sessions held in the database, so that ending one ends every copy of its cookie.

A session is a random key, given to the browser (inside the signed cookie the web layer sets)
and stored here only as its SHA-256, with the account and an expiry. Logging out deletes the
row, "log out everywhere" and a new password delete all the account's rows, and removing an
account deletes them with it: a cookie copied before any of these opens nothing afterwards,
in every web process at once.

An account with two-factor sign-in gets, for the right password, a session *awaiting the
second factor*: short-lived (:data:`SECOND_STEP_MAX_AGE`) and invisible to
:func:`session_account`, so it opens nothing but the page that asks for the code
(:func:`awaiting_account`). The right code replaces it with a new, full session
(:func:`complete_second_factor`), so the key that was handed out before the code is worth
nothing afterwards. Nothing here knows about HTTP.
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
SECOND_STEP_MAX_AGE = timedelta(minutes=10)
"""Time to type the code after the password; then the password is asked again."""

session_table = StaffSession.__table__  # type: ignore[attr-defined]


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def open_session(
    session: Session,
    account: StaffAccount,
    *,
    awaiting_second_factor: bool = False,
    now: datetime | None = None,
) -> str:
    """A new session for ``account`` (full, or only waiting for the second factor); returns
    the key for the cookie (never stored)."""
    moment = now or utcnow()
    assert account.id is not None
    session.execute(delete(session_table).where(session_table.c.expires_at <= moment))
    key = secrets.token_urlsafe(32)
    lasts = SECOND_STEP_MAX_AGE if awaiting_second_factor else SESSION_MAX_AGE
    session.add(
        StaffSession(
            account_id=account.id,
            key_hash=_hash(key),
            created_at=moment,
            expires_at=moment + lasts,
            awaiting_second_factor=awaiting_second_factor,
        )
    )
    session.flush()
    return key


def _account_of(
    session: Session, key: str, awaiting_second_factor: bool, now: datetime | None
) -> StaffAccount | None:
    moment = now or utcnow()
    row = (
        session.execute(select(StaffSession).where(session_table.c.key_hash == _hash(key)))
        .scalars()
        .first()
    )
    if row is None or row.expires_at <= moment:
        return None
    if row.awaiting_second_factor != awaiting_second_factor:
        return None
    account = session.get(StaffAccount, row.account_id)
    if account is None or not account.active:
        return None
    return account


def session_account(
    session: Session, key: str, *, now: datetime | None = None
) -> StaffAccount | None:
    """The active account whose unexpired, full session ``key`` is, else None (also for a
    session still waiting for the second factor)."""
    return _account_of(session, key, False, now)


def awaiting_account(
    session: Session, key: str, *, now: datetime | None = None
) -> StaffAccount | None:
    """The account whose password was right in session ``key`` but whose second factor is
    still to come, else None."""
    return _account_of(session, key, True, now)


def complete_second_factor(session: Session, key: str, account: StaffAccount) -> str:
    """The second factor was right: the waiting session ends and a full one begins; returns
    the new key."""
    close_session(session, key)
    return open_session(session, account)


def close_session(session: Session, key: str) -> None:
    """Log out: this session's key opens nothing from now on."""
    session.execute(delete(session_table).where(session_table.c.key_hash == _hash(key)))


def close_all_sessions(session: Session, account: StaffAccount) -> int:
    """Log out everywhere: every session of ``account`` ends; returns how many there were."""
    result = session.execute(delete(session_table).where(session_table.c.account_id == account.id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
