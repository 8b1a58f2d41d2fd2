"""The admin over real HTTP: the app under uvicorn, a real aiosmtpd, a staff account, a client.

``admin_site`` serves the whole app (``create_app``) on a free port with settings that send
to a recording SMTP server (``open_admin_site`` does the same with settings of a test's
choosing); ``login`` logs an httpx client in through the login form, the way a browser does
(GET the form for its CSRF token, POST it back).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from publisher.config import Settings
from publisher.db import session_scope
from publisher.staff.accounts import add_staff
from publisher.staff.models import Role
from publisher.web.app import create_app
from tests.delivery.sending_support import SmtpServer, settings_for
from tests.web.conftest import serve

STAFF_EMAIL = "urednica@novomesto.example.org"
STAFF_PASSWORD = "Krka-teče-mimo-2025"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class AdminSite:
    url: str
    app: FastAPI
    settings: Settings
    engine: Engine
    smtp: SmtpServer

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)


@pytest.fixture
def admin_site(engine: Engine, database_url: str) -> Iterator[AdminSite]:
    with open_admin_site(engine, database_url) as site:
        yield site


@contextmanager
def open_admin_site(engine: Engine, database_url: str, **settings: object) -> Iterator[AdminSite]:
    """The admin served with ``settings`` on top of the test defaults, and its admin account."""
    with session_scope(engine) as session:
        add_staff(session, STAFF_EMAIL, STAFF_PASSWORD, "Urednica Ana", Role.admin)
    with SmtpServer() as smtp:
        settings_box: list[Settings] = []

        def make_app(url: str) -> FastAPI:
            made = settings_for(database_url, smtp.port, base_url=url, **settings)
            settings_box.append(made)
            return create_app(made, engine)

        with serve(make_app) as (url, app):
            site = AdminSite(url, app, settings_box[0], engine, smtp)
            try:
                yield site
            finally:
                app.state.senders.stop_all()


def csrf_of(page: httpx.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def login(
    client: httpx.Client, email: str = STAFF_EMAIL, password: str = STAFF_PASSWORD
) -> httpx.Response:
    form = client.get("/admin/login")
    assert form.status_code == 200
    return client.post(
        "/admin/login",
        data={"csrf_token": csrf_of(form), "email": email, "password": password, "next": "/admin"},
    )


def logged_in(site: AdminSite) -> httpx.Client:
    client = site.client()
    response = login(client)
    assert response.status_code == 303, response.text
    return client


def token_for(client: httpx.Client, path: str = "/admin") -> str:
    """The CSRF token of an admin page's forms (the logout form is on every page)."""
    return csrf_of(client.get(path))


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll with a bound instead of sleeping a guessed time."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
