"""Sending from the web process: one background sender per edition, watched by the admin.

"Approve & send" approves the edition (the domain lets one request win) and then asks
:class:`BackgroundSenders` to run :func:`publisher.digests.editions.send_edition` in a
thread of the server process. However many requests ask at once, at most one sender runs
per edition in this process (a lock and a table of running threads); senders in other
processes or ``publisher worker`` share the ledger, whose claims make sure nobody gets
two copies anyway. The latest :class:`Tally` is kept for the progress page's rate.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from publisher.config import Settings
from publisher.delivery.worker import AnotherSenderRunning, SendWorker, Tally
from publisher.digests.editions import EditionError, send_edition

log = logging.getLogger(__name__)


@dataclass
class Sending:
    """One background sender of one edition, and what it has done so far."""

    edition_id: int
    workers: list[SendWorker] = field(default_factory=list)
    tally: Tally | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)
    again: bool = False
    """Asked to start while finishing (resumed just as it saw the pause): run once more."""

    @property
    def running(self) -> bool:
        return not self.done.is_set()


class BackgroundSenders:
    """The senders this web process runs, by edition id."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._lock = threading.Lock()
        self._sendings: dict[int, Sending] = {}

    def start(self, edition_id: int) -> bool:
        """Start sending the edition unless this process already does; True if started."""
        with self._lock:
            current = self._sendings.get(edition_id)
            if current is not None and current.running:
                current.again = True
                return False
            sending = Sending(edition_id)
            self._sendings[edition_id] = sending
            thread = threading.Thread(
                target=self._run, args=(sending,), name=f"admin-send-{edition_id}", daemon=True
            )
            thread.start()
            return True

    def _run(self, sending: Sending) -> None:
        def on_progress(tally: Tally) -> None:
            sending.tally = tally

        while True:
            try:
                sending.tally = asyncio.run(
                    send_edition(
                        self.engine,
                        self.settings,
                        sending.edition_id,
                        on_progress=on_progress,
                        worker=sending.workers,
                    )
                )
                sending.error = None
            except (AnotherSenderRunning, EditionError) as exc:
                sending.error = str(exc)
            except Exception as exc:  # the page must say so; the ledger keeps every row safe
                log.exception("sending edition %s stopped", sending.edition_id)
                sending.error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                stopped = any(worker.stopped for worker in sending.workers)
                if not sending.again or stopped:
                    sending.done.set()
                    return
                sending.again = False

    def status(self, edition_id: int) -> Sending | None:
        with self._lock:
            return self._sendings.get(edition_id)

    def stop_all(self, timeout: float = 10.0) -> None:
        """Ask every sender to finish its batch and hand back the rest (server shutdown)."""
        with self._lock:
            sendings = list(self._sendings.values())
        for sending in sendings:
            for worker in sending.workers:
                worker.request_stop()
        for sending in sendings:
            sending.done.wait(timeout)
