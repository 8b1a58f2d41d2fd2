"""``publisher serve`` starts the real app under uvicorn and serves pages and feeds."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import Engine

from tests.feeds.helpers import draft, save
from tests.web.serve_support import publisher_serve


def test_publisher_serve_serves_the_site_and_its_feeds(engine: Engine, database_url: str) -> None:
    save(engine, draft(1, title="Prva novica"))
    with publisher_serve(database_url) as served:
        feed = httpx.get(f"{served.url}/feeds/rss.xml")
        assert feed.status_code == 200 and b"Prva novica" in feed.content
        assert "Prva novica" in httpx.get(f"{served.url}/").text
