"""Request body limits for the whole app: 413 while the body streams in, before it is parsed.

One ASGI middleware, :class:`BodyLimit`, with a limit per route (:class:`BodyRule`: a path
pattern and its largest body) and a small default for everything else, since every other
route takes at most a form. A declared ``Content-Length`` over the limit is refused before a
byte is read; a body streamed without one (chunked) is counted as it arrives and refused as
soon as it passes the limit, so neither memory nor the multipart parser's temporary files
ever hold more than the limit. The connection stays open after the answer (uvicorn discards
whatever else the client sends), so the client reads the 413 instead of a reset; a client
that sends ``Expect: 100-continue`` is answered before it sends the body at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_BODY_LIMIT = 64 * 1024
"""Every route without a rule of its own: the longest form (topics, names, notes) fits."""


@dataclass(frozen=True)
class BodyRule:
    """Bodies up to ``limit`` bytes for paths matching ``pattern`` (a regular expression
    matched against the whole path); ``json`` refusals for the API, plain text elsewhere."""

    pattern: str
    limit: int
    json: bool = False

    def matches(self, path: str) -> bool:
        return re.fullmatch(self.pattern, path) is not None


class BodyTooLarge(HTTPException):
    """Raised inside ``receive`` once a streamed body passes its limit: an HTTP error, so the
    parser's caller (FastAPI wraps other parsing errors as 400) lets it through as the 413."""

    def __init__(self, rule: BodyRule) -> None:
        super().__init__(413, detail=_message(rule))


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit // (1024 * 1024)}\u00a0MiB"  # a no-break space: "50 MiB" stays on one line
    return f"{limit // 1024}\u00a0KiB"


def _message(rule: BodyRule) -> str:
    if rule.json:
        return f"request body over {_size(rule.limit)}"
    return f"Poslani podatki so preveliki (največ {_size(rule.limit)})."


def refusal(rule: BodyRule) -> Response:
    """The 413 answer for ``rule``."""
    if rule.json:
        return JSONResponse({"detail": _message(rule)}, status_code=413)
    return PlainTextResponse(_message(rule) + "\n", status_code=413)


class BodyLimit:
    """413 for bodies over their route's limit, declared or streamed, before parsing."""

    def __init__(
        self, app: ASGIApp, rules: Sequence[BodyRule] = (), default: int = FORM_BODY_LIMIT
    ) -> None:
        self.app = app
        self.rules = tuple(rules)
        self.default = BodyRule(".*", default)

    def rule_for(self, path: str) -> BodyRule:
        return next((rule for rule in self.rules if rule.matches(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.rule_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > rule.limit:
            await refusal(rule)(scope, _no_receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > rule.limit:
                    raise BodyTooLarge(rule)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await refusal(rule)(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
