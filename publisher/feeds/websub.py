"""Tell a WebSub hub (https://www.w3.org/TR/websub/) that feeds changed, without making anyone wait.

The ping is the de-facto publish notification hubs accept (``hub.mode=publish``,
``hub.url=FEED``), sent from a background thread with bounded retries: an import has already
committed when the ping starts, and a slow or broken hub only costs a warning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.articles.store import list_topics
from publisher.config import Settings
from publisher.feeds.models import FeedFormat, FeedKey
from publisher.links import feed_url

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
ATTEMPTS = 4
BACKOFF = 0.5
"""Seconds before the first retry; doubled for each next one (0.5, 1, 2)."""


@dataclass
class PingResult:
    hub: str
    notified: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Feed URL → the last reason it was not accepted."""

    @property
    def ok(self) -> bool:
        return not self.failed


def changed_feed_urls(settings: Settings, topics: Iterable[str]) -> list[str]:
    """The subscription documents an article change touches: the site's and its topics'."""
    urls = []
    for topic in [None, *sorted(set(topics))]:
        for fmt in FeedFormat:
            urls.append(feed_url(settings, FeedKey(format=fmt, topic=topic).path))
    return urls


def ping_hub(
    hub: str,
    feed_urls: Iterable[str],
    *,
    attempts: int | None = None,
    backoff: float | None = None,
    timeout: float = 5.0,
    deadline: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> PingResult:
    """Notify ``hub`` of each feed URL; retry network errors and 5xx/429 with backoff.

    Never raises. ``deadline`` bounds the whole run in seconds, whatever the hub does.
    """
    attempts = ATTEMPTS if attempts is None else attempts
    backoff = BACKOFF if backoff is None else backoff
    result = PingResult(hub=hub)
    give_up_at = time.monotonic() + deadline
    with httpx.Client(timeout=timeout, headers={"User-Agent": "publisher-websub"}) as client:
        unreachable: str | None = None
        for url in feed_urls:
            if unreachable is not None:
                result.failed[url] = unreachable  # no point waiting out every URL again
                continue
            reason = _ping_one(client, hub, url, attempts, backoff, give_up_at, sleep)
            if reason is None:
                result.notified.append(url)
            else:
                result.failed[url] = reason
                if not reason.startswith("HTTP "):
                    unreachable = reason
    if result.failed:
        log.warning("WebSub hub %s was not told about %d feed(s)", hub, len(result.failed))
    return result


def _ping_one(
    client: httpx.Client,
    hub: str,
    url: str,
    attempts: int,
    backoff: float,
    give_up_at: float,
    sleep: Callable[[float], None],
) -> str | None:
    reason = "not tried"
    for attempt in range(attempts):
        if attempt:
            delay = backoff * 2 ** (attempt - 1)
            if time.monotonic() + delay > give_up_at:
                return f"{reason} (gave up: time limit)"
            sleep(delay)
        try:
            response = client.post(hub, data={"hub.mode": "publish", "hub.url": url})
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            continue
        if response.is_success:
            return None
        reason = f"HTTP {response.status_code}"
        if response.status_code not in RETRY_STATUSES:
            return reason  # the hub refused; asking again will not help
    return reason


def ping_in_background(
    settings: Settings,
    topics: Iterable[str],
    on_done: Callable[[PingResult], None] | None = None,
) -> threading.Thread | None:
    """Start pinging the configured hub in a thread and return at once (None: no hub set).

    The thread is not a daemon, so a command that returns first still lets the ping finish
    (bounded by :func:`ping_hub`'s deadline) before the process exits.
    """
    hub = settings.websub_hub
    if not hub:
        return None
    urls = changed_feed_urls(settings, topics)

    def run() -> None:
        result = ping_hub(hub, urls)
        if on_done is not None:
            on_done(result)

    thread = threading.Thread(target=run, name="websub-ping", daemon=False)
    thread.start()
    return thread


def notify_hub_of_changes(
    engine: Engine,
    settings: Settings,
    topics: Iterable[str] | None = None,
    on_done: Callable[[PingResult], None] | None = None,
) -> threading.Thread | None:
    """After articles changed: ping the hub about the site's feeds and ``topics``' feeds.

    ``topics=None`` (an import, whose articles may be filed anywhere) means every topic.
    Returns at once; None when no hub is configured.
    """
    if not settings.websub_hub:
        return None
    if topics is None:
        with Session(engine) as session:
            topics = [topic.slug for topic, _ in list_topics(session)]
    return ping_in_background(settings, topics, on_done=on_done)
