"""``POST /webhooks/bounces/{provider}``: bounces and complaints from sending providers.

Thin: :mod:`publisher.delivery.bounces.providers` authenticates each provider its own way and
hands the events to the one bounce handler. A provider whose secret is not configured is
404; the checks the headers allow (Postmark's Basic auth, SES's topic, SendGrid's signature
and its age) run as a dependency, before the route reads a byte of the body (it takes no
body parameter, so FastAPI reads none before it); the body is then read within
:data:`BODY_RULE`'s limit and checked as a whole (signatures). Every refusal is 401 and
changes nothing; a body the provider would never send is 400; nothing is ever a 500.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from publisher.delivery.bounces.providers import (
    WebhookInvalid,
    WebhookRefused,
    WebhookUnavailable,
    check_headers,
    enabled,
    process_webhook,
)
from publisher.delivery.bounces.sns import Certificates
from publisher.web.body import BodyRule
from publisher.web.clients import client_address

BODY_RULE = BodyRule(r"/webhooks/bounces/[^/]+", 1024 * 1024)
"""SendGrid batches events up to about 768 KiB; every other provider posts far less."""
REFUSED = "Ni overjeno (not authenticated)."

log = logging.getLogger(__name__)
router = APIRouter()


def install(app: FastAPI) -> None:
    app.state.sns_certificates = Certificates(app.state.settings)
    app.include_router(router)


def _refuse(request: Request, provider: str, reason: str) -> HTTPException:
    log.info(
        "bounce webhook refused: provider=%s client=%s reason=%s",
        provider,
        client_address(request) or "unknown",
        reason,
    )
    headers = {"WWW-Authenticate": 'Basic realm="bounces"'} if provider == "postmark" else None
    return HTTPException(401, detail=REFUSED, headers=headers)


def provider_gate(request: Request, provider: str) -> str:
    """404 for a provider that is off; 401 for what the headers already refuse."""
    settings = request.app.state.settings
    if not enabled(settings, provider):
        raise HTTPException(404)
    try:
        check_headers(settings, provider, request.headers)
    except WebhookRefused as exc:
        raise _refuse(request, provider, str(exc)) from None
    return provider


@router.post("/webhooks/bounces/{provider}")
async def bounce_webhook(
    request: Request, provider: Annotated[str, Depends(provider_gate)]
) -> Response:
    body = await request.body()
    app = request.app
    try:
        result = await run_in_threadpool(
            process_webhook,
            app.state.engine,
            app.state.settings,
            provider,
            request.headers,
            body,
            certificates=app.state.sns_certificates,
        )
    except WebhookRefused as exc:
        raise _refuse(request, provider, str(exc)) from None
    except WebhookInvalid as exc:
        raise HTTPException(400, detail=f"Napačna vsebina ({exc}).") from None
    except WebhookUnavailable as exc:
        log.warning("bounce webhook %s: %s", provider, exc)
        raise HTTPException(503, detail="Poskusite znova pozneje.") from None
    counts: dict[str, int] = {}
    for handled in result.handled:
        counts[handled.disposition.value] = counts.get(handled.disposition.value, 0) + 1
    return JSONResponse({"confirmed": result.confirmed, "events": counts})
