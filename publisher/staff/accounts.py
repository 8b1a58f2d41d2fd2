"""Staff accounts: who may use the admin pages, and the checks a login goes through.

Passwords are hashed with argon2id (argon2-cffi's defaults, re-hashed on login when the
defaults grow). Repeated wrong passwords lock the account for a while, counted in the
database so that every web process sees the same count; the count is incremented by an
``UPDATE … SET failed_logins = failed_logins + 1`` so two guesses at once both count.
An unknown address costs as much time as a wrong password, so timing does not tell which
addresses have accounts. Nothing here knows about HTTP: the web layer maps the exceptions
to pages, the CLI to messages.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import case, literal, select, update
from sqlmodel import Session

from publisher.addresses import InvalidAddress, parse_address
from publisher.clock import utcnow
from publisher.staff.models import StaffAccount

MAX_FAILURES = 5
"""Wrong passwords in a row that lock an account."""
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10

staff_table = StaffAccount.__table__  # type: ignore[attr-defined]
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password anybody has")
"""Verified against when the address is unknown, so that case takes as long as a wrong one."""


class StaffError(Exception):
    """Something about a staff account the user can act on; the message says what."""


class StaffExists(StaffError):
    pass


class StaffNotFound(StaffError, LookupError):
    pass


class WeakPassword(StaffError):
    pass


class LoginRefused(StaffError):
    """Wrong address or password (deliberately not saying which)."""


@dataclass
class AccountLocked(LoginRefused):
    """Too many wrong passwords: no login, not even the right one, until ``until``."""

    until: datetime

    def __str__(self) -> str:
        return f"the account is locked after {MAX_FAILURES} wrong passwords until {self.until}"


def normalise_email(raw: str) -> str:
    """Staff log in with the address as they remember typing it: compare lower-cased."""
    try:
        return parse_address(raw).key
    except InvalidAddress as exc:
        raise StaffError(f"{raw.strip()!r} is not an e-mail address: {exc}") from None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise WeakPassword("the password must not start or end with a space")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def find_staff(session: Session, email: str) -> StaffAccount | None:
    key = email.strip().lower()
    return session.execute(select(StaffAccount).where(staff_table.c.email == key)).scalars().first()


def get_staff(session: Session, email: str) -> StaffAccount:
    account = find_staff(session, email)
    if account is None:
        raise StaffNotFound(f"no staff account {email.strip()!r} (see `publisher staff list`)")
    return account


def add_staff(session: Session, email: str, password: str, name: str = "") -> StaffAccount:
    """A new active account; the password is checked for length and stored only hashed."""
    key = normalise_email(email)
    check_password(password)
    if find_staff(session, key) is not None:
        raise StaffExists(f"there is already a staff account {key!r}")
    account = StaffAccount(email=key, name=name.strip(), password_hash=hash_password(password))
    session.add(account)
    session.flush()
    return account


def list_staff(session: Session) -> list[StaffAccount]:
    return list(session.execute(select(StaffAccount).order_by(staff_table.c.email)).scalars())


def remove_staff(session: Session, email: str) -> StaffAccount:
    """Delete the account; its open sessions stop working at their next request."""
    account = get_staff(session, email)
    session.delete(account)
    session.flush()
    return account


def set_password(session: Session, email: str, password: str) -> StaffAccount:
    """A new password, which also lifts a lock-out and ends the account's other sessions."""
    check_password(password)
    account = get_staff(session, email)
    account.password_hash = hash_password(password)
    account.failed_logins = 0
    account.locked_until = None
    session.add(account)
    session.flush()
    return account


def authenticate(
    session: Session, email: str, password: str, *, now: datetime | None = None
) -> StaffAccount:
    """The account if the password is right and the account is active and not locked.

    Raises :class:`AccountLocked` while locked (without looking at the password, so guessing
    on gains nothing) and :class:`LoginRefused` otherwise. The caller commits: the failure
    count and the lock are part of the caller's transaction.
    """
    moment = now or utcnow()
    account = find_staff(session, email)
    if account is None or not account.active:
        _verify(_DUMMY_HASH, password)
        raise LoginRefused("wrong e-mail address or password")
    if account.locked_until is not None and account.locked_until > moment:
        raise AccountLocked(account.locked_until)
    if not _verify(account.password_hash, password):
        _count_failure(session, account, moment)
        session.refresh(account)
        if account.locked_until is not None and account.locked_until > moment:
            raise AccountLocked(account.locked_until)
        raise LoginRefused("wrong e-mail address or password")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = moment
    session.add(account)
    session.flush()
    return account


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _count_failure(session: Session, account: StaffAccount, moment: datetime) -> None:
    """One more failure, in one statement; the :data:`MAX_FAILURES`-th locks the account and
    starts the count again, so after the lock there are as many tries as before."""
    reaches_limit = staff_table.c.failed_logins + 1 >= MAX_FAILURES
    session.execute(
        update(staff_table)
        .where(staff_table.c.id == account.id)
        .values(
            failed_logins=case((reaches_limit, 0), else_=staff_table.c.failed_logins + 1),
            locked_until=case(
                (reaches_limit, literal(moment + LOCK_FOR, type_=staff_table.c.locked_until.type)),
                else_=staff_table.c.locked_until,
            ),
        )
    )


def session_fingerprint(account: StaffAccount) -> str:
    """A short value that changes when the password does: signed into web sessions, so a new
    password ends every session made with the old one."""
    return hashlib.sha256(account.password_hash.encode("utf-8")).hexdigest()[:16]
