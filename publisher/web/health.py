"""``/healthz`` and ``/readyz``: what a reverse proxy, systemd or an orchestrator asks.

``/healthz`` says the process answers (200, touches nothing). ``/readyz`` says whether it
can serve: the database answers within :data:`READY_TIMEOUT` and is at the code's migration.
Only that makes it 503, since without the database no page works. The relay is reported as a
check of its own, as the senders last found it (:mod:`publisher.delivery.relay_seen`), but
never makes the site unready: subscribing, unsubscribing and the feeds work without it, and
taking the site out of the load balancer would not bring the relay back.

Both are cheap (one connection, two tiny reads), never cached, need no sign-in and are not
rate limited. At most one look at the database is under way at a time: a database that
hangs holds one thread, not one per probe.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.config import Settings
from publisher.db import current_revision, head_revision
from publisher.delivery.relay_seen import last_seen
from publisher.delivery.smtp import SmtpConfig
from publisher.logs import event

log = logging.getLogger(__name__)

READY_TIMEOUT = 2.0
"""Seconds ``/readyz`` waits for the database before it says it is unreachable."""
NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter()


@dataclass(frozen=True)
class Look:
    """What one look at the database found."""

    database: str
    """``ok``, ``unreachable``, ``missing`` (the SQLite file) or ``not_migrated``."""
    revision: str | None = None
    relay: dict[str, Any] = field(default_factory=lambda: {"status": "unknown"})

    @property
    def ready(self) -> bool:
        return self.database == "ok"


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def relay_check(last_ok: datetime | None, last_failed: datetime | None) -> dict[str, Any]:
    """``ok`` when the latest contact with the relay worked, ``failing`` when the latest
    failed, ``unknown`` when nothing has spoken with it yet."""
    if last_ok is None and last_failed is None:
        status = "unknown"
    elif last_failed is None or (last_ok is not None and last_ok >= last_failed):
        status = "ok"
    else:
        status = "failing"
    return {"status": status, "last_ok": _moment(last_ok), "last_failed": _moment(last_failed)}


class Readiness:
    """The app's readiness probe (one per app)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.relay = SmtpConfig.from_settings(settings).relay
        self.head = head_revision()
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self.sqlite_file = Path(database) if database and database != ":memory:" else None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz")
        self._pending: Future[Look] | None = None
        self._was_ready: bool | None = None

    def look(self) -> Look:
        """Look at the database now (in the probe's thread)."""
        if self.sqlite_file is not None and not self.sqlite_file.is_file():
            return Look("missing")  # connecting would make a new, empty file
        try:
            with Session(self.engine) as session:
                revision = current_revision(session.connection())
                if revision != self.head:
                    return Look("not_migrated", revision)
                seen = last_seen(session, self.relay)
        except Exception as exc:
            log.debug("readyz: the database did not answer: %s", exc)
            return Look("unreachable")
        relay = (
            relay_check(seen.last_ok_at, seen.last_failed_at) if seen else relay_check(None, None)
        )
        return Look("ok", revision, relay)

    async def check(self) -> Look:
        """:meth:`look`, within :data:`READY_TIMEOUT` (joining a look still under way)."""
        if self._pending is None or self._pending.done():
            self._pending = self._thread.submit(self.look)
        try:
            found = await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(self._pending)), READY_TIMEOUT
            )
        except TimeoutError:
            found = Look("unreachable")
        if found.ready is not self._was_ready:
            if found.ready:
                event(log, "ready", database=found.database)
            else:
                event(log, "not ready", level=logging.WARNING, database=found.database)
            self._was_ready = found.ready
        return found

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


def body(found: Look, head: str) -> dict[str, Any]:
    return {
        "status": "ready" if found.ready else "unavailable",
        "checks": {
            "database": {"status": found.database, "revision": found.revision, "head": head},
            "relay": found.relay,
        },
    }


@router.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.api_route("/readyz", methods=["GET", "HEAD"], include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    readiness: Readiness = request.app.state.readiness
    found = await readiness.check()
    return JSONResponse(
        body(found, readiness.head), status_code=200 if found.ready else 503, headers=NO_STORE
    )


def install(app: FastAPI, engine: Engine, settings: Settings) -> None:
    app.state.readiness = Readiness(engine, settings)
    app.include_router(router)
