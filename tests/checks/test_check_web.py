"""The one-click unsubscribe line against the real app over real HTTPS (uvicorn on a free
port with a certificate of the test's CA, which the test makes the system trust), and
against nothing listening."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI

from publisher.checks.results import Status
from publisher.checks.web import unsubscribe_check
from publisher.config import Settings
from publisher.web.app import create_app
from tests.checks.check_support import Pki, free_port
from tests.checks.conftest import Configure
from tests.web.conftest import serve


@contextmanager
def site(pki: Pki, configure: Configure, engine: object) -> Iterator[Settings]:
    """The app at https://127.0.0.1:PORT, its base_url that address."""
    made: list[Settings] = []

    def make_app(url: str) -> FastAPI:
        made.append(configure(base_url=url))
        return create_app(made[0], engine)  # type: ignore[arg-type]

    options = {"ssl_certfile": str(pki.relay_cert), "ssl_keyfile": str(pki.relay_key)}
    with serve(make_app, **options) as (_, app):
        try:
            yield made[0]
        finally:
            app.state.senders.stop_all()


def test_the_unsubscribe_link_answers_a_post_from_outside(
    pki: Pki, configure: Configure, store: tuple[str, object], trusted_ca: None
) -> None:
    with site(pki, configure, store[1]) as settings:
        check = asyncio.run(unsubscribe_check(settings))
    assert check.status is Status.ok, check
    assert f"{settings.base_url}/unsubscribe/" in check.detail
    assert "answers a POST from outside" in check.detail


def test_a_site_whose_certificate_is_not_trusted_fails(
    pki: Pki,
    configure: Configure,
    store: tuple[str, object],
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent")
    with site(pki, configure, store[1]) as settings:
        check = asyncio.run(unsubscribe_check(settings))
    assert check.status is Status.fail
    assert "certificate is not valid" in check.detail


def test_an_unreachable_site_fails_and_says_what_to_serve(configure: Configure) -> None:
    settings = configure(base_url=f"https://127.0.0.1:{free_port()}")
    check = asyncio.run(unsubscribe_check(settings))
    assert check.status is Status.fail
    assert "cannot be reached" in check.detail
    assert "base_url" in check.fix


def test_something_else_answering_at_base_url_fails(
    pki: Pki, configure: Configure, store: tuple[str, object], trusted_ca: None
) -> None:
    """A proxy serving another site at the address: its 404 is not publisher's answer."""
    with site(pki, configure, store[1]) as settings:
        elsewhere = settings.model_copy(update={"base_url": settings.base_url + "/other-site"})
        check = asyncio.run(unsubscribe_check(elsewhere))
    assert check.status is Status.fail
    assert "answers 404" in check.detail
