"""A real SMTP server (aiosmtpd over TCP) that records what it receives and can be scripted to
answer 4xx or 5xx, drop the connection, or be slow; and a database with an edition to send."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from publisher.articles.drafts import ArticleDraft, TopicRef
from publisher.articles.store import save_draft
from publisher.config import Settings, load_settings
from publisher.db import session_scope
from publisher.subscribers.lists import create_list
from publisher.subscribers.models import Source
from publisher.subscribers.subscriptions import subscribe
from tests.conftest import TEST_SECRET

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
REPO = Path(__file__).resolve().parents[2]
PERIOD = "2025-W10"
LIST = "tedenske-novice"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Script:
    """Replies to give instead of accepting, per recipient, consumed one per attempt."""

    rcpt: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    data: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    drop: dict[str, int] = field(default_factory=Counter)
    """Recipient → how many times to drop the connection during DATA."""
    stall: dict[str, int] = field(default_factory=Counter)
    """Recipient → how many times to leave RCPT unanswered for ``stall_for`` seconds."""
    stall_for: float = 5.0
    delay: float = 0.0
    park: bool = False
    """Leave every RCPT unanswered until the server stops: nothing new reaches DATA."""


class RecordingHandler:
    def __init__(self) -> None:
        self.script = Script()
        self.received: list[tuple[str, bytes, float]] = []
        self.envelope_senders: dict[str, str] = {}
        """Recipient → the MAIL FROM of the last message accepted for them."""
        self.lock = threading.Lock()
        self.parked = 0
        self.in_data = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        import asyncio

        if self.script.park:
            self.parked += 1
            await asyncio.Event().wait()  # until the server stops and cancels it
        if self.script.stall.get(address):
            self.script.stall[address] -= 1
            await asyncio.sleep(self.script.stall_for)
        replies = self.script.rcpt.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.in_data += 1
        try:
            return await self._data(server, envelope)
        finally:
            self.in_data -= 1

    async def _data(self, server: SMTP, envelope: Envelope) -> str:
        recipient = envelope.rcpt_tos[0]
        if self.script.drop.get(recipient):
            self.script.drop[recipient] -= 1
            server.transport.abort()  # the client sees the connection drop mid-transaction
            return "250 OK"
        replies = self.script.data.get(recipient)
        if replies:
            return replies.pop(0)
        if self.script.delay:
            import asyncio

            await asyncio.sleep(self.script.delay)
        with self.lock:
            self.received.append((recipient, envelope.original_content or b"", time.monotonic()))
            self.envelope_senders[recipient] = envelope.mail_from or ""
        return "250 2.0.0 queued"

    def per_recipient(self) -> Counter[str]:
        with self.lock:
            return Counter(recipient for recipient, _, _ in self.received)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            time.sleep(0.02)


class SmtpServer:
    def __init__(self, *, smtputf8: bool = True, eight_bit: bool = True) -> None:
        """``smtputf8``: announce SMTPUTF8 (aiosmtpd's default); False for a relay that does not.
        ``eight_bit``: announce 8BITMIME (aiosmtpd does unless it decodes the data)."""
        self.handler = RecordingHandler()
        self.port = free_port()
        self.smtputf8 = smtputf8
        self.eight_bit = eight_bit
        self.controller: Controller | None = None

    def start(self) -> None:
        """Listen (again) on the same port, with the same handler and what it received."""
        self.handler.script.park = False
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            enable_SMTPUTF8=self.smtputf8,
            decode_data=not self.eight_bit,
        )
        self.controller.start()

    def stop(self) -> None:
        """A relay going down: connections drop, new ones are refused."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def settings_for(database_url: str, port: int, **overrides: object) -> Settings:
    """Settings a test sends with: fast retries and heartbeats, small batches."""
    values: dict[str, object] = {
        "database_url": database_url,
        "smtp_port": port,
        "smtp_retry_base": 0.2,
        "smtp_reconnect_base": 0.05,
        "worker_heartbeat": 0.2,
        "worker_lease": 30.0,
        "delivery_batch": 20,
        "smtp_pool": 4,
    }
    values.update(overrides)
    return load_settings(**values)


def stock(engine: Engine, subscribers: int, *, topics: bool = False) -> list[str]:
    """Three articles in week 2025-W10 and ``subscribers`` confirmed residents on the list."""
    with session_scope(engine) as session:
        for n in range(3):
            save_draft(
                session,
                ArticleDraft(
                    external_id=f"test:{n}",
                    title=f"Novica {n}: obnova ceste v Šmihelu",
                    published_at=datetime(2025, 3, 4 + n, 9, tzinfo=LJUBLJANA),
                    body_html=f"<p>Besedilo {n}.</p>",
                    body_text=f"Besedilo {n}.",
                    summary=f"Povzetek {n}.",
                    topics=[TopicRef("promet", "Promet")] if topics else [],
                ),
            )
        create_list(session, LIST, "Tedenske novice")
    addresses = [f"obcan{n:04d}@example.org" for n in range(subscribers)]
    with session_scope(engine) as session:
        for n, address in enumerate(addresses):
            subscribe(
                session,
                address,
                LIST,
                source=Source.staff,
                name=f"Občan Številka {n}",
                language="en" if n % 5 == 0 else "sl",
                confirmed=True,
            )
    return addresses


def cli_env(database_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env.update(
        {
            "PUBLISHER_DATABASE_URL": database_url,
            "PUBLISHER_SECRET_KEY": TEST_SECRET,
            "PUBLISHER_SMTP_PORT": str(port),
            "PUBLISHER_SMTP_RETRY_BASE": "0.2",
            "PUBLISHER_WORKER_HEARTBEAT": "0.2",
            "PUBLISHER_DELIVERY_BATCH": "20",
            "PUBLISHER_SMTP_POOL": "4",
            "PYTHONPATH": str(REPO),
            "COLUMNS": "200",
        }
    )
    env.update(extra)
    return env


def start_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "publisher", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
