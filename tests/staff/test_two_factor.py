"""What the store keeps of two-factor sign-in: a dump of the database gives no codes, and an
upgrade keeps everyone signed in."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pyotp
import time_machine
from sqlalchemy import column, insert, select, table, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.config import StaffRoleName
from publisher.db import make_engine, session_scope, upgrade
from publisher.staff.accounts import add_staff, find_staff
from publisher.staff.models import Role, StaffAccount, StaffRecoveryCode
from publisher.staff.sessions import session_account
from publisher.staff.two_factor import Verdict, begin_setup, enable, verify
from tests.conftest import TEST_SECRET

EMAIL = "odobriteljica@novomesto.example.org"
PASSWORD = "Krka-teče-mimo-2025"
OTHER_SECRET = "another-secret-key-after-a-rotation-0123456789"


def enrolled(engine: Engine) -> tuple[str, list[str]]:
    """An account with two-factor on: its TOTP secret and recovery codes, as the user has them."""
    with session_scope(engine) as session:
        account = add_staff(session, EMAIL, PASSWORD, role=Role.approver)
        secret = begin_setup(session, account, TEST_SECRET, "Občina").secret
        check, codes = enable(session, account, TEST_SECRET, pyotp.TOTP(secret).now())
    assert check.verdict is Verdict.code and len(codes) == 10
    return secret, codes


def test_a_dump_of_the_database_holds_neither_the_secret_nor_the_recovery_codes(
    engine: Engine,
) -> None:
    with time_machine.travel(datetime(2027, 3, 1, 8, 0, 1, tzinfo=UTC), tick=False):
        secret, codes = enrolled(engine)
    with engine.connect() as connection:
        dump = "\n".join(
            " ".join(str(value) for value in row)
            for name in ("staff_account", "staff_recovery_code")
            for row in connection.execute(text(f"SELECT * FROM {name}"))
        )
    assert secret not in dump and secret.lower() not in dump
    for code in codes:
        assert code not in dump and code.replace("-", "") not in dump
    with Session(engine) as session:
        hashes = session.execute(select(StaffRecoveryCode.code_hash)).scalars().all()
    assert len(hashes) == 10 and all(h.startswith("$argon2id$") for h in hashes)
    assert hashlib.sha256(secret.encode()).hexdigest() not in dump


def test_with_another_secret_key_codes_fail_but_recovery_codes_still_sign_in(
    engine: Engine,
) -> None:
    with time_machine.travel(datetime(2027, 3, 1, 8, 0, 1, tzinfo=UTC), tick=False) as clock:
        secret, codes = enrolled(engine)
        clock.shift(30)
        code = pyotp.TOTP(secret).now()
        with session_scope(engine) as session:
            account = find_staff(session, EMAIL)
            assert account is not None
            assert verify(session, account, OTHER_SECRET, code).verdict is Verdict.wrong
            used = verify(session, account, OTHER_SECRET, codes[0])
            assert used.verdict is Verdict.recovery_code and used.recovery_codes_left == 9
            assert verify(session, account, TEST_SECRET, code).verdict is Verdict.code


def test_sessions_and_accounts_from_before_two_factor_stay_as_they_were(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0008")
    staff = table("staff_account", column("id"), column("email"), column("name"),
                  column("password_hash"), column("active"), column("role"),
                  column("created_at"))  # fmt: skip
    sessions = table("staff_session", column("account_id"), column("key_hash"),
                     column("created_at"), column("expires_at"))  # fmt: skip
    key = "a-key-from-before-the-upgrade"
    with engine.begin() as connection:
        connection.execute(
            insert(staff).values(
                id=1, email="stara@example.org", name="", password_hash="x", active=True,
                role="admin", created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )  # fmt: skip
        connection.execute(
            insert(sessions).values(
                account_id=1,
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                expires_at=datetime(2999, 1, 1, tzinfo=UTC),
            )
        )
    upgrade(engine)
    with Session(engine) as session:
        account = session_account(session, key)
        assert account is not None and account.email == "stara@example.org"
        assert account.totp_enabled_at is None and account.totp_secret is None
        assert session.get(StaffAccount, 1) is not None
    engine.dispose()


def test_the_settings_name_the_roles_there_are() -> None:
    assert set(StaffRoleName.__args__) == {role.value for role in Role}  # type: ignore[attr-defined]
