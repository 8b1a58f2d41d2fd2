"""Feed endpoints over real HTTP: media types, validators, 304 without rebuilding, HEAD, 404."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy.engine import Engine

from publisher.feeds.cache import FeedCache
from publisher.feeds.models import FeedFormat
from tests.feeds.helpers import add_articles, draft, save
from tests.feeds.validation import check_feed
from tests.web.conftest import LiveSite

PATHS = [
    "/feeds/rss.xml",
    "/feeds/atom.xml",
    "/feeds/feed.json",
    "/feeds/topics/promet/rss.xml",
    "/feeds/topics/promet/atom.xml",
    "/feeds/topics/promet/feed.json",
    "/feeds/archive/1/atom.xml",
    "/feeds/topics/promet/archive/1/feed.json",
]


@pytest.fixture
def site(live_site: LiveSite, engine: Engine) -> LiveSite:
    add_articles(engine, *(draft(n, topics=("promet",)) for n in range(1, 13)))
    return live_site


def cache_of(site: LiveSite) -> FeedCache:
    cache = site.app.state.feed_cache
    assert isinstance(cache, FeedCache)
    return cache


@pytest.mark.parametrize("path", PATHS)
def test_every_feed_is_served_valid_with_its_media_type_and_validators(
    site: LiveSite, path: str
) -> None:
    response = httpx.get(site.url + path)
    assert response.status_code == 200
    fmt = FeedFormat(path.rsplit("/", 1)[1])
    assert response.headers["content-type"] == f"{fmt.media_type}; charset=utf-8"
    etag = response.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert response.headers["last-modified"].endswith(" GMT")
    assert response.headers["cache-control"] == "public, max-age=900"
    check_feed(fmt, response.content)


def test_conditional_get_is_304_until_a_new_article_then_200(
    site: LiveSite, engine: Engine
) -> None:
    url = site.url + "/feeds/atom.xml"
    with httpx.Client() as client:
        first = client.get(url)
        assert first.status_code == 200
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        builds = cache_of(site).builds

        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        by_date = client.get(url, headers={"If-Modified-Since": modified})
        assert by_date.status_code == 304
        assert cache_of(site).builds == builds  # answered without building

        save(engine, draft(99, title="Nova novica po prvem branju"))
        # The server looks at the store at most once a second: poll, with a bound.
        give_up = time.monotonic() + 5
        while True:
            fresh = client.get(url, headers={"If-None-Match": etag, "If-Modified-Since": modified})
            if fresh.status_code != 304 or time.monotonic() > give_up:
                break
            time.sleep(0.05)
        assert fresh.status_code == 200
        assert fresh.headers["etag"] != etag
        assert "Nova novica po prvem branju" in fresh.text
        assert client.get(url, headers={"If-None-Match": fresh.headers["etag"]}).status_code == 304


def test_a_restarted_server_answers_an_old_etag_with_304_without_building(
    site: LiveSite,
) -> None:
    url = site.url + "/feeds/rss.xml"
    etag = httpx.get(url).headers["etag"]
    cache = cache_of(site)
    cache._built.clear()  # as after a restart: nothing built yet
    builds = cache.builds
    assert httpx.get(url, headers={"If-None-Match": f'W/{etag}, "x"'}).status_code == 304
    assert cache.builds == builds


def test_head_gives_the_headers_without_a_body(site: LiveSite) -> None:
    url = site.url + "/feeds/rss.xml"
    get = httpx.get(url)
    head = httpx.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == str(len(get.content))
    assert httpx.head(site.url + "/").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/topics/ni-take-teme/rss.xml",
        "/feeds/topics/ni-take-teme/archive/1/atom.xml",
        "/feeds/archive/99/atom.xml",
        "/feeds/archive/0/atom.xml",
        "/feeds/archive/prva/atom.xml",
        "/feeds/rss2.xml",
    ],
)
def test_what_does_not_exist_is_a_short_404(site: LiveSite, path: str) -> None:
    response = httpx.get(site.url + path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    assert len(response.text) < 200


def test_security_headers_are_on_feeds_and_pages(site: LiveSite) -> None:
    for path in ("/", "/feeds/atom.xml", "/static/site.css"):
        headers = httpx.get(site.url + path).headers
        csp = headers["content-security-policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
