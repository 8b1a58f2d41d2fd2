"""RSS and Atom imports, entity attacks, and downloading feeds from a real local server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from publisher import __version__
from publisher.articles.drafts import TopicRef
from publisher.articles.formats import (
    FeedFetchError,
    FetchPolicy,
    fetch_feed,
    parse_path,
    parse_source,
)

TZ = ZoneInfo("Europe/Ljubljana")
DATA = Path(__file__).parent / "data"
RSS = (DATA / "rss2.xml").read_bytes()
LOOPBACK = FetchPolicy(allow_private_networks=True)
"""The test servers listen on 127.0.0.1, which a real import refuses (see test_feed_fetch)."""


def test_rss_entry_becomes_a_sanitised_article() -> None:
    parsed = parse_path(DATA / "rss2.xml", tz=TZ)

    assert parsed.format == "feed"
    draft = parsed.drafts[0]
    assert draft.title == "Pravljična ura & delavnica za otroke"
    assert draft.published_at == datetime(2025, 3, 5, 15, 0, tzinfo=UTC)
    assert draft.updated_at is None
    assert draft.external_id == "feed:knjiznica-2025-041"
    assert draft.url == "https://www.example.org/novice/pravljicna-ura"
    assert draft.image_url == "https://www.example.org/slike/pravljice.jpg"
    assert draft.topics == [TopicRef("kultura", "Kultura"), TopicRef("otroci", "Otroci")]
    assert draft.source == str(DATA / "rss2.xml")
    assert draft.line is None
    assert draft.body_text.startswith("V soboto vabimo otroke na pravljično uro.")
    for forbidden in ("<script", "evil.example", "style=", "class=", "onmouseover", "javascript"):
        assert forbidden not in draft.body_html
    assert 'href="/prijava"' in draft.body_html


def test_rss_entry_without_a_date_is_rejected_by_number_and_title() -> None:
    parsed = parse_path(DATA / "rss2.xml", tz=TZ)
    assert len(parsed.drafts) == 1
    [rejection] = parsed.rejections
    assert rejection.line is None
    assert rejection.reason.startswith("entry 2 ('Vpis v bralno značko')")


def test_atom_entry_uses_content_for_the_body_and_summary_for_the_summary() -> None:
    parsed = parse_path(DATA / "atom.xml", tz=TZ)

    [draft] = parsed.drafts
    assert draft.title == "Vodeni ogled starega mestnega jedra"
    assert draft.published_at == datetime(2025, 3, 12, 8, 0, tzinfo=UTC)
    assert draft.updated_at == datetime(2025, 3, 13, 10, 30, tzinfo=UTC)
    assert draft.body_html == (
        "<p>Vodeni ogled se začne ob 10. uri pred rotovžem.</p><p>Ogled traja dve uri.</p>"
    )
    assert draft.summary == "Brezplačen ogled mesta vsako soboto."
    assert draft.external_id == "feed:urn:uuid:tic-2025-ogled"
    assert draft.url == "https://tic.example.org/ogled"
    assert draft.topics == [TopicRef("turizem", "Turizem")]  # its category


def test_billion_laughs_feed_is_refused_without_expanding_it() -> None:
    parsed = parse_path(DATA / "billion-laughs.xml", tz=TZ)
    assert parsed.drafts == []
    [rejection] = parsed.rejections
    assert rejection.reason == "feed declares XML entities; refused for safety"


def test_feed_with_an_external_entity_is_refused() -> None:
    xxe = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/hostname">]>\n'
        b'<rss version="2.0"><channel><title>x</title><item><title>&secret;</title>'
        b"<pubDate>Wed, 05 Mar 2025 16:00:00 +0100</pubDate><description>a</description>"
        b"</item></channel></rss>"
    )
    parsed = parse_source(xxe, "xxe.xml", tz=TZ)
    assert parsed.drafts == []
    assert [r.reason for r in parsed.rejections] == [
        "feed declares XML entities; refused for safety"
    ]


def test_feed_with_html_entities_and_sloppy_markup_still_imports() -> None:
    sloppy = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
        b"<item><title>Koncert&nbsp;v parku</title><guid>k1</guid>"
        b"<pubDate>Sat, 15 Mar 2025 18:00:00 GMT</pubDate>"
        b"<description>Vstop prost &amp; <b>brez</b> vstopnic</description></item>"
        b"</channel></rss>"
    )
    [draft] = parse_source(sloppy, "sloppy.xml", tz=TZ).drafts
    assert draft.title == "Koncert\xa0v parku"
    assert draft.body_text == "Vstop prost & brez vstopnic"


def test_feed_in_an_encoding_it_declares_itself_is_read_in_that_encoding() -> None:
    title, text = "姉妹都市のニュース", "市民の皆様へのお知らせです。"
    cyrillic = (
        '<?xml version="1.0" encoding="shift_jis"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><guid>r1</guid>"
        "<pubDate>Sat, 15 Mar 2025 18:00:00 GMT</pubDate>"
        f"<description>{text}</description></item></channel></rss>"
    ).encode("shift_jis")
    parsed = parse_source(cyrillic, "partnersko-mesto.xml", tz=TZ)
    assert parsed.encoding == "shift_jis"
    [draft] = parsed.drafts
    assert (draft.title, draft.body_text) == (title, text)


class FeedServer(ThreadingHTTPServer):
    """A real HTTP server on a free port that serves a few fixed paths."""

    user_agents: list[str]


class FeedHandler(BaseHTTPRequestHandler):
    server: FeedServer

    def do_GET(self) -> None:
        self.server.user_agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/rss.xml":
            self._send(200, RSS)
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/rss.xml")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/big.xml":
            self._send(200, b"<rss>" + b" " * 5_000 + b"</rss>")
        else:
            self._send(404, b"ni najdeno")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer(("127.0.0.1", 0), FeedHandler)
    server.user_agents = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def url_of(server: FeedServer, path: str) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}{path}"


def test_fetched_feed_is_imported_with_the_url_as_its_source(feed_server: FeedServer) -> None:
    url = url_of(feed_server, "/moved")
    data = fetch_feed(url, LOOPBACK)
    parsed = parse_source(data, url, tz=TZ)

    assert data == RSS
    assert parsed.format == "feed"
    assert parsed.drafts[0].source == url
    assert parsed.drafts[0].title == "Pravljična ura & delavnica za otroke"
    assert feed_server.user_agents == [f"publisher/{__version__}"] * 2


def test_missing_feed_reports_the_http_status(feed_server: FeedServer) -> None:
    url = url_of(feed_server, "/ni-ga.xml")
    with pytest.raises(FeedFetchError) as caught:
        fetch_feed(url, LOOPBACK)
    assert "HTTP 404" in str(caught.value)
    assert url in str(caught.value)


def test_oversized_feed_is_refused(feed_server: FeedServer) -> None:
    with pytest.raises(FeedFetchError, match="larger than"):
        fetch_feed(
            url_of(feed_server, "/big.xml"),
            FetchPolicy(allow_private_networks=True, max_bytes=1_000),
        )


def test_silent_server_times_out_with_a_clear_error() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # accepts the connection in the kernel but never answers
        host, port = listener.getsockname()
        with pytest.raises(FeedFetchError, match=r"did not arrive within 0\.2 seconds"):
            fetch_feed(
                f"http://{host}:{port}/rss.xml",
                FetchPolicy(allow_private_networks=True, deadline=0.2),
            )


def test_unreachable_host_is_a_fetch_error_not_a_crash() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(FeedFetchError, match="could not be reached"):
        fetch_feed(f"http://127.0.0.1:{port}/rss.xml", LOOPBACK)
