"""Password guessing is slowed per client and per account, but cannot lock staff out, and
an unknown address is answered exactly like a staff member's, after the same hashing."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from argon2 import PasswordHasher

from publisher.web.ratelimit import LoginThrottle
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, STAFF_PASSWORD, AdminSite, login

admin_site = admin_support.admin_site

UNKNOWN = "nikogar@novomesto.example.org"


def client_from(site: AdminSite, address: str) -> httpx.Client:
    """A browser on another machine: connections from another loopback address."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=site.url, transport=transport, timeout=30)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification the server runs (it runs in this process)."""
    seen: list[str] = []
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        seen.append(str(password))
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return seen


def answer(response: httpx.Response, typed: str) -> tuple[int, bool, str]:
    """What an attacker sees, less what differs by their own doing (address, CSRF token)."""
    page = response.text.replace(typed, "TYPED")
    page = re.sub(r'name="csrf_token" value="[^"]+"', "CSRF", page)
    return response.status_code, "retry-after" in response.headers, page


def test_known_and_unknown_addresses_are_answered_alike_however_often_they_fail(
    admin_site: AdminSite, verifications: list[str]
) -> None:
    attempts = 8
    seen = {}
    for address, typed in (("127.0.0.2", STAFF_EMAIL), ("127.0.0.3", UNKNOWN)):
        with client_from(admin_site, address) as client:
            seen[typed] = [
                answer(login(client, typed, f"ugib-{n}-napak"), typed) for n in range(attempts)
            ]
    assert seen[STAFF_EMAIL] == seen[UNKNOWN]
    statuses = [status for status, _, _ in seen[UNKNOWN]]
    assert statuses == [401] * 5 + [429] * 3
    assert "423" not in str(statuses)
    # Every attempt, refused, throttled, known or not, cost exactly one password verification.
    assert len(verifications) == 2 * attempts


def test_the_right_password_signs_in_from_a_known_browser_whatever_attackers_did(
    admin_site: AdminSite,
) -> None:
    admin_site.app.state.admin.throttle = LoginThrottle(per_account="8/hour")
    with client_from(admin_site, "127.0.0.1") as desk:
        assert login(desk).status_code == 303  # yesterday: this browser is now known
        desk.cookies.delete("publisher_staff")
        # Attackers on three machines guess the account's password until they are throttled.
        for address in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            with client_from(admin_site, address) as attacker:
                for n in range(6):
                    login(attacker, STAFF_EMAIL, f"ugib-{n}-napak")
                assert login(attacker, STAFF_EMAIL, "še-en-ugib").status_code == 429
                assert login(attacker).status_code == 429  # even the right password
        assert login(desk).status_code == 303
        assert desk.get("/admin").status_code == 200
        device = desk.cookies["publisher_device"]
    # The staff member's browser is let in even from a guessing attacker's own network.
    with client_from(admin_site, "127.0.0.2") as laptop:
        laptop.cookies.set("publisher_device", device, path="/admin")
        assert login(laptop).status_code == 303
    # A browser that never signed in waits, like the attackers (the price of a guessed account).
    with client_from(admin_site, "127.0.0.5") as stranger:
        assert login(stranger).status_code == 429


def test_a_known_browsers_cookie_does_not_help_with_another_account(
    admin_site: AdminSite,
) -> None:
    admin_site.app.state.admin.throttle = LoginThrottle(per_client_account="2/15 minutes")
    with client_from(admin_site, "127.0.0.2") as client:
        assert login(client).status_code == 303
        client.cookies.delete("publisher_staff")
        for n in range(2):
            assert login(client, UNKNOWN, f"ugib-{n}-napak").status_code == 401
        assert login(client, UNKNOWN, "ugib-3-napak").status_code == 429


def test_sign_ins_failures_and_throttling_are_logged_with_account_and_client(
    admin_site: AdminSite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="publisher.web.admin.auth")
    with client_from(admin_site, "127.0.0.2") as attacker:
        for n in range(6):
            login(attacker, STAFF_EMAIL, f"ugib-{n}-napak")
        login(attacker, "x@example.org\nstaff sign-in: account='admin'", "ugib")
    with client_from(admin_site, "127.0.0.3") as desk:
        assert login(desk, STAFF_EMAIL, STAFF_PASSWORD).status_code == 303
    records = [r for r in caplog.records if r.name == "publisher.web.admin.auth"]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings  # once when the limit is reached, not per attempt
    assert STAFF_EMAIL in warnings[0] and "127.0.0.2" in warnings[0]
    infos = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert sum("failed" in line and "127.0.0.2" in line for line in infos) == 6
    assert any("throttled" in line and "127.0.0.2" in line for line in infos)
    assert any(line.startswith("staff sign-in:") and "127.0.0.3" in line for line in infos)
    assert all("\n" not in line for line in infos + warnings)  # typed text cannot forge lines
