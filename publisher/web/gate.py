"""Who may send a body to a route is decided before a byte of it is read.

FastAPI reads a route's body (its form, its upload, its JSON) before it runs any of the
route's dependencies, so a role checked only as a dependency is checked after an editor's
50 MiB upload, or a stranger's JSON, has been taken in. Every check that needs nothing but
the request's headers (a staff session's role, an API token and its role) is therefore
marked with :func:`before_body`, and :class:`AuthoriseBeforeBody` finds the route a request is
for and runs the route's marked checks first, answering their refusal without reading the
body. The same checks still run as the route's dependencies: each route states its role in
one place, and this middleware only runs it earlier.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from fastapi import params
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MARK = "publisher_before_body"

Check = TypeVar("Check", bound=Callable[..., Any])


def before_body(check: Check, run: Callable[[Request], object] | None = None) -> Check:
    """Mark a dependency as an authorisation decided from the headers alone: the gate calls
    ``run(request)`` (the dependency itself when it takes only the request) before the body
    is read; it raises ``HTTPException`` to refuse."""
    setattr(check, MARK, run or check)
    return check


def _marked(dependencies: Iterable[params.Depends]) -> list[Callable[[Request], object]]:
    """The marked checks among ``dependencies`` and what they depend on, in running order."""
    found: list[Callable[[Request], object]] = []
    for dependency in dependencies:
        if dependency.dependency is not None:
            found.extend(header_checks(get_dependant(path="", call=dependency.dependency)))
    return found


def header_checks(dependant: Dependant) -> Iterator[Callable[[Request], object]]:
    """The marked checks of a dependant: its dependencies' (and theirs), then its own."""
    for dependency in dependant.dependencies:
        yield from header_checks(dependency)
    run = getattr(dependant.call, MARK, None)
    if run is not None:
        yield run


@dataclass(frozen=True)
class GatedRoute:
    """One route as the gate sees it: its full path, methods, and its marked checks."""

    pattern: re.Pattern[str]
    methods: frozenset[str]
    checks: tuple[Callable[[Request], object], ...]
    app: Any
    """The application that answers for the route (its exception handlers render refusals)."""


def gated_routes(
    app: Any, routes: Iterable[BaseRoute], prefix: str = "", inherited: Sequence[Any] = ()
) -> Iterator[GatedRoute]:
    """Every API route under ``routes`` with the checks of the routers it is included through
    (an included router keeps its own list, and the ``include_router`` call's) and its own."""
    for route in routes:
        if isinstance(route, APIRoute):
            checks = [*inherited, *header_checks(route.dependant)]
            pattern, _, _ = compile_path(prefix + route.path)
            unique = tuple(dict.fromkeys(checks))
            yield GatedRoute(pattern, frozenset(route.methods or ()), unique, app)
        elif (router := getattr(route, "original_router", None)) is not None:
            context = getattr(route, "include_context", None)
            depends = [*getattr(context, "dependencies", ()), *router.dependencies]
            yield from gated_routes(
                app,
                router.routes,
                prefix + getattr(context, "prefix", ""),
                [*inherited, *_marked(depends)],
            )
        elif isinstance(route, Mount):
            inner = route.app
            yield from gated_routes(inner, route.routes, prefix + route.path, inherited)


class AuthoriseBeforeBody:
    """ASGI middleware: a route's marked authorisation checks, before its body is read; a
    refusal is answered by the route's own application's handler (the admin's page, the
    API's JSON), exactly as if the route had refused it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: list[GatedRoute] | None = None

    def route_for(self, scope: Scope) -> GatedRoute | None:
        if self._routes is None:  # the app's routes, as they are once it serves
            outer = scope["app"]
            self._routes = list(gated_routes(outer, outer.router.routes))
        path, method = scope["path"], scope["method"]
        return next(
            (r for r in self._routes if method in r.methods and r.pattern.match(path)), None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        route = self.route_for(scope)
        if route is not None and route.checks:
            scope.setdefault("state", {})  # shared with the route: what a check learns, it keeps
            request = Request({**scope, "app": route.app})
            try:
                for check in route.checks:
                    await run_in_threadpool(check, request)
            except HTTPException as refused:
                response = await _answer(route.app, request, refused)
                await response(scope, _no_body, send)
                return
        await self.app(scope, receive, send)


async def _answer(app: Any, request: Request, refused: HTTPException) -> Response:
    """What ``app``'s exception handler for ``refused`` answers."""
    handlers = getattr(app, "exception_handlers", {})
    for kind in type(refused).__mro__:
        handler = handlers.get(kind)
        if handler is not None:
            if inspect.iscoroutinefunction(handler):
                answer = await handler(request, refused)
            else:
                answer = await run_in_threadpool(handler, request, refused)
            return cast(Response, answer)
    return PlainTextResponse(  # pragma: no cover - every app here has an HTTPException handler
        f"{refused.detail}\n", status_code=refused.status_code, headers=refused.headers
    )


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
