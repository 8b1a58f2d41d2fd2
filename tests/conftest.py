"""Shared fixtures: real databases (SQLite always, PostgreSQL when configured), a clean env,
a real SMTP relay."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from publisher.cli.context import console, err_console
from publisher.db import make_engine, upgrade

if TYPE_CHECKING:
    from tests.delivery.sending_support import SmtpServer

hypothesis_settings.register_profile("ci", max_examples=50, deadline=None)
hypothesis_settings.register_profile("dev", max_examples=200, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")
"""The property tests of the parsers: bounded in CI (``.ci/run`` sets CI=true), wider locally;
no deadline, because a loaded machine must not turn a slow example into a failure."""

PG_ENV = "PUBLISHER_TEST_DATABASE_URL"
REDIS_ENV = "PUBLISHER_TEST_REDIS_URL"
TEST_SECRET = "test-only-secret-key-for-the-test-suite-0123456789"
"""Every test's secret key (set as PUBLISHER_SECRET_KEY), long enough for `serve` to start."""
CLI_TEST_WIDTH = 200
"""Columns of the CLI's consoles under test: wide enough that no table cuts a cell."""
PG_SKIP_REASON = (
    f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test); "
    "`bash .ci/run` sets it"
)


_SHELL_SETTINGS = frozenset(key for key in os.environ if key.startswith("PUBLISHER_"))
"""The developer's own ``PUBLISHER_*`` variables: hidden during each test, back afterwards."""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come only from what a test sets, never from the developer's shell, nor from
    an earlier test (``publisher --config FILE`` run in-process sets ``PUBLISHER_CONFIG``
    for the rest of the process, as it should in a real one): those go for good."""
    for key in list(os.environ):
        if key.startswith("PUBLISHER_") and key not in (PG_ENV, REDIS_ENV):
            if key in _SHELL_SETTINGS:
                monkeypatch.delenv(key)
            else:
                del os.environ[key]
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", TEST_SECRET)


@pytest.fixture(autouse=True)
def _wide_cli_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI prints whole table rows (addresses, reasons) in every test, at one width.

    Rich fixes a console's width from COLUMNS when the console is made, at import, and
    pytest-xdist workers run with COLUMNS=80; so the width is set on the consoles themselves.
    """
    for shared in (console, err_console):
        monkeypatch.setattr(shared, "width", CLI_TEST_WIDTH)


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A command run in-process configures logging (``publisher.logs.configure``): its
    handler and levels go when the test ends, so no test logs in another's format."""
    names = ("", "publisher", "uvicorn", "uvicorn.error", "uvicorn.access")
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg, list(lg.handlers), list(lg.filters), lg.level) for lg in loggers]
    yield
    for lg, handlers, filters, level in saved:
        lg.handlers[:] = handlers
        lg.filters[:] = filters
        lg.setLevel(level)


def _postgres_schema_url(base_url: str) -> Iterator[str]:
    """A fresh schema for one test, dropped afterwards: tests never see each other's rows."""
    url = make_url(base_url)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = make_engine(url.render_as_string(hide_password=False))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: an SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'publisher.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP_REASON)
    yield from _postgres_schema_url(base)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database, ready for the store."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real aiosmtpd relay on a free loopback port that keeps every message it accepts."""
    from tests.delivery.sending_support import SmtpServer  # imports this module itself

    with SmtpServer() as server:
        yield server
