"""WebSub: feeds name the hub, and changes ping it over real HTTP without holding anyone up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from publisher.articles.store import last_change
from publisher.cli import app
from publisher.feeds import websub
from publisher.feeds.documents import build_document, render
from publisher.feeds.models import FeedFormat, FeedKey
from publisher.feeds.websub import changed_feed_urls, ping_hub
from tests.feeds.helpers import add_articles, draft, make_settings
from tests.feeds.validation import check_json_feed, parse_xml_feed

runner = CliRunner()


@dataclass
class Hub:
    """A stand-in WebSub hub on 127.0.0.1: records publish pings, can fail the first ones."""

    url: str
    pings: list[dict[str, list[str]]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    """Statuses for the first requests, in order; 204 (accepted) after them."""
    received: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notified_urls(self) -> set[str]:
        with self.lock:
            return {url for ping in self.pings for url in ping.get("hub.url", [])}

    def wait_for(self, urls: set[str], timeout: float = 10.0) -> set[str]:
        """Poll (bounded) until every URL in ``urls`` was pinged; return what arrived."""
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            if urls <= self.notified_urls():
                break
            time.sleep(0.02)
        return self.notified_urls()


@pytest.fixture
def hub() -> Iterator[Hub]:
    state = Hub(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode("utf-8"))
            with state.lock:
                state.received += 1
                status = state.answers.pop(0) if state.answers else 204
                if status < 300:
                    state.pings.append(form)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hub"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def cli_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine, database_url: str
) -> Callable[[str], None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLISHER_BASE_URL", "https://novice.test")

    def use_hub(url: str) -> None:
        monkeypatch.setenv("PUBLISHER_WEBSUB_HUB", url)

    return use_hub


OFFICE_EXPORT = """Kolesarji na novi stezi

Nova kolesarska steza ob Krki

datum: 10. 3. 2025

Steza povezuje Ločno in center mesta.
"""


def test_feeds_declare_the_hub_when_one_is_set(engine: Engine, database_url: str) -> None:
    add_articles(engine, draft(1))
    settings = make_settings(database_url, websub_hub="https://hub.example.org/")
    with Session(engine) as session:
        change = last_change(session)
        docs = {fmt: build_document(session, settings, FeedKey(fmt), change) for fmt in FeedFormat}
    bodies = {fmt: render(doc) for fmt, doc in docs.items() if doc is not None}
    for fmt in (FeedFormat.rss, FeedFormat.atom):
        links = {link.rel: link.href for link in parse_xml_feed(bodies[fmt]).feed.links}
        assert links["hub"] == "https://hub.example.org/"
        assert links["self"] == f"https://novice.test/feeds/{fmt.value}"
    assert check_json_feed(bodies[FeedFormat.json])["hubs"] == [
        {"type": "WebSub", "url": "https://hub.example.org/"}
    ]
    without = make_settings(database_url)
    with Session(engine) as session:
        plain = build_document(session, without, FeedKey(FeedFormat.atom), last_change(session))
    assert plain is not None and b'rel="hub"' not in render(plain)


def test_an_import_pings_the_hub_for_the_site_and_topic_feeds(
    cli_env: Callable[[str], None], hub: Hub, tmp_path: Path
) -> None:
    cli_env(hub.url)
    (tmp_path / "steza.txt").write_text(OFFICE_EXPORT, encoding="utf-8")
    result = runner.invoke(app, ["articles", "import", "steza.txt", "--topic", "promet"])
    assert result.exit_code == 0, result.output
    expected = {
        f"https://novice.test/feeds/{path}"
        for path in ("rss.xml", "atom.xml", "feed.json", "topics/promet/rss.xml")
    }
    assert expected <= hub.wait_for(expected)
    assert all(ping["hub.mode"] == ["publish"] for ping in hub.pings)


def test_withdraw_and_publish_ping_the_hub(
    cli_env: Callable[[str], None], hub: Hub, engine: Engine
) -> None:
    add_articles(engine, draft(1, topics=("kultura",)))
    cli_env(hub.url)
    assert runner.invoke(app, ["articles", "withdraw", "novica-1"]).exit_code == 0
    topic_feed = "https://novice.test/feeds/topics/kultura/atom.xml"
    assert topic_feed in hub.wait_for({topic_feed})
    with hub.lock:
        hub.pings.clear()
    assert runner.invoke(app, ["articles", "publish", "novica-1"]).exit_code == 0
    assert topic_feed in hub.wait_for({topic_feed})


def test_a_failing_hub_is_asked_again(hub: Hub) -> None:
    hub.answers = [503, 502]
    urls = ["https://novice.test/feeds/rss.xml"]
    result = ping_hub(hub.url, urls, backoff=0.01)
    assert result.ok and result.notified == urls
    assert hub.received == 3


def test_a_hub_that_refuses_is_reported_not_retried(hub: Hub) -> None:
    hub.answers = [400]
    result = ping_hub(hub.url, ["https://novice.test/feeds/rss.xml"], backoff=0.01)
    assert not result.ok and hub.received == 1
    assert result.failed == {"https://novice.test/feeds/rss.xml": "HTTP 400"}


def test_an_unreachable_hub_costs_one_round_of_retries_not_one_per_feed() -> None:
    started = time.monotonic()
    result = ping_hub("http://127.0.0.1:9/hub", ["a", "b", "c"], attempts=3, backoff=0.01)
    assert not result.ok and set(result.failed) == {"a", "b", "c"}
    assert time.monotonic() - started < 3


def test_an_unreachable_hub_never_fails_or_holds_up_an_import(
    cli_env: Callable[[str], None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(websub, "BACKOFF", 0.05)
    cli_env("http://127.0.0.1:9/hub")  # the discard port: nothing listens
    (tmp_path / "steza.txt").write_text(OFFICE_EXPORT, encoding="utf-8")
    started = time.monotonic()
    result = runner.invoke(app, ["articles", "import", "steza.txt"])
    assert result.exit_code == 0, result.output
    assert "1 imported" in result.stdout
    assert time.monotonic() - started < 3
    for thread in threading.enumerate():  # let the ping give up before the next test
        if thread.name == "websub-ping":
            thread.join(timeout=15)


def test_changed_feed_urls_cover_every_format_of_each_scope(database_url: str) -> None:
    settings = make_settings(database_url)
    urls = changed_feed_urls(settings, ["promet", "promet", "sport"])
    assert len(urls) == 9 and len(set(urls)) == 9
    assert "https://novice.test/feeds/topics/sport/feed.json" in urls
