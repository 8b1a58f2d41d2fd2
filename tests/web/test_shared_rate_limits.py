"""With ``ratelimit_storage = "redis://…"`` every web process counts against one limit: two
``publisher serve`` processes together allow the rate once, not twice."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.conftest import REDIS_ENV
from tests.web.residents_support import stock_town, subscribe_form
from tests.web.serve_support import publisher_serve

REDIS_URL = os.environ.get(REDIS_ENV)
needs_redis = pytest.mark.skipif(
    not REDIS_URL,
    reason=f"shared rate limits need {REDIS_ENV} (e.g. redis://127.0.0.1:6379/0); "
    "`bash .ci/run` sets it",
)


def _alternating(urls: list[str], client: str, tries: int) -> list[int]:
    """``tries`` subscriptions from one client, sent to each server in turn."""
    statuses = []
    run = uuid.uuid4().hex[:8]
    for n in range(tries):
        with httpx.Client(
            base_url=urls[n % len(urls)], timeout=10, headers={"X-Forwarded-For": client}
        ) as browser:
            statuses.append(subscribe_form(browser, f"oseba{n}-{run}@example.org").status_code)
    return statuses


@needs_redis
def test_two_web_processes_share_one_subscribe_limit_in_redis(
    engine: Engine, database_url: str
) -> None:
    stock_town(engine)
    # One resident, unique to this run, so no other test (or run) shares the Redis keys.
    client = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    settings = {
        "base_url": "https://novice.novomesto.example.org",  # one site, served by two processes
        "ratelimit_storage": str(REDIS_URL),
        "trusted_proxies": "127.0.0.1",
        "subscribe_limit_ip": "3/hour",
        "subscribe_limit_address": "100/hour",
    }
    with (
        publisher_serve(database_url, "--no-jobs", **settings) as first,
        publisher_serve(database_url, "--no-jobs", **settings) as second,
    ):
        statuses = _alternating([first.url, second.url], client, 5)
    assert statuses == [200, 200, 200, 429, 429]


def test_in_memory_each_process_counts_alone(engine: Engine, database_url: str) -> None:
    """The default: what the Redis storage is for (and proof the test above tells them apart)."""
    stock_town(engine)
    settings = {
        "trusted_proxies": "127.0.0.1",
        "subscribe_limit_ip": "2/hour",
        "subscribe_limit_address": "100/hour",
    }
    with (
        publisher_serve(database_url, "--no-jobs", **settings) as first,
        publisher_serve(database_url, "--no-jobs", **settings) as second,
    ):
        statuses = _alternating([first.url, second.url], "192.0.2.77", 5)
    assert statuses == [200, 200, 200, 200, 429]


def test_a_storage_that_is_not_memory_or_redis_is_refused_naming_the_setting() -> None:
    from publisher.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="ratelimit_storage"):
        load_settings(ratelimit_storage="mongodb://127.0.0.1")
