"""Two-factor sign-in over real HTTP and the real CLI: set up from the page's QR code, sign
in in two steps, codes never twice, recovery codes once, a half-signed-in cookie opens
nothing, the setting forces set-up, an admin resets a lost phone; each leaves its entry.

The codes are made on the test's side with pyotp from the secret the page shows, at the time
time-machine holds still (the server runs in this process, so it reads the same clock):
moving to the next 30-second step is a shift of the clock, never a wait.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest
import segno
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from publisher.audit import AuditAction, AuditEntry
from publisher.cli import app as cli_app
from publisher.db import session_scope
from publisher.staff.accounts import add_staff, find_staff
from publisher.staff.models import Role, StaffRecoveryCode
from publisher.web.admin.auth import SESSION_COOKIE
from publisher.web.security import CONTENT_SECURITY_POLICY
from tests.delivery.sending_support import stock
from tests.web import admin_support
from tests.web.admin_support import (
    STAFF_EMAIL,
    STAFF_PASSWORD,
    AdminSite,
    csrf_of,
    every_request,
    logged_in,
    login,
    open_admin_site,
    token_for,
)

admin_site = admin_support.admin_site
START = datetime(2027, 3, 1, 8, 0, 1, tzinfo=UTC)
"""One second into a 30-second step (the day starts a step), a Monday morning."""
STEP = timedelta(seconds=30)
EDITOR = "urednik@novomesto.example.org"
EDITOR_PASSWORD = "Gorjanci-so-blizu-2025"
SECRET = re.compile(r'data-testid="secret">([A-Z2-7 ]+)<')
QR = re.compile(r'<img class="qr" src="([^"]+)"')
RECOVERY = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """The whole program's time, held still at :data:`START` until a test shifts it."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@dataclass
class SetUp:
    """A staff member's browser after turning two-factor sign-in on through the page."""

    client: httpx.Client
    totp: pyotp.TOTP
    recovery_codes: list[str]

    def code(self) -> str:
        """The code the phone shows now (at the frozen time)."""
        return self.totp.at(datetime.now(UTC))


def set_up(client: httpx.Client) -> SetUp:
    page = client.get("/admin/two-factor")
    assert page.status_code == 200, page.text
    found = SECRET.search(page.text)
    assert found, "the set-up page shows no secret"
    totp = pyotp.TOTP(found.group(1).replace(" ", ""))
    code = totp.at(datetime.now(UTC))
    done = client.post("/admin/two-factor/enable", data={"csrf_token": csrf_of(page), "code": code})
    assert done.status_code == 200, done.text
    codes = RECOVERY.findall(done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    return SetUp(client, totp, codes)


def second_step(client: httpx.Client, code: str) -> httpx.Response:
    page = client.get("/admin/login/code")
    assert page.status_code == 200, page.text
    return client.post(
        "/admin/login/code", data={"csrf_token": csrf_of(page), "code": code, "next": "/admin"}
    )


def password_step(site: AdminSite, email: str = STAFF_EMAIL, password: str = STAFF_PASSWORD):
    """A new browser past the password of an account with two-factor, at the code page."""
    client = site.client()
    answer = login(client, email, password)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login/code?next=/admin"
    return client


def log_out(client: httpx.Client) -> None:
    assert client.post("/admin/logout", data={"csrf_token": token_for(client)}).status_code == 303


def entries(engine: Engine, action: AuditAction) -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).where(AuditEntry.action == action.value)
        return list(session.exec(query.order_by(AuditEntry.id)).all())  # type: ignore[arg-type]


def details(engine: Engine, action: AuditAction) -> list[str]:
    return [entry.detail for entry in entries(engine, action)]


def sent_to(response: httpx.Response, path: str) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith(path)


