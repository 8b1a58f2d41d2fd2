"""Security headers over real HTTP: a Permissions-Policy everywhere, HSTS only on an https site
(a browser that saw it would refuse http://localhost for a year)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from publisher.web.app import create_app
from tests.feeds.helpers import make_settings
from tests.web.conftest import LiveSite, serve

PATHS = ["/", "/feeds/rss.xml", "/subscribe", "/admin/login", "/no-such-page"]


def test_every_response_denies_devices_and_tracking_apis(live_site: LiveSite) -> None:
    for path in PATHS:
        policy = httpx.get(f"{live_site.url}{path}").headers["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()", "interest-cohort=()"):
            assert feature in policy, (path, policy)


def test_an_http_site_sends_no_hsts(live_site: LiveSite) -> None:
    assert live_site.settings.base_url.startswith("http://")
    assert "Strict-Transport-Security" not in httpx.get(f"{live_site.url}/").headers


def test_an_https_site_sends_hsts_on_every_response(engine: Engine, database_url: str) -> None:
    def make_app(url: str) -> FastAPI:
        return create_app(make_settings(database_url, base_url="https://novice.test"), engine)

    with serve(make_app) as (url, _app):
        for path in PATHS:
            hsts = httpx.get(f"{url}{path}").headers.get("Strict-Transport-Security", "")
            assert hsts.startswith("max-age=31536000"), path
            assert int(hsts.split(";")[0].split("=")[1]) >= 180 * 86400
