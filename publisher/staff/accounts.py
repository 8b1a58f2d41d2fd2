"""Staff accounts: who may use the admin pages, and the checks a login goes through.

Passwords are hashed with argon2id (argon2-cffi's defaults, re-hashed on login when the
defaults grow). Every login attempt costs exactly one argon2 verification, whether the
address has an account or not and whether the attempt was throttled or not, so neither the
answer nor its timing tells which addresses have accounts. Guessing is slowed by the web
layer's throttle (:class:`publisher.web.ratelimit.LoginThrottle`), per client and per
account, rather than by locking the account here: a lock anyone can trigger would let
anyone keep staff out. Nothing here knows about HTTP: the web layer maps the exceptions to
pages, the CLI to messages.
"""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlmodel import Session

from publisher.addresses import InvalidAddress, parse_address
from publisher.clock import utcnow
from publisher.staff.models import Role, StaffAccount
from publisher.staff.sessions import close_all_sessions

MIN_PASSWORD_LENGTH = 10

staff_table = StaffAccount.__table__  # type: ignore[attr-defined]
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password anybody has")
"""Verified against when the address is unknown or the attempt throttled, so that those
cases take as long as a wrong password."""


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
    """argon2id of a password (or of anything else a person types that must not be kept in
    clear, such as a recovery code)."""
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one :func:`hash_password` made ``password_hash`` of."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def find_staff(session: Session, email: str) -> StaffAccount | None:
    key = email.strip().lower()
    return session.execute(select(StaffAccount).where(staff_table.c.email == key)).scalars().first()


def get_staff(session: Session, email: str) -> StaffAccount:
    account = find_staff(session, email)
    if account is None:
        raise StaffNotFound(f"no staff account {email.strip()!r} (see `publisher staff list`)")
    return account


def add_staff(
    session: Session, email: str, password: str, name: str = "", role: Role = Role.editor
) -> StaffAccount:
    """A new active account (an editor unless said otherwise: the fewest rights); the password
    is checked for length and stored only hashed."""
    key = normalise_email(email)
    check_password(password)
    if find_staff(session, key) is not None:
        raise StaffExists(f"there is already a staff account {key!r}")
    account = StaffAccount(
        email=key, name=name.strip(), password_hash=hash_password(password), role=role
    )
    session.add(account)
    session.flush()
    return account


def list_staff(session: Session) -> list[StaffAccount]:
    return list(session.execute(select(StaffAccount).order_by(staff_table.c.email)).scalars())


def staff_names(session: Session) -> dict[str, str]:
    """Each named account's name by its (lower-cased) address: how pages name who acted."""
    rows = session.execute(
        select(staff_table.c.email, staff_table.c.name).where(staff_table.c.name != "")
    )
    return {email: name for email, name in rows}


def remove_staff(session: Session, email: str) -> StaffAccount:
    """Delete the account and its sessions (they open nothing from their next request)."""
    account = get_staff(session, email)
    close_all_sessions(session, account)
    session.delete(account)
    session.flush()
    return account


def set_password(session: Session, email: str, password: str) -> StaffAccount:
    """A new password, which also ends every session of the account."""
    check_password(password)
    account = get_staff(session, email)
    account.password_hash = hash_password(password)
    session.add(account)
    close_all_sessions(session, account)
    session.flush()
    return account


def authenticate(
    session: Session, email: str, password: str, *, now: datetime | None = None
) -> StaffAccount:
    """The account if the password is right and the account active; else
    :class:`LoginRefused`, after the same one verification either way. The caller commits."""
    account = find_staff(session, email)
    if account is None or not account.active:
        password_matches(_DUMMY_HASH, password)
        raise LoginRefused("wrong e-mail address or password")
    if not password_matches(account.password_hash, password):
        raise LoginRefused("wrong e-mail address or password")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.last_login_at = now or utcnow()
    session.add(account)
    session.flush()
    return account


def verify_nothing(password: str) -> None:
    """Spend one verification on a throttled attempt, so that refusing it takes as long as
    checking it (whether or not the address has an account)."""
    password_matches(_DUMMY_HASH, password)
