"""The shared rate-limit storage, against the real Redis: a Redis that is down or unreachable
never takes the subscribe form down (limits are counted in the process meanwhile, with a
warning, and in Redis again once it is back), and two sites sharing one Redis never share a
count."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest
import redis
import time_machine
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from publisher.web.app import create_app
from publisher.web.ratelimit import RECONNECT_EVERY, key_prefix
from tests.conftest import REDIS_ENV
from tests.web.conftest import serve
from tests.web.residents_support import live_town, residents_settings, subscribe_form

REDIS_URL = os.environ.get(REDIS_ENV, "")
needs_redis = pytest.mark.skipif(
    not REDIS_URL,
    reason=f"needs {REDIS_ENV} (e.g. redis://127.0.0.1:6379/0); `bash .ci/run` sets it",
)
LIMITS = {
    "trusted_proxies": "127.0.0.1",
    "subscribe_limit_ip": "3/hour",
    "subscribe_limit_address": "100/hour",
}


def attempts(url: str, client: str, tries: int) -> list[int]:
    """``tries`` subscriptions from one client (named by a trusted proxy's header)."""
    run = uuid.uuid4().hex[:8]
    statuses = []
    for n in range(tries):
        with httpx.Client(base_url=url, timeout=10, headers={"X-Forwarded-For": client}) as web:
            statuses.append(subscribe_form(web, f"oseba{n}-{run}@example.org").status_code)
    return statuses


def a_client() -> str:
    """A client address of this test's own, so no other test shares its Redis keys."""
    return str(ipaddress.ip_address(f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"))


class RedisLine:
    """A TCP line between the app and the real Redis that the test can cut and mend."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []

    def mend(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        assert self._listener is not None
        for connection in [self._listener, *self._open]:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked on it
            connection.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                inside, _ = listener.accept()
            except OSError:
                return
            outside = socket.create_connection(self.target)
            self._open += [inside, outside]
            for source, sink in ((inside, outside), (outside, inside)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            end.close()


@contextmanager
def redis_line() -> Iterator[RedisLine]:
    parsed = httpx.URL(REDIS_URL)
    line = RedisLine((parsed.host, parsed.port or 6379))
    line.mend()
    try:
        yield line
    finally:
        line.cut()


def test_an_unreachable_redis_is_no_server_error_and_limits_still_hold(
    engine: Engine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket is closed
    storage = f"redis://127.0.0.1:{port}/0"
    with (
        caplog.at_level(logging.WARNING, logger="publisher.web.ratelimit"),
        live_town(engine, database_url, ratelimit_storage=storage, **LIMITS) as (url, _),
    ):
        assert attempts(url, "192.0.2.10", 4) == [200, 200, 200, 429]
    warnings = [r.getMessage() for r in caplog.records if r.name == "publisher.web.ratelimit"]
    assert len(warnings) == 1  # once, not on every request
    assert f"redis://127.0.0.1:{port} unreachable" in warnings[0]
    assert "in this process" in warnings[0]


@needs_redis
def test_limits_move_to_memory_while_redis_is_cut_off_and_back_once_it_answers(
    engine: Engine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = a_client()
    store = redis.Redis.from_url(REDIS_URL)
    with (
        redis_line() as line,
        caplog.at_level(logging.WARNING, logger="publisher.web.ratelimit"),
        time_machine.travel(datetime.now(UTC), tick=True) as clock,
        live_town(
            engine, database_url, ratelimit_storage=f"redis://127.0.0.1:{line.port}/0", **LIMITS
        ) as (url, town),
    ):
        prefix = key_prefix(town.settings)

        def counted_in_redis() -> int:
            keys = [k for k in store.scan_iter(f"{prefix}:*") if client.encode() in k]
            return sum(int(store.llen(key)) for key in keys if b"subscribe-ip" in key)

        assert attempts(url, client, 1) == [200]
        assert counted_in_redis() == 1
        line.cut()
        assert attempts(url, client, 1) == [200]  # not a 500: counted in the process
        assert counted_in_redis() == 1
        line.mend()
        clock.shift(RECONNECT_EVERY + 1)
        assert attempts(url, client, 1) == [200]
        assert counted_in_redis() == 2  # back in Redis
    messages = [r.getMessage() for r in caplog.records if r.name == "publisher.web.ratelimit"]
    assert any("unreachable" in message for message in messages)
    assert any("is back" in message for message in messages)


@needs_redis
def test_two_sites_on_one_redis_keep_their_own_counts(engine: Engine, database_url: str) -> None:
    client = a_client()
    settings = {"ratelimit_storage": REDIS_URL, **LIMITS}
    with live_town(engine, database_url, **settings) as (first, town):

        def another_site(url: str) -> FastAPI:
            other = residents_settings(database_url, town.smtp.port, base_url=url, **settings)
            return create_app(other, engine)

        with serve(another_site) as (second, other):
            assert attempts(first, client, 4) == [200, 200, 200, 429]
            # Another site (another base URL) on the same Redis: the client starts afresh.
            assert attempts(second, client, 1) == [200]
            prefixes = {key_prefix(town.settings), key_prefix(other.state.settings)}
            assert len(prefixes) == 2
            store = redis.Redis.from_url(REDIS_URL)
            for prefix in prefixes:
                keys = list(store.scan_iter(f"{prefix}:*"))
                assert any(client.encode() in key for key in keys), prefix
