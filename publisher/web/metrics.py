"""Prometheus metrics: ``/metrics`` on the web app, and the same on ``publisher worker``'s port.

Off unless ``metrics_enabled``; then only the addresses in ``metrics_allow`` (the client as
:mod:`publisher.web.clients` decides it, so behind a proxy in ``trusted_proxies`` the one it
names) may read them, and everyone else gets the site's ordinary 404, as for a page that
does not exist. The delivery figures come from the database at each scrape
(:mod:`publisher.delivery.metrics`, through :class:`DeliveryCollector`), so every process
agrees; the web requests are counted by this process (:class:`RequestCounter`), by route
template (``/articles/{slug}``, never the path itself), method and status.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher.config import Settings
from publisher.delivery.metrics import DeliveryFigures, figures
from publisher.web.clients import Network, client_address, in_networks, trusted_networks

log = logging.getLogger(__name__)

PATH = "/metrics"
NO_STORE = {"Cache-Control": "no-store"}
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
"""The route of a request no route took (an unknown path, a refusal before routing)."""

router = APIRouter()


class DeliveryCollector(Collector):
    """The ledger's figures as Prometheus gauges, read when scraped."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def describe(self) -> list[Metric]:
        return []  # no query when registered; the names are fixed anyway

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "publisher_ledger_up", "1 when the delivery figures could be read from the database"
        )
        try:
            with Session(self.engine) as session:
                now = figures(session)
        except Exception as exc:  # the database is down: say so, not a 500 to the scraper
            log.warning("metrics: the ledger could not be read: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from delivery_metrics(now)


def delivery_metrics(now: DeliveryFigures) -> Iterator[Metric]:
    """:class:`DeliveryFigures` as metric families."""
    yield _by_list(
        "publisher_copies",
        "Digest copies in the ledger by list and status (queued, sending, sent, deferred, "
        "failed, cancelled)",
        "status",
        now.copies,
    )
    yield _by_list(
        "publisher_bounces",
        "Copies that drew a bounce or a complaint, by list and kind (hard, soft, delayed, "
        "complaint, other)",
        "kind",
        now.bounces,
    )
    yield GaugeMetricFamily(
        "publisher_queue_depth",
        "Copies waiting in the queue of active and paused editions",
        value=now.queued,
    )
    yield GaugeMetricFamily(
        "publisher_oldest_queued_seconds",
        "How long the oldest queued copy has waited (0 when none waits)",
        value=now.oldest_queued.total_seconds() if now.oldest_queued is not None else 0,
    )
    rate = GaugeMetricFamily(
        "publisher_send_rate_per_second",
        "Copies sent per second, averaged over the window (from the ledger's sent times)",
        labels=["window"],
    )
    for window, sent in now.sent_recently.items():
        minutes = int(window.total_seconds() // 60)
        rate.add_metric([f"{minutes}m"], sent / window.total_seconds())
    yield rate


def _by_list(
    name: str, documentation: str, label: str, counts: Mapping[tuple[str, str], int]
) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=["list", label])
    for (slug, value), n in sorted(counts.items()):
        family.add_metric([slug, value], n)
    return family


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/api/articles/{article_id}``), or
    :data:`UNMATCHED`: a bounded label, whatever paths clients make up."""
    route = scope.get("route")
    root = str(scope.get("root_path", ""))[len(str(scope.get("app_root_path", ""))) :]
    if isinstance(route, Mount) or (route is None and root):
        return root + "/{path}"  # a mounted app without routes (the static files)
    if route is None:
        return UNMATCHED
    return root + str(getattr(route, "path", ""))


class RequestCounter:
    """ASGI middleware: counts every answer by route template, method and status."""

    def __init__(self, app: ASGIApp, counter: Counter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.counter.labels(route_template(scope), method, str(status[0])).inc()


def allowed(address: str | None, allow: Iterable[Network]) -> bool:
    """Whether ``address`` may read the metrics."""
    return address is not None and in_networks(address, tuple(allow))


@router.get(PATH, include_in_schema=False)
def metrics(request: Request) -> Response:
    state: MetricsState = request.app.state.metrics
    if not allowed(client_address(request), state.allow):
        raise HTTPException(404)  # as for a page that is not there: nothing advertised
    return Response(
        generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST, headers=NO_STORE
    )


class MetricsState:
    """The app's registry (its own, so that apps in one process never share counts)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DeliveryCollector(engine))
        self.requests = Counter(
            "publisher_http_requests",
            "Web requests answered by this process, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.allow = trusted_networks(settings.metrics_allow)


def install(app: FastAPI, engine: Engine, settings: Settings) -> None:
    """``/metrics`` and the request counter, when ``metrics_enabled``; nothing otherwise."""
    if not settings.metrics_enabled:
        return
    state = app.state.metrics = MetricsState(engine, settings)
    app.include_router(router)
    app.add_middleware(RequestCounter, counter=state.requests)


# --- the worker's own port ----------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """No access line on stderr per scrape; a stalled client is let go after 10 s."""

    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server6(WSGIServer):
    address_family = socket.AF_INET6


def worker_app(
    registry: CollectorRegistry, allow: Iterable[Network]
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The WSGI app of the worker's port: the metrics at ``/metrics`` to ``allow``, else 404."""
    networks = tuple(allow)
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or not allowed(environ.get("REMOTE_ADDR"), networks):
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Not found.\n"]
        return metrics_app(environ, _no_store(start_response))

    return app


def _no_store(start_response: Callable[..., Any]) -> Callable[..., Any]:
    def start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
        return start_response(status, [*headers, *NO_STORE.items()], *rest)

    return start


def serve_worker_metrics(engine: Engine, settings: Settings) -> WSGIServer | None:
    """The delivery metrics on ``worker_metrics_host:worker_metrics_port`` in a thread of its
    own (``None`` when the port is 0); ``shutdown()`` stops it."""
    if not settings.worker_metrics_port:
        return None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeliveryCollector(engine))
    app = worker_app(registry, trusted_networks(settings.metrics_allow))
    host = settings.worker_metrics_host
    server = make_server(
        host,
        settings.worker_metrics_port,
        app,
        server_class=_Server6 if ":" in host else WSGIServer,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    return server
