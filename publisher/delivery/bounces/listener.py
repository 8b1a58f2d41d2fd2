"""``bounces listen``: an SMTP or LMTP server for the bounce domain, in front of the handler.

The town hall's mail server (Postfix, or any MTA) hands it every message for the bounce
domain. It takes only recipients at that domain, refuses messages over ``bounce_max_bytes``,
and gives each message to :func:`~publisher.delivery.bounces.handle_message`, once per
recipient (so LMTP answers per recipient, as it must). A message that is not a bounce of ours
is accepted and dropped: refusing it would only make the MTA send a bounce of a bounce. When
the database cannot be reached the answer is 451, and the MTA keeps the message and tries
again later, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.engine import Engine

from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.bounces.handler import handle_message
from publisher.delivery.bounces.policy import Handled
from publisher.tokens import Tokens

log = logging.getLogger(__name__)
SERVER_NAME = "publisher-bounces"

OnHandled = Callable[[str, Handled], None]
"""Told of every recipient's result: the recipient and what became of its message."""


class BounceReceiver:
    """The aiosmtpd handler: checks recipients, hands each message to the bounce handler."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        lmtp: bool = False,
        on_handled: OnHandled | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.domain = settings.bounce_domain_in_force
        self.source = "lmtp" if lmtp else "smtp"
        self.tokens = Tokens.from_settings(settings)
        self.on_handled = on_handled

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower().rstrip(".")
        if domain != self.domain:
            return f"550 5.1.2 only bounces for {self.domain} are taken here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if len(raw) > self.settings.bounce_max_bytes:
            return "552 5.3.4 message too big for a bounce"
        loop = asyncio.get_running_loop()
        replies = []
        for recipient in envelope.rcpt_tos:
            try:
                handled = await loop.run_in_executor(None, self._process, raw, recipient)
            except Exception:
                log.exception("a bounce to %s could not be recorded", recipient)
                replies.append("451 4.3.0 could not be recorded just now; try again later")
                continue
            if self.on_handled is not None:
                self.on_handled(recipient, handled)
            replies.append(f"250 2.0.0 {handled.disposition.value}")
        if self.source == "lmtp":
            return "\r\n".join(replies)
        failed = [reply for reply in replies if reply.startswith("451")]
        return failed[0] if failed else replies[0]

    def _process(self, raw: bytes, recipient: str) -> Handled:
        with session_scope(self.engine) as session:
            return handle_message(
                session,
                self.settings,
                raw,
                source=self.source,
                recipients=[recipient],
                tokens=self.tokens,
            )


class _Listener(Controller):
    def __init__(self, receiver: BounceReceiver, *, lmtp: bool, **kwargs: Any) -> None:
        self.lmtp = lmtp
        super().__init__(receiver, **kwargs)

    def factory(self) -> SMTP:
        kind = LMTP if self.lmtp else SMTP
        return kind(self.handler, **self.SMTP_kwargs)


def bounce_listener(
    engine: Engine,
    settings: Settings,
    *,
    host: str,
    port: int,
    lmtp: bool = False,
    on_handled: OnHandled | None = None,
) -> Controller:
    """A started-when-you-call-``start()`` server; stop it with ``stop()``."""
    receiver = BounceReceiver(engine, settings, lmtp=lmtp, on_handled=on_handled)
    return _Listener(
        receiver,
        lmtp=lmtp,
        hostname=host,
        port=port,
        server_hostname=SERVER_NAME,
        data_size_limit=settings.bounce_max_bytes,
        enable_SMTPUTF8=True,
        ready_timeout=10.0,
    )
