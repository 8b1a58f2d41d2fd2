"""The relay as last seen: what the one outbox learns of it, kept where every process sees it.

Every message the outbox hands over tells whether the relay was there (it answered, even to
refuse an address) or not (unreachable, dropped, timed out, 421). :class:`RelayWatch` keeps
the latest of each in the ``relay_seen`` row of the relay, written in a thread of its own
(never on the sender's event loop), at once when the relay's state changes and otherwise
at most every :data:`WRITE_EVERY`: a sender speaking to it a thousand times a second writes
it twice a minute. ``/readyz`` reads it (:func:`last_seen`), so a web process that sends
nothing still says how the workers found the relay.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.clock import utcnow
from publisher.db import conflict_insert, session_scope
from publisher.delivery.models import RelaySeen
from publisher.logs import event

log = logging.getLogger(__name__)

WRITE_EVERY = timedelta(seconds=30)
"""How often an unchanged state is written again (so "last seen" stays that fresh)."""
FAILURE_LENGTH = 500

relay_table = RelaySeen.__table__  # type: ignore[attr-defined]


def note(session: Session, relay: str, *, ok: bool, at: datetime, failure: str = "") -> None:
    """Record one contact (``ok``) or failed contact with ``relay`` at ``at``; an older
    moment than the one stored changes nothing (several processes write it)."""
    session.execute(
        conflict_insert(session)(relay_table)
        .values(relay=relay, last_failure="")
        .on_conflict_do_nothing(index_elements=["relay"])
    )
    column = relay_table.c.last_ok_at if ok else relay_table.c.last_failed_at
    values: dict[str, object] = {column.name: at}
    if not ok:
        values["last_failure"] = failure[:FAILURE_LENGTH]
    session.execute(
        update(relay_table)
        .where(relay_table.c.relay == relay, or_(column.is_(None), column < at))
        .values(**values)
    )


def last_seen(session: Session, relay: str) -> RelaySeen | None:
    """The relay's row, or ``None`` when no process has spoken with it yet."""
    return session.execute(select(RelaySeen).where(relay_table.c.relay == relay)).scalars().first()


class RelayWatch:
    """What one outbox saw of its relay, passed on to ``relay_seen`` (see the module)."""

    def __init__(self, engine: Engine, relay: str) -> None:
        self.engine = engine
        self.relay = relay
        self._lock = threading.Lock()
        self._state: bool | None = None
        self._written: dict[bool, datetime] = {}

    def saw(self, ok: bool, failure: str = "") -> None:
        """The relay was there (``ok``) or not; returns at once, the write runs apart."""
        now = utcnow()
        with self._lock:
            before, self._state = self._state, ok
            last = self._written.get(ok)
            if ok is before and last is not None and now - last < WRITE_EVERY:
                return
            self._written[ok] = now
        if ok is not before and not (ok and before is None):  # a change, not a first contact
            event(
                log,
                "relay reachable" if ok else "relay unreachable",
                level=logging.INFO if ok else logging.WARNING,
                relay=self.relay,
                reason=failure if not ok else None,
            )
        threading.Thread(
            target=self._write, args=(ok, now, failure), name="relay-seen", daemon=True
        ).start()

    def _write(self, ok: bool, at: datetime, failure: str) -> None:
        try:
            with session_scope(self.engine) as session:
                note(session, self.relay, ok=ok, at=at, failure=failure)
        except Exception as exc:  # the database may be down too: /readyz says so itself
            log.warning("could not record the relay's state: %s", type(exc).__name__)
