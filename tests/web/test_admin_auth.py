"""Staff log in and out; strangers, forged forms and password guessers are refused."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from publisher.db import session_scope
from publisher.digests.editions import editions_of
from publisher.staff.accounts import find_staff
from publisher.web.admin.auth import SESSION_COOKIE
from publisher.web.ratelimit import LoginThrottle
from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import (
    STAFF_EMAIL,
    STAFF_PASSWORD,
    AdminSite,
    csrf_of,
    logged_in,
    login,
    token_for,
)

admin_site = admin_support.admin_site

PAGES = [
    "/admin",
    "/admin/editions",
    "/admin/editions/1",
    "/admin/articles",
    "/admin/topics",
    "/admin/lists",
    "/admin/subscribers?q=ana",
    f"/admin/digests/{LIST}/{PERIOD}",
    f"/admin/digests/{LIST}/{PERIOD}/preview.html",
    f"/admin/lists/{LIST}/export.csv",
]
FORMS = [
    f"/admin/digests/{LIST}/{PERIOD}/approve",
    f"/admin/digests/{LIST}/{PERIOD}/test",
    "/admin/editions/1/pause",
    "/admin/editions/1/retry",
    "/admin/articles/1/withdraw",
    "/admin/topics",
    f"/admin/lists/{LIST}/import",
]


def test_strangers_asking_for_admin_pages_are_sent_to_the_login_page(
    admin_site: AdminSite,
) -> None:
    with admin_site.client() as client:
        for path in PAGES:
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/admin/login?next=/admin"), path


def test_strangers_posting_admin_forms_are_refused_and_nothing_happens(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 3)
    with admin_site.client() as client:
        token = csrf_of(client.get("/admin/login"))  # a genuine token, but no session
        for path in FORMS:
            response = client.post(path, data={"csrf_token": token, "confirm": "yes"})
            assert response.status_code == 403, path
    with Session(admin_site.engine) as session:
        assert editions_of(session) == []
    assert admin_site.smtp.handler.received == []


def test_staff_log_in_see_the_dashboard_and_log_out(admin_site: AdminSite) -> None:
    with admin_site.client() as client:
        response = login(client)
        assert response.status_code == 303
        assert response.headers["location"] == "/admin"
        cookie = next(
            value
            for name, value in response.headers.multi_items()
            if name == "set-cookie" and value.startswith(SESSION_COOKIE)
        ).lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/admin" in cookie
        assert "max-age=28800" in cookie  # the session expires after a working day

        page = client.get("/admin")
        assert page.status_code == 200
        assert "Uredništvo" in page.text and "Pregled" in page.text
        assert "Urednica Ana" in page.text
        assert page.headers["cache-control"] == "no-store"

        out = client.post("/admin/logout", data={"csrf_token": csrf_of(page)})
        assert out.status_code == 303
        assert client.get("/admin").status_code == 303
        assert "Odjavljeni ste" in client.get("/admin/login?odjava=1").text
    with Session(admin_site.engine) as session:
        account = find_staff(session, STAFF_EMAIL)
        assert account is not None and account.last_login_at is not None


def test_public_pages_have_no_link_to_the_admin(admin_site: AdminSite) -> None:
    with admin_site.client() as client:
        assert "Uredništvo" not in client.get("/").text
        assert "/admin" not in client.get("/").text


def test_login_returns_to_the_page_asked_for_but_never_off_site(admin_site: AdminSite) -> None:
    with admin_site.client() as client:
        form = client.get("/admin/login?next=/admin/lists")
        assert 'value="/admin/lists"' in form.text
        token = csrf_of(form)
        fields = {"csrf_token": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD}
        response = client.post("/admin/login", data={**fields, "next": "/admin/lists"})
        assert response.headers["location"] == "/admin/lists"
    with admin_site.client() as client:
        token = csrf_of(client.get("/admin/login"))
        fields = {"csrf_token": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD}
        for target in ("//evil.example/", "https://evil.example/admin", "/\\evil.example"):
            response = client.post("/admin/login", data={**fields, "next": target})
            assert response.headers["location"] == "/admin", target


def test_a_wrong_password_or_unknown_address_is_refused_alike(admin_site: AdminSite) -> None:
    with admin_site.client() as client:
        wrong = login(client, password="not-the-password")
        unknown = login(client, email="nekdo@example.org")
        for response in (wrong, unknown):
            assert response.status_code == 401
            assert "Napačen e-poštni naslov ali geslo" in response.text
            assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
        assert client.get("/admin").status_code == 303


def test_one_client_guessing_many_accounts_is_slowed_down(admin_site: AdminSite) -> None:
    admin_site.app.state.admin.throttle = LoginThrottle(per_client="3/10 minutes")
    with admin_site.client() as client:
        for n in range(3):
            assert login(client, email=f"ugib{n}@example.org").status_code == 401
        throttled = login(client)  # the right password, but a new browser from this address
        assert throttled.status_code == 429
        assert "Preveč neuspelih prijav" in throttled.text
        assert int(throttled.headers["retry-after"]) > 0


def test_only_failed_logins_count_towards_the_throttle(admin_site: AdminSite) -> None:
    admin_site.app.state.admin.throttle = LoginThrottle(per_client="3/10 minutes")
    with admin_site.client() as client:
        for _ in range(2):
            assert login(client, email="ugib@example.org").status_code == 401
        for _ in range(3):  # the right password, from the same address: counts nothing
            with admin_site.client() as staff:
                assert login(staff).status_code == 303
        assert login(client, email="ugib@example.org").status_code == 401  # the third failure
        assert login(client).status_code == 429


@pytest.mark.parametrize("token", ["", "forged.token", "missing"])
def test_forms_with_a_forged_or_missing_csrf_token_are_refused(
    admin_site: AdminSite, token: str
) -> None:
    stock(admin_site.engine, 3)
    client = logged_in(admin_site)
    genuine = token_for(client)
    data = {"confirm": "yes"} if token == "missing" else {"confirm": "yes", "csrf_token": token}
    response = client.post(f"/admin/digests/{LIST}/{PERIOD}/approve", data=data)
    assert response.status_code == 403
    # A genuine token without the cookie it belongs to (another browser's) is refused too.
    stranger = logged_in(admin_site)
    stranger.cookies.delete("publisher_csrf")
    response = stranger.post(
        f"/admin/digests/{LIST}/{PERIOD}/approve", data={"confirm": "yes", "csrf_token": genuine}
    )
    assert response.status_code == 403
    with Session(admin_site.engine) as session:
        assert editions_of(session) == []


def test_login_form_itself_needs_a_csrf_token(admin_site: AdminSite) -> None:
    with admin_site.client() as client:
        response = client.post(
            "/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
        )
        assert response.status_code == 403


def test_removing_an_account_ends_its_sessions(admin_site: AdminSite) -> None:
    client = logged_in(admin_site)
    assert client.get("/admin").status_code == 200
    from publisher.staff.accounts import remove_staff

    with session_scope(admin_site.engine) as session:
        remove_staff(session, STAFF_EMAIL)
    assert client.get("/admin").status_code == 303
