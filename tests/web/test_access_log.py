"""``publisher serve``'s access log never holds a resident's personal link: the token in a
confirm, unsubscribe or preferences path is a key to that person's data and its erasure."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import Engine

from publisher.links import SubscriberLinks
from publisher.web.server import redact_path
from tests.conftest import TEST_SECRET
from tests.feeds.helpers import make_settings
from tests.web.serve_support import publisher_serve


def test_the_access_log_redacts_personal_link_tokens(engine: Engine, database_url: str) -> None:
    links = SubscriberLinks(make_settings(database_url, secret_key=TEST_SECRET))
    token_urls = [
        links.preferences("a-random-uid-7"),
        links.unsubscribe("a-random-uid-7", 1),
        links.confirm("a-random-uid-7", 1),
    ]
    tokens = [url.rsplit("/", 1)[1] for url in token_urls]
    paths = [
        f"/preferences/{tokens[0]}",
        f"/preferences/{tokens[0]}/data",
        f"/unsubscribe/{tokens[1]}?lang=en",
        f"/confirm/{tokens[2]}",
    ]
    with publisher_serve(database_url) as served:
        for path in paths:
            httpx.get(f"{served.url}{path}")
        httpx.get(f"{served.url}/feeds/rss.xml")
        log = served.output()
    assert "/feeds/rss.xml" in log  # the access log is on, and kept whole elsewhere
    for token in tokens:
        assert token not in log
    for shown in ("/preferences/…", "/preferences/…/data", "/unsubscribe/…?lang=en", "/confirm/…"):
        assert shown in log, log


def test_only_token_segments_are_redacted() -> None:
    assert redact_path("/preferences/abc.def/erase?x=1") == "/preferences/…/erase?x=1"
    assert redact_path("/unsubscribe") == "/unsubscribe"
    assert redact_path("/subscribe?lang=en") == "/subscribe?lang=en"
    assert redact_path("/archive/confirm/x") == "/archive/confirm/x"
