"""Fixtures of the ``publisher check`` tests: the deployment's files, a migrated SQLite store,
and settings of a correct deployment that each test breaks in one place."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from publisher.config import Settings, load_settings
from publisher.db import make_engine, upgrade
from tests.checks.check_support import (
    DOMAIN,
    FROM,
    RELAY_PASSWORD,
    RELAY_USER,
    SELECTOR,
    Pki,
    make_pki,
)

Configure = Callable[..., Settings]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'publisher.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


@pytest.fixture
def configure(pki: Pki, store: tuple[str, Engine]) -> Configure:
    """Settings of a correct deployment (relay on STARTTLS with login, DKIM, https site);
    keyword arguments change what a test breaks."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": store[0],
            "base_url": "https://novice.obcina.test",
            "from_address": FROM,
            "smtp_host": "127.0.0.1",
            "smtp_port": 1,
            "smtp_tls": "starttls",
            "smtp_ca_file": pki.ca_file,
            "smtp_username": RELAY_USER,
            "smtp_password": RELAY_PASSWORD,
            "smtp_timeout": 10,
            "dkim_domain": DOMAIN,
            "dkim_selector": SELECTOR,
            "dkim_key_path": pki.dkim_key,
            "check_sending_ips": ["127.0.0.1"],
            "dns_timeout": 3,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def trusted_ca(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's CA as the system's: OpenSSL reads SSL_CERT_FILE when a context is made, so
    the site's https certificate verifies as a public CA's would."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
