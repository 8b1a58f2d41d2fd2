"""Two-factor sign-in for staff: codes from any authenticator app, and one-time recovery codes.

The codes are TOTP (RFC 6238: 6 digits, 30-second steps, SHA-1, which is what every
authenticator app reads from the QR code), computed by pyotp at the time of
:mod:`publisher.clock`, never its own, so tests move time instead of waiting for it. A code
is taken from the step before to the step after the current one (a phone's clock a little
off), and never twice: the account keeps the step of the last code it accepted, and a code
of that step or an earlier one is refused as a replay. The step is claimed with one
conditional UPDATE, so two servers cannot both accept the same code.

The secret is kept encrypted with Fernet under a key derived from the site's secret key
(HKDF-SHA256), so a dump of the database alone gives nobody the codes. The price: a new
secret key makes the stored secrets unreadable, and those staff then sign in with a recovery
code or are reset by an admin (``publisher staff reset-two-factor``).

Recovery codes stand in for a lost phone: ten, shown once when two-factor sign-in is turned
on or when they are made anew, kept only as argon2id hashes (as passwords are), each good
once. Nothing here knows about HTTP; the web layer throttles wrong codes and records every
outcome in the audit log.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from publisher.clock import timestamp, utcnow
from publisher.staff.accounts import StaffError, hash_password, password_matches
from publisher.staff.models import StaffAccount, StaffRecoveryCode
from publisher.staff.sessions import close_all_sessions

STEP_SECONDS = 30
DIGITS = 6
RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
"""Letters and digits that cannot be mistaken for one another (no 0/o, 1/l/i)."""
RECOVERY_LENGTH = 10
"""About 50 random bits a code: far beyond guessing under the login throttle."""

_TOTP_CODE = re.compile(rf"[0-9]{{{DIGITS}}}")
_RECOVERY_CODE = re.compile(rf"[{RECOVERY_ALPHABET}]{{{RECOVERY_LENGTH}}}")
_KEY_INFO = b"publisher.staff-totp-secret"

log = logging.getLogger(__name__)
staff_table = StaffAccount.__table__  # type: ignore[attr-defined]
recovery_table = StaffRecoveryCode.__table__  # type: ignore[attr-defined]


class TwoFactorError(StaffError):
    """A two-factor step that does not fit the account's state; the message says why."""


class Verdict(StrEnum):
    """What a typed code (or password) turned out to be."""

    code = "code"
    recovery_code = "recovery_code"
    password = "password"
    wrong = "wrong"
    replayed = "replayed"
    """A right code whose time step was already used (or a recovery code used already)."""


@dataclass(frozen=True)
class Check:
    verdict: Verdict
    recovery_codes_left: int | None = None
    """After a recovery code: how many unused ones the account still has."""

    @property
    def passed(self) -> bool:
        return self.verdict in (Verdict.code, Verdict.recovery_code, Verdict.password)


@dataclass(frozen=True)
class Enrolment:
    """What the set-up page shows: the secret in text and the ``otpauth://`` URI of the QR."""

    secret: str
    uri: str


def enabled(account: StaffAccount) -> bool:
    return account.totp_enabled_at is not None


def must_set_up(account: StaffAccount, required_roles: Collection[str]) -> bool:
    """Whether the account's role needs two-factor sign-in (the ``require_two_factor``
    setting) and it has none yet: then it may do nothing but set it up."""
    return not enabled(account) and str(account.role) in required_roles


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _seal(secret_key: str, totp_secret: str) -> str:
    token = _fernet(secret_key).encrypt_at_time(totp_secret.encode("ascii"), int(timestamp()))
    return token.decode("ascii")


