"""The real app over real HTTP: uvicorn in a thread on 127.0.0.1 and a free port."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from publisher.config import Settings
from publisher.web.app import create_app
from publisher.web.server import server_config
from tests.feeds.helpers import make_settings
from tests.web.browser_support import CHROMIUM


@dataclass
class LiveSite:
    url: str
    app: FastAPI
    settings: Settings


@contextmanager
def serve(make_app: Callable[[str], FastAPI], **options: Any) -> Iterator[tuple[str, FastAPI]]:
    """Bind first, so the app's ``base_url`` can be the address it is really served at.
    ``options`` go to uvicorn (``ssl_certfile`` and ``ssl_keyfile`` serve https)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    scheme = "https" if "ssl_certfile" in options else "http"
    url = f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    app = make_app(url)
    config = server_config(app, "127.0.0.1", 0, log_level="warning", lifespan="off", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    give_up = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < give_up, "uvicorn did not start within 10 s"
        time.sleep(0.01)
    try:
        yield url, app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def live_site(engine: Engine, database_url: str) -> Iterator[LiveSite]:
    settings_box: list[Settings] = []

    def make_app(url: str) -> FastAPI:
        settings = make_settings(database_url, base_url=url, feed_entries=5)
        settings_box.append(settings)
        return create_app(settings, engine)

    with serve(make_app) as (url, app):
        yield LiveSite(url=url, app=app, settings=settings_box[0])


@pytest.fixture
def chromium() -> Iterator[tuple[Any, Any]]:
    """(playwright, browser): Debian's Chromium, headless; skipped if Playwright is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--headless", "--disable-gpu"],
            # Slovenian, as the office's staff and residents have it: date and time fields read
            # "03. 12. 2026" and "17:51", the file chooser (with Debian's chromium-l10n) too.
            env={**os.environ, "LANG": "sl_SI.UTF-8", "LANGUAGE": "sl", "LC_ALL": "sl_SI.UTF-8"},
        )
        try:
            yield playwright, browser
        finally:
            browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: SCREENSHOT_DIR=docs/screenshots refreshes the published ones."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
