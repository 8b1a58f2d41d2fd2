"""``/media/{name}``: the stored photos, for everyone, cached for a year.

A name is a photo's hash and a width (``photos.rendition_name``), so what it names never
changes: browsers and proxies keep it for good (``immutable``) and ask again only with
``If-None-Match``. Anything that is not such a name is not looked up.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from publisher.media.store import StoredFile, media_store
from publisher.web.feeds import not_modified

router = APIRouter()
NAME = re.compile(r"[0-9a-f]{64}-[0-9]{1,4}\.jpg")
CACHE_FOREVER = "public, max-age=31536000, immutable"


@router.api_route("/media/{name}", methods=["GET", "HEAD"])
async def media_file(request: Request, name: str) -> Response:
    if NAME.fullmatch(name) is None:
        return _not_found()
    stored = await run_in_threadpool(_read, request, name)
    if stored is None:
        return _not_found()
    headers = {"ETag": f'"{name.removesuffix(".jpg")}"', "Cache-Control": CACHE_FOREVER}
    if not_modified(request.headers, headers["ETag"], None):
        return Response(status_code=304, headers=headers)
    return Response(content=stored.data, media_type=stored.content_type, headers=headers)


def _read(request: Request, name: str) -> StoredFile | None:
    with Session(request.app.state.engine) as session:
        return media_store(request.app.state.settings, session).get(name)


def _not_found() -> Response:
    return PlainTextResponse("Te datoteke ni.\n", status_code=404)
