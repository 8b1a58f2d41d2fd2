"""Feed endpoints: cached documents with strong validators, answered with 304 when unchanged.

A conditional request costs at most one look at the store's last change: the ETag is
computed from it without building (see :mod:`publisher.feeds.cache`), so aggregators
polling every few minutes cost almost nothing.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from publisher.feeds.cache import FeedCache
from publisher.feeds.models import FeedFormat, FeedKey
from publisher.links import home_url

router = APIRouter()
FORMATS = {fmt.value: fmt for fmt in FeedFormat}


@router.api_route("/feeds/{name}", methods=["GET", "HEAD"])
async def site_feed(request: Request, name: str) -> Response:
    return await _serve(request, name, topic=None, page=None)


@router.api_route("/feeds/archive/{page}/{name}", methods=["GET", "HEAD"])
async def site_archive(request: Request, page: str, name: str) -> Response:
    return await _serve(request, name, topic=None, page=page)


@router.api_route("/feeds/topics/{topic}/{name}", methods=["GET", "HEAD"])
async def topic_feed(request: Request, topic: str, name: str) -> Response:
    return await _serve(request, name, topic=topic, page=None)


@router.api_route("/feeds/topics/{topic}/archive/{page}/{name}", methods=["GET", "HEAD"])
async def topic_archive(request: Request, topic: str, page: str, name: str) -> Response:
    return await _serve(request, name, topic=topic, page=page)


def _not_found(message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=404)


async def _serve(request: Request, name: str, *, topic: str | None, page: str | None) -> Response:
    fmt = FORMATS.get(name)
    if fmt is None:
        return _not_found(f"Ni vira »{name}«: na voljo so rss.xml, atom.xml in feed.json.")
    if page is not None and not (page.isdigit() and int(page) >= 1):
        return _not_found(f"Ni strani arhiva »{page}«.")
    key = FeedKey(format=fmt, topic=topic, page=int(page) if page is not None else None)
    cache: FeedCache = request.app.state.feed_cache
    # Under load the store is looked at once a second at most; in between, a conditional
    # request is answered without leaving the event loop.
    change = cache.recent_change() or await run_in_threadpool(cache.store_change)
    if topic is not None and topic not in dict(change.topics):
        return _not_found(f"Teme »{topic}« ni. Teme so naštete na {home_url(cache.settings)}")
    etag = f'"{cache.fingerprint(key, change)}"'
    last_modified = cache.last_modified(change)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(last_modified.replace(microsecond=0), usegmt=True),
        "Cache-Control": f"public, max-age={cache.settings.feed_ttl * 60}",
        "Access-Control-Allow-Origin": "*",  # web-based feed readers fetch from the browser
    }
    if not_modified(request.headers, etag, last_modified):
        return Response(status_code=304, headers=headers)
    built = cache.cached(key, change) or await run_in_threadpool(cache.get, key, change)
    if built is None:
        return _not_found(f"Strani arhiva {page} ni.")
    return Response(
        content=built.body, media_type=f"{fmt.media_type}; charset=utf-8", headers=headers
    )


def not_modified(headers: Headers, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110 §13.1: If-None-Match (weak comparison) wins; If-Modified-Since otherwise
    (when the answer has a ``last_modified``)."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since and last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False  # an unreadable date is ignored, as the RFC says
        if since.tzinfo is None:
            return False
        return last_modified.replace(microsecond=0) <= since
    return False