def _unseal(secret_key: str, account: StaffAccount) -> str | None:
    """The account's TOTP secret, or None: none stored, or not readable with this key."""
    if not account.totp_secret:
        return None
    try:
        return _fernet(secret_key).decrypt(account.totp_secret.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        log.warning(
            "the two-factor secret of %r cannot be read with the current secret key (was it "
            "changed?): sign in with a recovery code, or reset it with "
            "`publisher staff reset-two-factor`",
            account.email,
        )
        return None


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def begin_setup(session: Session, account: StaffAccount, secret_key: str, issuer: str) -> Enrolment:
    """The secret to scan, made and kept (encrypted) the first time; the same one on every
    later visit until the staff member types a code back (:func:`enable`)."""
    if enabled(account):
        raise TwoFactorError(f"two-factor sign-in is already on for {account.email}")
    secret = _unseal(secret_key, account)
    if secret is None:
        secret = pyotp.random_base32()
        account.totp_secret = _seal(secret_key, secret)
        account.totp_last_step = None
        session.add(account)
        session.flush()
    uri = _totp(secret).provisioning_uri(name=account.email, issuer_name=issuer)
    return Enrolment(secret=secret, uri=uri)


def _claim_step(session: Session, account: StaffAccount, step: int) -> bool:
    """Take ``step`` as the last one used, unless it (or a later one) already was."""
    result = session.execute(
        update(staff_table)
        .where(
            staff_table.c.id == account.id,
            or_(staff_table.c.totp_last_step.is_(None), staff_table.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(account, "totp_last_step", step)
    return True


def _check_code(session: Session, account: StaffAccount, secret: str | None, code: str) -> Check:
    if secret is None:
        return Check(Verdict.wrong)
    totp = _totp(secret)
    now = utcnow()
    for offset in (0, -1, 1):
        moment = now + timedelta(seconds=offset * STEP_SECONDS)
        if totp.verify(code, for_time=moment):
            claimed = _claim_step(session, account, totp.timecode(moment))
            return Check(Verdict.code if claimed else Verdict.replayed)
    return Check(Verdict.wrong)


def _check_recovery_code(session: Session, account: StaffAccount, code: str) -> Check:
    unused = (
        session.execute(
            select(StaffRecoveryCode).where(
                recovery_table.c.account_id == account.id, recovery_table.c.used_at.is_(None)
            )
        )
        .scalars()
        .all()
    )
    for row in unused:
        if password_matches(row.code_hash, code):
            used = session.execute(
                update(recovery_table)
                .where(recovery_table.c.id == row.id, recovery_table.c.used_at.is_(None))
                .values(used_at=utcnow())
            )
            if used.rowcount != 1:  # type: ignore[attr-defined]
                return Check(Verdict.replayed)  # used by another request just now
            return Check(Verdict.recovery_code, recovery_codes_left=len(unused) - 1)
    return Check(Verdict.wrong)


def _compact(typed: str) -> str:
    """What was typed without spaces and hyphens, lower-cased: ``123 456``, ``ab3de-fg7hk``."""
    return re.sub(r"[\s-]", "", typed).lower()[:100]


def verify(
    session: Session,
    account: StaffAccount,
    secret_key: str,
    typed: str,
    *,
    recovery: bool = True,
) -> Check:
    """The second factor of a sign-in: a current code, or (``recovery``) an unused recovery
    code, which is then used up. The caller commits."""
    compact = _compact(typed)
    if not enabled(account):
        return Check(Verdict.wrong)
    if _TOTP_CODE.fullmatch(compact):
        return _check_code(session, account, _unseal(secret_key, account), compact)
    if recovery and _RECOVERY_CODE.fullmatch(compact):
        return _check_recovery_code(session, account, compact)
    return Check(Verdict.wrong)


def _new_recovery_codes(session: Session, account: StaffAccount) -> list[str]:
    """Ten new codes in place of any earlier ones; returned in clear this once."""
    session.execute(delete(recovery_table).where(recovery_table.c.account_id == account.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    assert account.id is not None
    session.add_all(
        StaffRecoveryCode(account_id=account.id, code_hash=hash_password(code)) for code in codes
    )
    session.flush()
    half = RECOVERY_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def enable(
    session: Session, account: StaffAccount, secret_key: str, typed: str
) -> tuple[Check, list[str]]:
    """Turn two-factor sign-in on if ``typed`` is a current code of the secret being set up;
    returns the check and, if it passed, the new recovery codes (to be shown once)."""
    if enabled(account):
        raise TwoFactorError(f"two-factor sign-in is already on for {account.email}")
    secret = _unseal(secret_key, account)
    if secret is None:
        raise TwoFactorError("no two-factor set-up is under way; open the set-up page again")
    compact = _compact(typed)
    if not _TOTP_CODE.fullmatch(compact):
        return Check(Verdict.wrong), []
    check = _check_code(session, account, secret, compact)
    if not check.passed:
        return check, []
    account.totp_enabled_at = utcnow()
    session.add(account)
    return check, _new_recovery_codes(session, account)


def regenerate_recovery_codes(
    session: Session, account: StaffAccount, secret_key: str, typed: str
) -> tuple[Check, list[str]]:
    """Ten new recovery codes for a current code (not a recovery code); the old ones stop
    working. Returns the check and, if it passed, the codes."""
    if not enabled(account):
        raise TwoFactorError(f"two-factor sign-in is not on for {account.email}")
    check = verify(session, account, secret_key, typed, recovery=False)
    if not check.passed:
        return check, []
    return check, _new_recovery_codes(session, account)


def _clear(session: Session, account: StaffAccount) -> None:
    session.execute(delete(recovery_table).where(recovery_table.c.account_id == account.id))
    account.totp_secret = None
    account.totp_enabled_at = None
    account.totp_last_step = None
    session.add(account)
    session.flush()


def disable(
    session: Session, account: StaffAccount, secret_key: str, *, password: str = "", code: str = ""
) -> Check:
    """Turn two-factor sign-in off for the account's own password or a current code."""
    if not enabled(account):
        raise TwoFactorError(f"two-factor sign-in is not on for {account.email}")
    if password and password_matches(account.password_hash, password):
        check = Check(Verdict.password)
    else:
        check = verify(session, account, secret_key, code, recovery=False)
    if check.passed:
        _clear(session, account)
    return check


def reset(session: Session, account: StaffAccount) -> bool:
    """An admin's reset (a lost phone): the second factor and its recovery codes are gone,
    and so are the account's sessions. Returns whether it had one (or was setting one up)."""
    had = account.totp_secret is not None
    _clear(session, account)
    close_all_sessions(session, account)
    return had


def recovery_codes_left(session: Session, account: StaffAccount) -> int:
    counted = select(func.count()).where(
        recovery_table.c.account_id == account.id, recovery_table.c.used_at.is_(None)
    )
    return int(session.execute(counted).scalar_one())