def what_opens(
    site: AdminSite,
    client: httpx.Client,
    token: str,
    skip: tuple[str, ...],
    refused: Callable[[str, str, httpx.Response], bool],
) -> list[str]:
    """Every admin page and form and every API call (but those under ``skip``) that
    ``client`` is not ``refused``, as ``METHOD path: status``; forms carry a genuine token."""
    requests = [(m, p) for m, p in every_request(site.app) if not p.startswith(skip)]
    assert len(requests) > 25  # the walk sees the whole app
    opened = []
    for method, path in requests:
        form = None if method == "GET" else {"csrf_token": token, "confirm": "yes"}
        answer = client.request(method, path, data=form)
        if not refused(method, path, answer):
            opened.append(f"{method} {path}: {answer.status_code}")
    return opened


def test_set_up_shows_the_qr_code_in_the_page_and_needs_a_code_typed_back(
    admin_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    client = logged_in(admin_site)
    page = client.get("/admin/two-factor")
    assert page.status_code == 200
    assert "Dvostopenjska prijava" in page.text and "aplikacijo za preverjanje" in page.text
    secret = SECRET.search(page.text).group(1).replace(" ", "")  # type: ignore[union-attr]
    totp = pyotp.TOTP(secret)
    # The QR code is drawn into the page (no request leaves the site, the CSP stays strict)
    # and holds exactly the secret shown in text, for this account and this site.
    src = html.unescape(QR.search(page.text).group(1))  # type: ignore[union-attr]
    uri = totp.provisioning_uri(name=STAFF_EMAIL, issuer_name=admin_site.settings.site_name)
    assert src == segno.make(uri, error="m").svg_data_uri(scale=5, border=4)
    assert src.startswith("data:image/svg+xml") and "http%3A" not in src.split("svg%27")[-1]
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["cache-control"] == "no-store"
    assert client.get("/admin/two-factor").text.count(SECRET.search(page.text).group(1)) == 1  # type: ignore[union-attr]

    token = csrf_of(page)
    wrong = client.post("/admin/two-factor/enable", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 401 and "Koda ni pravilna" in wrong.text
    assert details(admin_site.engine, AuditAction.two_factor_failed) == ["set-up: wrong"]
    assert SECRET.search(wrong.text).group(1).replace(" ", "") == secret  # type: ignore[union-attr]

    code = totp.at(datetime.now(UTC))
    done = client.post("/admin/two-factor/enable", data={"csrf_token": token, "code": code})
    assert done.status_code == 200 and done.headers["cache-control"] == "no-store"
    codes = RECOVERY.findall(done.text)
    assert len(set(codes)) == 10 and "samo to enkrat" in done.text
    [enabled] = entries(admin_site.engine, AuditAction.two_factor_enabled)
    assert enabled.actor == STAFF_EMAIL and enabled.client == "127.0.0.1"
    # The codes are shown once: the page afterwards tells only how many are left.
    again = client.get("/admin/two-factor")
    assert "vklopljena od" in again.text and 'data-testid="recovery-left">10<' in again.text
    assert not any(code in again.text for code in codes) and secret not in again.text
    assert "data:image" not in again.text


def test_sign_in_takes_two_steps_and_a_code_works_once_in_its_step(
    admin_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    phone = set_up(logged_in(admin_site))
    used_to_enable = phone.code()
    log_out(phone.client)

    client = password_step(admin_site)
    assert sent_to(client.get("/admin"), "/admin/login")  # a password alone opens nothing
    replayed = second_step(client, used_to_enable)
    assert replayed.status_code == 401 and "že bila uporabljena" in replayed.text
    clock.shift(STEP)
    assert phone.code() != used_to_enable
    signed_in = second_step(client, phone.code())
    assert sent_to(signed_in, "/admin")
    assert client.get("/admin").status_code == 200

    # The same code again, from another browser in the same 30 seconds: a replay.
    thief = password_step(admin_site)
    assert second_step(thief, phone.code()).status_code == 401
    assert sent_to(thief.get("/admin"), "/admin/login")
    # A phone a step behind is fine; a code two steps old is not.
    clock.shift(3 * STEP)
    late = password_step(admin_site)
    assert second_step(late, phone.totp.at(datetime.now(UTC) - 2 * STEP)).status_code == 401
    assert sent_to(second_step(late, phone.totp.at(datetime.now(UTC) - STEP)), "/admin")

    assert details(admin_site.engine, AuditAction.two_factor_failed) == [
        "sign-in: replayed",
        "sign-in: replayed",
        "sign-in: wrong",
    ]
    sign_ins = details(admin_site.engine, AuditAction.sign_in)
    assert sign_ins == ["", "with code", "with code"]  # the set-up's password-only one first


def test_a_recovery_code_signs_in_once(
    admin_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    phone = set_up(logged_in(admin_site))
    log_out(phone.client)
    lost_phone, *_ = phone.recovery_codes

    client = password_step(admin_site)
    signed_in = second_step(client, lost_phone.upper().replace("-", " "))  # as typed from paper
    assert sent_to(signed_in, "/admin/two-factor?ostalo=9")
    page = client.get(signed_in.headers["location"])
    assert "neuporabljenih je še 9" in page.text
    assert 'data-testid="recovery-left">9<' in page.text
    [used] = entries(admin_site.engine, AuditAction.recovery_code_used)
    assert used.actor == STAFF_EMAIL and used.detail == "9 left"
    assert details(admin_site.engine, AuditAction.sign_in)[-1] == "with recovery code"

    again = password_step(admin_site)
    assert second_step(again, lost_phone).status_code == 401
    assert sent_to(again.get("/admin"), "/admin/login")
    assert details(admin_site.engine, AuditAction.two_factor_failed) == ["sign-in: wrong"]
    assert sent_to(second_step(again, phone.recovery_codes[1]), "/admin/two-factor?ostalo=8")


def test_a_half_signed_in_cookie_opens_no_admin_page_form_or_api_call(
    admin_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    stock(admin_site.engine, 3)
    phone = set_up(logged_in(admin_site))
    log_out(phone.client)
    half = password_step(admin_site)
    token = csrf_of(half.get("/admin/login/code"))
    thief = admin_site.client()
    thief.cookies.set(SESSION_COOKIE, half.cookies[SESSION_COOKIE], path="/admin")

    def refused(method: str, path: str, answer: httpx.Response) -> bool:
        if path.startswith("/api"):
            return answer.status_code == 401
        if method == "GET":
            return sent_to(answer, "/admin/login?next=")
        return answer.status_code == 403 and "prijaviti" in answer.text

    skip = ("/admin/login", "/admin/logout")  # the sign-in itself, and leaving it
    assert what_opens(admin_site, half, token, skip, refused) == []
    assert admin_site.smtp.handler.received == []
    assert entries(admin_site.engine, AuditAction.edition_approved) == []

    # Once the owner passes the second step, the cookie handed out before the code is dead.
    clock.shift(STEP)
    assert sent_to(second_step(half, phone.code()), "/admin")
    assert half.get("/admin").status_code == 200
    assert sent_to(thief.get("/admin"), "/admin/login")
    assert thief.get("/admin/login/code").headers["location"].startswith("/admin/login?")


def test_the_half_session_lasts_ten_minutes(
    admin_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    phone = set_up(logged_in(admin_site))
    log_out(phone.client)
    client = password_step(admin_site)
    page = client.get("/admin/login/code")
    clock.shift(timedelta(minutes=10, seconds=1))
    late = client.post(
        "/admin/login/code", data={"csrf_token": csrf_of(page), "code": phone.code()}
    )
    assert late.status_code == 403  # the gate: no session waits for a code any more
    assert sent_to(client.get("/admin/login/code"), "/admin/login")


def test_wrong_codes_count_in_the_login_throttle(
    admin_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    phone = set_up(logged_in(admin_site))
    log_out(phone.client)
    client = password_step(admin_site)
    answers = [second_step(client, f"{n:06d}").status_code for n in range(5)]
    assert answers == [401] * 5
    clock.shift(STEP)
    throttled = second_step(client, phone.code())  # even the right code waits now
    assert throttled.status_code == 429 and "Preveč neuspelih" in throttled.text
    assert int(throttled.headers["retry-after"]) > 0
    assert login(admin_site.client()).status_code == 429  # one throttle: the password waits too
    assert details(admin_site.engine, AuditAction.two_factor_failed) == [
        *["sign-in: wrong"] * 5,
        "sign-in: throttled",
    ]
    clock.shift(timedelta(minutes=15))
    again = password_step(admin_site)
    assert sent_to(second_step(again, phone.code()), "/admin")


def test_new_recovery_codes_need_a_current_code_and_replace_the_old_ones(
    admin_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    phone = set_up(logged_in(admin_site))
    client = phone.client
    clock.shift(STEP)
    page = client.get("/admin/two-factor")
    token = csrf_of(page)
    path = "/admin/two-factor/recovery-codes"
    by_recovery = client.post(path, data={"csrf_token": token, "code": phone.recovery_codes[0]})
    assert by_recovery.status_code == 401  # a recovery code cannot make new ones
    made = client.post(path, data={"csrf_token": token, "code": phone.code()})
    assert made.status_code == 200 and "prejšnje ne veljajo več" in made.text
    fresh = RECOVERY.findall(made.text)
    assert len(fresh) == 10 and not set(fresh) & set(phone.recovery_codes)
    [entry] = entries(admin_site.engine, AuditAction.recovery_codes_regenerated)
    assert entry.actor == STAFF_EMAIL
    assert details(admin_site.engine, AuditAction.two_factor_failed) == [
        "new recovery codes: wrong"
    ]

    log_out(client)
    assert second_step(password_step(admin_site), phone.recovery_codes[1]).status_code == 401
    assert sent_to(second_step(password_step(admin_site), fresh[0]), "/admin/two-factor")


def test_turning_it_off_needs_the_password_or_a_current_code(
    admin_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    phone = set_up(logged_in(admin_site))
    client = phone.client
    path = "/admin/two-factor/disable"
    token = token_for(client, "/admin/two-factor")
    wrong = client.post(path, data={"csrf_token": token, "password": "napačno-geslo-99"})
    assert wrong.status_code == 401 and "ostaja vklopljena" in wrong.text
    assert client.post(path, data={"csrf_token": token, "code": "123456"}).status_code == 401
    clock.shift(STEP)
    off = client.post(path, data={"csrf_token": token, "code": phone.code()})
    assert sent_to(off, "/admin/two-factor?izklopljena=1")
    assert "je izklopljena" in client.get(off.headers["location"]).text
    log_out(client)
    assert sent_to(login(admin_site.client()), "/admin")  # a password is enough again

    again = set_up(logged_in(admin_site))
    off = again.client.post(
        path, data={"csrf_token": token_for(again.client), "password": STAFF_PASSWORD}
    )
    assert sent_to(off, "/admin/two-factor?izklopljena=1")
    assert details(admin_site.engine, AuditAction.two_factor_disabled) == [
        "with code",
        "with password",
    ]
    assert details(admin_site.engine, AuditAction.two_factor_failed) == [
        "turning off: wrong",
        "turning off: wrong",
    ]
    with Session(admin_site.engine) as session:
        assert session.exec(select(StaffRecoveryCode)).all() == []


@pytest.fixture
def strict_site(engine: Engine, database_url: str) -> Iterator[AdminSite]:
    """The admin where approvers and admins must sign in with two factors."""
    with open_admin_site(engine, database_url, require_two_factor="approver,admin") as site:
        yield site


def test_where_required_the_password_leads_only_to_the_set_up(
    strict_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    stock(strict_site.engine, 3)
    client = strict_site.client()
    assert sent_to(login(client), "/admin/two-factor")
    page = client.get("/admin/two-factor")
    assert page.status_code == 200 and "zahteva dvostopenjsko prijavo" in page.text
    assert 'href="/admin/lists"' not in page.text  # no navigation to what it cannot open
    token = csrf_of(page)

    def refused(method: str, path: str, answer: httpx.Response) -> bool:
        if method == "GET":
            return sent_to(answer, "/admin/two-factor")
        return answer.status_code == 403 and "najprej jo nastavite" in answer.text

    skip = ("/admin/login", "/admin/logout", "/admin/two-factor", "/api")
    assert what_opens(strict_site, client, token, skip, refused) == []
    assert entries(strict_site.engine, AuditAction.edition_approved) == []
    assert strict_site.smtp.handler.received == []
    runner = CliRunner()
    listed = runner.invoke(
        cli_app,
        ["staff", "list"],
        env={
            "PUBLISHER_DATABASE_URL": strict_site.settings.database_url,
            "PUBLISHER_REQUIRE_TWO_FACTOR": "approver,admin",
        },
    )
    assert "required, not set up" in listed.output

    # An editor's role does not require it: the password is enough.
    with session_scope(strict_site.engine) as session:
        add_staff(session, EDITOR, EDITOR_PASSWORD, "Urednik Bor", Role.editor)
    editor = strict_site.client()
    assert sent_to(login(editor, EDITOR, EDITOR_PASSWORD), "/admin")
    assert editor.get("/admin").status_code == 200

    set_up(client)
    assert client.get("/admin/lists").status_code == 200
    assert 'href="/admin/lists"' in client.get("/admin").text


def test_an_admin_resets_a_lost_phone_from_the_staff_page(
    admin_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    with session_scope(admin_site.engine) as session:
        add_staff(session, EDITOR, EDITOR_PASSWORD, "Urednik Bor", Role.editor)
    editor_browser = admin_site.client()
    assert login(editor_browser, EDITOR, EDITOR_PASSWORD).status_code == 303
    set_up(editor_browser)
    admin = logged_in(admin_site)
    assert editor_browser.get("/admin/staff").status_code == 403  # an editor cannot

    page = admin.get("/admin/staff")
    assert page.status_code == 200 and EDITOR in page.text and "vklopljena od" in page.text
    with Session(admin_site.engine) as session:
        editor_id = find_staff(session, EDITOR).id  # type: ignore[union-attr]
        admin_id = find_staff(session, STAFF_EMAIL).id  # type: ignore[union-attr]
    assert f"/admin/staff/{editor_id}/reset-two-factor" in page.text
    own = admin.post(
        f"/admin/staff/{admin_id}/reset-two-factor", data={"csrf_token": csrf_of(page)}
    )
    assert own.status_code == 409  # one's own is turned off with a password or a code

    done = admin.post(
        f"/admin/staff/{editor_id}/reset-two-factor", data={"csrf_token": csrf_of(page)}
    )
    assert sent_to(done, "/admin/staff")
    assert "je ponastavljena" in admin.get(done.headers["location"]).text
    [entry] = entries(admin_site.engine, AuditAction.two_factor_reset)
    assert (entry.actor, entry.subject) == (STAFF_EMAIL, EDITOR)
    assert sent_to(editor_browser.get("/admin"), "/admin/login")  # the sessions ended
    assert sent_to(login(admin_site.client(), EDITOR, EDITOR_PASSWORD), "/admin")


def test_the_cli_resets_a_lost_phone(
    admin_site: AdminSite, clock: time_machine.Coordinates
) -> None:
    phone = set_up(logged_in(admin_site))
    runner = CliRunner()
    env = {"PUBLISHER_DATABASE_URL": admin_site.settings.database_url}
    listed = runner.invoke(cli_app, ["staff", "list"], env=env)
    assert "\tTwo-factor\t" in listed.output and "\tadmin\ton\t" in listed.output
    result = runner.invoke(cli_app, ["staff", "reset-two-factor", STAFF_EMAIL.upper()], env=env)
    assert result.exit_code == 0, result.output
    assert "reset" in result.output
    [entry] = entries(admin_site.engine, AuditAction.two_factor_reset)
    assert entry.subject == STAFF_EMAIL and entry.actor.endswith("(command line)")
    assert sent_to(phone.client.get("/admin"), "/admin/login")
    assert sent_to(login(admin_site.client()), "/admin")
    unknown = runner.invoke(cli_app, ["staff", "reset-two-factor", "nihce@example.org"], env=env)
    assert unknown.exit_code == 1 and "staff list" in unknown.output
