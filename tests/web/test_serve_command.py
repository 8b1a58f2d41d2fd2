"""``publisher serve`` starts the real app under uvicorn and serves pages and feeds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
from sqlalchemy.engine import Engine

from tests.feeds.helpers import draft, save


def test_publisher_serve_serves_the_site_and_its_feeds(engine: Engine, database_url: str) -> None:
    save(engine, draft(1, title="Prva novica"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PUBLISHER_")}
    env |= {
        "PUBLISHER_DATABASE_URL": database_url,
        "PUBLISHER_BASE_URL": f"http://127.0.0.1:{port}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "publisher", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        give_up = time.monotonic() + 20
        while True:
            try:
                feed = httpx.get(f"http://127.0.0.1:{port}/feeds/rss.xml")
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < give_up, "publisher serve did not start in 20 s"
                time.sleep(0.1)
        assert feed.status_code == 200 and b"Prva novica" in feed.content
        assert "Prva novica" in httpx.get(f"http://127.0.0.1:{port}/").text
    finally:
        server.terminate()
        server.wait(timeout=10)
