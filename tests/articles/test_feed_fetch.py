"""Feed URL imports cannot reach inside the network, over real sockets: loopback (also by a
name that resolves to it), a redirect to another internal server or to the cloud metadata
address, endless redirects, and a server trickling a byte at a time are all refused in words,
within the deadline; the setting for intranet feeds lets them through."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from publisher.articles.formats import FeedFetchError, FetchPolicy, fetch_feed
from publisher.cli import app

RSS = (Path(__file__).parent / "data" / "rss2.xml").read_bytes()


class Site(ThreadingHTTPServer):
    daemon_threads = True
    paths: list[str]
    closing: threading.Event

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


class SiteHandler(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        parts = urlsplit(self.path)
        if parts.path == "/rss.xml":
            self._answer(200, RSS)
        elif parts.path == "/to":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["url"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts.path == "/loop":
            self.send_response(301)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts.path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while not self.server.closing.wait(0.1):  # a byte every 0.1 s, for ever
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
        else:
            self._answer(404, b"ni najdeno")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def start_site() -> tuple[Site, threading.Thread]:
    site = Site(("127.0.0.1", 0), SiteHandler)
    site.paths = []
    site.closing = threading.Event()
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    return site, thread


@pytest.fixture
def site() -> Iterator[Site]:
    yield from _running()


@pytest.fixture
def inner() -> Iterator[Site]:
    """A second internal server, which nothing may reach by a redirect."""
    yield from _running()


def _running() -> Iterator[Site]:
    site, thread = start_site()
    try:
        yield site
    finally:
        site.closing.set()
        site.shutdown()
        site.server_close()
        thread.join()


def only(site: Site) -> FetchPolicy:
    """This one server allowed (as an intranet feed would be), nothing else internal."""
    return FetchPolicy(allowed_hosts=frozenset({f"127.0.0.1:{site.port}"}))


def test_a_feed_on_loopback_is_refused_by_default_and_fetched_when_allowed(site: Site) -> None:
    with pytest.raises(FeedFetchError, match=r"refused: 127\.0\.0\.1 is a loopback address"):
        fetch_feed(site.url("/rss.xml"))
    assert site.paths == []  # refused before connecting
    assert fetch_feed(site.url("/rss.xml"), FetchPolicy(allow_private_networks=True)) == RSS


def test_a_name_that_resolves_to_loopback_is_refused(site: Site) -> None:
    with pytest.raises(FeedFetchError, match="refused: localhost is a loopback address"):
        fetch_feed(site.url("/rss.xml", host="localhost"))
    assert site.paths == []


def test_a_redirect_from_an_allowed_server_to_another_internal_one_is_refused(
    site: Site, inner: Site
) -> None:
    assert fetch_feed(site.url(f"/to?url={site.url('/rss.xml')}"), only(site)) == RSS
    with pytest.raises(FeedFetchError, match="loopback address"):
        fetch_feed(site.url(f"/to?url={inner.url('/rss.xml')}"), only(site))
    assert inner.paths == []


def test_a_redirect_to_the_cloud_metadata_address_is_refused(site: Site) -> None:
    metadata = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(FeedFetchError, match=r"169\.254\.169\.254 is a link-local address"):
        fetch_feed(site.url(f"/to?url={metadata}"), only(site))


def test_a_redirect_to_another_scheme_is_refused(site: Site) -> None:
    with pytest.raises(FeedFetchError, match="only http and https"):
        fetch_feed(site.url("/to?url=file:///etc/passwd"), only(site))


def test_endless_redirects_stop_after_the_limit(site: Site) -> None:
    with pytest.raises(FeedFetchError, match="more than 5 redirects"):
        fetch_feed(site.url("/loop"), only(site))
    assert len(site.paths) == 6


def test_a_trickling_server_is_cut_off_at_the_deadline(site: Site) -> None:
    started = time.monotonic()
    with pytest.raises(FeedFetchError, match="did not arrive within 1 seconds"):
        fetch_feed(site.url("/trickle"), FetchPolicy(allow_private_networks=True, deadline=1.0))
    assert time.monotonic() - started < 3.0


def test_the_cli_refuses_an_internal_feed_url_unless_the_setting_allows_it(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    refused = runner.invoke(app, ["articles", "import", site.url("/rss.xml")])
    assert refused.exit_code == 1
    assert (
        "loopback address" in refused.stdout and "import_allow_private_networks" in refused.stdout
    )
    assert site.paths == []

    monkeypatch.setenv("PUBLISHER_IMPORT_ALLOW_PRIVATE_NETWORKS", "true")
    allowed = runner.invoke(app, ["articles", "import", site.url("/rss.xml")])
    assert "1 imported" in allowed.stdout  # (its second entry has no date: rejected, exit 1)
    assert site.paths == ["/rss.xml"]
