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
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from starlette.routing import Mount

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
def open_admin_site(
    engine: Engine, database_url: str, *, smtputf8: bool = True, **settings: object
) -> Iterator[AdminSite]:
    """The admin served with ``settings`` on top of the test defaults, and its admin account,
    sending to a recording SMTP server (announcing SMTPUTF8 unless ``smtputf8`` is False)."""
    with session_scope(engine) as session:
        add_staff(session, STAFF_EMAIL, STAFF_PASSWORD, "Urednica Ana", Role.admin)
    with SmtpServer(smtputf8=smtputf8) as smtp:
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


def _role_named(call: object) -> Role | None:
    """The role a ``require_role`` check stands for (it is named ``require_<role>``)."""
    name = getattr(call, "__name__", "").removeprefix("require_")
    return Role(name) if name in Role.__members__ else None


def roles_needed(dependant: Dependant) -> list[Role]:
    """Every role a route's dependencies (and theirs) check."""
    found = []
    for dependency in dependant.dependencies:
        role = _role_named(dependency.call)
        found.extend([role] if role else [])
        found.extend(roles_needed(dependency))
    return found


def routes_with_roles(
    routes: list[Any], inherited: list[Role] | None = None
) -> Iterator[tuple[APIRoute, list[Role]]]:
    """Every route of the app with the roles its routers check (routers are included whole)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route, inherited or []
        elif (inner := getattr(route, "original_router", None)) is not None:
            checks = [_role_named(d.dependency) for d in inner.dependencies]
            yield from routes_with_roles(inner.routes, (inherited or []) + [r for r in checks if r])


PATH_VALUES = {"slug": "tedenske-novice", "period_key": "2025-W10"}
"""What a walk over every route puts for a path parameter; any other one is ``1``."""


def every_request(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) for every route of the admin and of the API mounted at ``/api``, with
    its parameters filled in: the class of requests a rule about "every page" must cover."""
    found: list[tuple[str, str]] = []

    def fill(path: str) -> str:
        return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PATH_VALUES.get(m[1], "1"), path)

    for route, _ in routes_with_roles(app.routes):
        if route.path.startswith("/admin"):
            found.extend((method, fill(route.path)) for method in sorted(route.methods - {"HEAD"}))
    api = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/api")
    for route, _ in routes_with_roles(api.app.routes):  # type: ignore[attr-defined]
        if not route.path.startswith("/docs"):
            found.extend(
                (method, "/api" + fill(route.path)) for method in sorted(route.methods - {"HEAD"})
            )
    return found
