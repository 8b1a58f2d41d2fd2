"""Logging out ends the session on the server: a copy of the cookie opens nothing afterwards."""

from __future__ import annotations

import httpx

from publisher.db import session_scope
from publisher.staff.accounts import set_password
from publisher.web.admin.auth import SESSION_COOKIE
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, AdminSite, logged_in, token_for

admin_site = admin_support.admin_site


def copy_of(site: AdminSite, client: httpx.Client) -> httpx.Client:
    """Another client holding only the session cookie, as a thief who copied it would."""
    thief = site.client()
    thief.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE], path="/admin")
    return thief


def sent_to_login(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/admin/login")


def test_a_cookie_copied_before_logout_stops_working(admin_site: AdminSite) -> None:
    client = logged_in(admin_site)
    thief = copy_of(admin_site, client)
    assert thief.get("/admin").status_code == 200  # the copy works while the session lives

    assert client.post("/admin/logout", data={"csrf_token": token_for(client)}).status_code == 303
    assert sent_to_login(thief.get("/admin"))
    assert sent_to_login(thief.get("/admin/lists"))
    assert thief.get("/admin/login").status_code == 200  # the login page, not the dashboard


def test_logging_out_ends_only_that_session(admin_site: AdminSite) -> None:
    desk, phone = logged_in(admin_site), logged_in(admin_site)
    desk.post("/admin/logout", data={"csrf_token": token_for(desk)})
    assert sent_to_login(desk.get("/admin"))
    assert phone.get("/admin").status_code == 200


def test_log_out_everywhere_ends_every_session_of_the_account(admin_site: AdminSite) -> None:
    desk, phone = logged_in(admin_site), logged_in(admin_site)
    thief = copy_of(admin_site, phone)
    assert "/admin/logout/everywhere" in desk.get("/admin").text
    out = desk.post("/admin/logout/everywhere", data={"csrf_token": token_for(desk)})
    assert out.status_code == 303
    for client in (desk, phone, thief):
        assert sent_to_login(client.get("/admin"))
    assert logged_in(admin_site).get("/admin").status_code == 200  # signing in again works


def test_a_new_password_ends_every_session(admin_site: AdminSite) -> None:
    client = logged_in(admin_site)
    thief = copy_of(admin_site, client)
    with session_scope(admin_site.engine) as session:
        set_password(session, STAFF_EMAIL, "Novo-geslo-za-Krko-2026")
    assert sent_to_login(client.get("/admin"))
    assert sent_to_login(thief.get("/admin"))


def test_a_forged_or_tampered_session_cookie_opens_nothing(admin_site: AdminSite) -> None:
    client = logged_in(admin_site)
    genuine = client.cookies[SESSION_COOKIE]
    for value in ("x", genuine[:-2] + "AA", genuine + "x"):
        with admin_site.client() as forger:
            forger.cookies.set(SESSION_COOKIE, value, path="/admin")
            assert sent_to_login(forger.get("/admin"))
