"""``/healthz`` and ``/readyz`` over real HTTP: the database going away makes the site unready
and its return ready again (SQLite: the file moved away; PostgreSQL: a throwaway database
closed to connections); a relay that is down is reported but never makes it unready."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from publisher.config import Settings
from publisher.db import make_engine, upgrade
from publisher.delivery.outbox import Outbox
from publisher.web.app import create_app
from tests.conftest import PG_ENV, PG_SKIP_REASON
from tests.delivery.sending_support import SmtpServer, free_port
from tests.feeds.helpers import make_settings
from tests.web.conftest import serve


@contextmanager
def site(engine: Engine, database_url: str, **settings: Any) -> Iterator[tuple[str, Settings]]:
    box: list[Settings] = []

    def make_app(url: str) -> Any:
        box.append(make_settings(database_url, base_url=url, **settings))
        return create_app(box[0], engine)

    with serve(make_app) as (url, _app):
        yield url, box[0]


def wait_for(probe: Callable[[], httpx.Response], want: Callable[[httpx.Response], bool]) -> Any:
    """Ask ``probe`` until its answer is as wanted (bounded): the answer."""
    give_up = time.monotonic() + 15
    while True:
        answer = probe()
        if want(answer):
            return answer
        assert time.monotonic() < give_up, f"still {answer.status_code} {answer.text}"
        time.sleep(0.05)


def test_healthz_answers_without_the_database_never_cached(
    engine: Engine, database_url: str
) -> None:
    with site(engine, database_url) as (url, _):
        answer = httpx.get(f"{url}/healthz")
        head = httpx.head(f"{url}/healthz")
        engine.dispose()
    assert answer.status_code == 200 and head.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"  # the security headers too


def test_readyz_is_ready_on_a_migrated_database_and_names_the_relay_unknown(
    engine: Engine, database_url: str
) -> None:
    with site(engine, database_url) as (url, _):
        answer = httpx.get(f"{url}/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["revision"] == body["checks"]["database"]["head"]
    assert body["checks"]["relay"]["status"] == "unknown"


def test_readyz_is_unavailable_on_a_database_not_migrated(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect():
        pass  # an empty database (on SQLite: an empty file)
    try:
        with site(engine, database_url) as (url, _):
            answer = httpx.get(f"{url}/readyz")
    finally:
        engine.dispose()
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"]["status"] == "not_migrated"


def test_readyz_follows_an_sqlite_file_that_goes_away_and_comes_back(tmp_path: Path) -> None:
    database = tmp_path / "publisher.db"
    database_url = f"sqlite:///{database}"
    engine = make_engine(database_url)
    upgrade(engine)
    aside = tmp_path / "aside"
    aside.mkdir()
    try:
        with site(engine, database_url) as (url, _):
            ready = lambda: httpx.get(f"{url}/readyz")  # noqa: E731
            assert ready().status_code == 200
            moved = [p for p in tmp_path.glob("publisher.db*") if p.is_file()]
            for path in moved:
                shutil.move(path, aside / path.name)
            gone = wait_for(ready, lambda a: a.status_code == 503)
            assert gone.json()["checks"]["database"]["status"] == "missing"
            assert gone.json()["status"] == "unavailable"
            assert not database.exists()  # the probe did not make a new, empty one
            assert httpx.get(f"{url}/healthz").status_code == 200  # the process is still up
            for path in moved:
                shutil.move(aside / path.name, path)
            back = wait_for(ready, lambda a: a.status_code == 200)
            assert back.json()["checks"]["database"]["status"] == "ok"
    finally:
        engine.dispose()


@contextmanager
def throwaway_database() -> Iterator[tuple[str, Engine]]:
    """A PostgreSQL database of its own (never ``test`` itself), dropped afterwards; and an
    engine on the server's ``postgres`` database that can close it to connections."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP_REASON)
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"readyz_{uuid.uuid4().hex[:12]}"
    admin = make_engine(
        url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False), admin
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_readyz_follows_a_postgresql_database_that_closes_and_opens_again() -> None:
    with throwaway_database() as (database_url, admin):
        name = make_url(database_url).database
        engine = make_engine(database_url)
        upgrade(engine)
        try:
            with site(engine, database_url) as (url, _):
                ready = lambda: httpx.get(f"{url}/readyz")  # noqa: E731
                assert ready().status_code == 200
                with admin.connect() as connection:
                    connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                    connection.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": name},
                    )
                gone = wait_for(ready, lambda a: a.status_code == 503)
                assert gone.json()["checks"]["database"]["status"] == "unreachable"
                assert "password" not in gone.text and "FATAL" not in gone.text
                with admin.connect() as connection:
                    connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
                back = wait_for(ready, lambda a: a.status_code == 200)
                assert back.json()["checks"]["database"]["status"] == "ok"
        finally:
            engine.dispose()


def _send_one(settings: Settings, engine: Engine) -> None:
    async def send() -> None:
        async with Outbox(settings, pool_size=1, engine=engine) as outbox:
            await outbox.send("ana@example.org", b"Subject: x\r\n\r\nx\r\n")

    asyncio.run(send())


def test_a_relay_that_is_down_is_reported_and_the_site_stays_ready(
    engine: Engine, database_url: str
) -> None:
    relay = SmtpServer()
    relay.port = free_port()
    with site(engine, database_url, smtp_port=relay.port) as (url, settings):
        ready = lambda: httpx.get(f"{url}/readyz")  # noqa: E731
        _send_one(settings, engine)  # nobody listens there
        down = wait_for(ready, lambda a: a.json()["checks"]["relay"]["status"] == "failing")
        assert down.status_code == 200  # the site works without a relay
        assert down.json()["checks"]["relay"]["last_failed"] is not None
        with relay:
            _send_one(settings, engine)
            up = wait_for(ready, lambda a: a.json()["checks"]["relay"]["status"] == "ok")
        assert up.status_code == 200
        assert relay.handler.per_recipient()["ana@example.org"] == 1
        relay_check = up.json()["checks"]["relay"]
        assert relay_check["last_ok"] >= relay_check["last_failed"]
        assert set(relay_check) == {"status", "last_ok", "last_failed"}  # no host, no reply
