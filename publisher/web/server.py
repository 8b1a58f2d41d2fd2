"""How the app is put under uvicorn: one configuration for ``serve``, ``demo`` and the tests.

uvicorn's own proxy handling is off: by default it believes ``X-Forwarded-For`` from
127.0.0.1, so anyone on the machine could name any address. Which proxies are believed is
the app's ``trusted_proxies`` setting, decided in :mod:`publisher.web.clients`.

The access log never holds a resident's personal link: the token in ``/confirm/…``,
``/unsubscribe/…`` and ``/preferences/…`` is a key to someone's subscription (their data, its
erasure), and logs are kept, copied and read by more people than the register.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import uvicorn
from fastapi import FastAPI

from publisher.logs import PERSONAL_LINK, REDACTED


def redact_path(path: str) -> str:
    """``path`` with a personal link's token replaced by ``…`` (the rest kept for statistics)."""
    return PERSONAL_LINK.sub(rf"\1{REDACTED}", path)


class RedactTokenPaths(logging.Filter):
    """On ``uvicorn.access``: the path (the third argument of its record) loses its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def install_access_log_filter() -> None:
    """Once per process: ``uvicorn.access`` redacts token paths, whoever formats its records."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactTokenPaths) for existing in access.filters):
        access.addFilter(RedactTokenPaths())


def server_config(app: FastAPI, host: str, port: int, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration every server of the app uses (``options`` may add to it)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=False,
        server_header=False,
        log_config=None,  # uvicorn's lines go to the one handler of publisher.logs
        **options,
    )
    install_access_log_filter()
    return config


def run(config: uvicorn.Config) -> None:
    """Serve until stopped, as ``uvicorn.run`` does: Ctrl+C ends it quietly (uvicorn shuts
    down cleanly, then raises the signal again), a failed start exits with status 3."""
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise SystemExit(3)
