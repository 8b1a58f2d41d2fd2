"""``create_app(settings)``: the FastAPI app ``publisher serve`` runs and tests speak HTTP to.

The app owns this process's senders and outbox: its lifespan stops every sender cleanly on
shutdown (the batch in hand finishes, the rest goes back to the ledger) and, with
``jobs=True`` (``serve`` without ``--no-jobs``), runs the scheduled jobs while it is up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from publisher.config import Settings
from publisher.db import make_engine
from publisher.delivery.outbox import Outbox
from publisher.delivery.runner import Senders
from publisher.digests.schedule import ScheduledRun
from publisher.feeds.cache import FeedCache
from publisher.i18n import format_day, format_moment
from publisher.jobs import JobRunner
from publisher.resources import STATIC_DIR, WEB_TEMPLATES_DIR
from publisher.templating import template_environment
from publisher.web import (
    accessibility,
    admin,
    archive,
    feeds,
    health,
    media,
    metrics,
    public,
    webhooks,
)
from publisher.web.admin.articles import photo_body_rule
from publisher.web.admin.auth import StaffGate, is_admin_path
from publisher.web.admin.editor import editor_body_rule
from publisher.web.admin.subscribers import IMPORT_BODY_RULE
from publisher.web.api import BODY_RULE as API_BODY_RULE
from publisher.web.api import create_api
from publisher.web.body import BodyLimit
from publisher.web.clients import ClientAddressMiddleware
from publisher.web.gate import AuthoriseBeforeBody
from publisher.web.residents import install as install_residents_pages
from publisher.web.security import SecurityHeadersMiddleware


def make_templates(settings: Settings) -> Jinja2Templates:
    """Jinja2 with autoescaping, the site language's catalog (``_``), and the site's date
    formats as the ``day`` ("7. marec 2025") and ``moment`` ("7. 3. 2025 ob 14.20") filters."""
    templates = Jinja2Templates(
        env=template_environment(WEB_TEMPLATES_DIR, settings.language, strict=False)
    )

    def day(moment: datetime) -> str:
        return format_day(moment, settings.language, settings.tz)

    def moment(value: datetime) -> str:
        return format_moment(value, settings.language, settings.tz)

    templates.env.filters["day"] = day
    templates.env.filters["moment"] = moment
    return templates


def no_nul_in_path(request: Request) -> None:
    """404 for a NUL in a page's path: no slug or period has one, and PostgreSQL cannot compare
    one (the API answers 422 for the same, in its own JSON)."""
    if "\x00" in request.url.path:
        raise HTTPException(404)


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    jobs: bool = False,
    on_run: Callable[[ScheduledRun], None] | None = None,
    on_lead: Callable[[bool], None] | None = None,
) -> FastAPI:
    """The public web app: pages, feeds and static files, with security headers throughout."""
    engine = engine or make_engine(settings.database_url)
    senders = Senders(engine, settings)
    outbox = Outbox(settings, pool_size=2, engine=engine)  # two cover a burst of confirmations

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = JobRunner(engine, settings, senders, on_run=on_run, on_lead=on_lead)
        if jobs:
            runner.start()
        try:
            yield
        finally:
            if jobs:
                await run_in_threadpool(runner.stop)
            await run_in_threadpool(senders.stop_all)
            await outbox.close()
            app.state.readiness.close()

    app = FastAPI(
        title=settings.site_name,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.senders = senders
    app.state.outbox = outbox
    app.state.templates = make_templates(settings)
    app.state.feed_cache = FeedCache(app.state.engine, settings)
    health.install(app, engine, settings)
    install_residents_pages(app, settings)
    admin.install(app)
    for pages in (feeds, public, archive, media, accessibility):
        app.include_router(pages.router, dependencies=[Depends(no_nul_in_path)])
    webhooks.install(app)
    app.mount("/api", create_api(settings, engine, senders), name="api")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The last added runs first: headers on every answer, then who the client is, then who
    # may post (admin forms from our pages with a session; each route's own role), then
    # the size.
    app.add_middleware(
        BodyLimit,
        rules=[
            IMPORT_BODY_RULE,
            editor_body_rule(settings.photo_max_bytes),
            API_BODY_RULE,
            webhooks.BODY_RULE,
            photo_body_rule(settings),
        ],
    )
    app.add_middleware(AuthoriseBeforeBody)
    app.add_middleware(StaffGate)
    app.add_middleware(ClientAddressMiddleware, trusted_proxies=settings.trusted_proxies)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.base_url.startswith("https://"))
    metrics.install(app, engine, settings)  # outermost: counts every answer, refusals too

    @app.exception_handler(HTTPException)
    async def plain_errors(request: Request, exc: HTTPException) -> Response:
        # A reader's unknown address: the site's 404 page; a program's (feeds, files,
        # probes): a short message, never FastAPI's JSON. The API answers its own in JSON.
        if exc.status_code == 404 and public.is_page_path(request.url.path):
            return await run_in_threadpool(public.not_found_page, request)
        if exc.status_code == 404 and is_admin_path(request.url.path):
            page = await run_in_threadpool(admin.not_found_page, request)
            if page is not None:  # signed-in staff; a stranger's 404 stays plain
                return page
        messages = {404: "Te strani ni.", 405: "Ta metoda tu ni dovoljena."}
        text = messages.get(exc.status_code, str(exc.detail))
        return PlainTextResponse(text + "\n", status_code=exc.status_code, headers=exc.headers)

    return app
