"""The outbox: the one way a mail leaves, whatever it is.

Digest copies, test copies and confirmation mails (and later bounce and urgent notices) all
go through :meth:`Outbox.send`, so each of them is DKIM-signed when DKIM is configured, travels
over a pooled connection and comes back as one :class:`~publisher.delivery.smtp.Outcome`
(sent / retry later / failed for good). Recording that outcome is the caller's: the sender
writes it to the delivery ledger, a confirmation forgets its request when it failed.

aiosmtplib connections belong to the event loop that opened them, so an outbox keeps one pool
per running loop: a web process has one loop, a sender thread has its own.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import replace
from email.utils import parseaddr
from types import TracebackType

from sqlalchemy.engine import Engine

from publisher.config import Settings
from publisher.delivery.relay_seen import RelayWatch
from publisher.delivery.smtp import Outcome, SmtpConfig, SmtpPool, Verdict
from publisher.mail.dkim import DkimSigner, dkim_signer
from publisher.mail.message import downgrade_to_7bit
from publisher.tokens import InvalidToken, Purpose, Tokens

log = logging.getLogger(__name__)


VERP_LOCAL = "bounces"
"""The local part of every digest copy's envelope sender, before its ``+tag``."""


def envelope_sender(settings: Settings) -> str:
    """The envelope sender (MAIL FROM) of a mail with no delivery row (a confirmation, a test
    copy): the From address itself, where its bounces go to a person."""
    return parseaddr(settings.from_address)[1]


def bounce_address(settings: Settings) -> str:
    """A digest job's envelope sender before each copy's tag: ``bounces@<bounce domain>``."""
    return f"{VERP_LOCAL}@{settings.bounce_domain_in_force}"


def verp_address(base: str, delivery_id: int, tokens: Tokens) -> str:
    """One copy's envelope sender, ``bounces+<signed delivery id>@<bounce domain>`` (VERP):
    its bounce comes back to an address that names exactly one delivery row, and that
    nobody without the secret key can make up for another."""
    local, _, domain = base.rpartition("@")
    return f"{local}+{tokens.tag(Purpose.bounce, delivery_id)}@{domain}"


def delivery_of_address(address: str, tokens: Tokens) -> int | None:
    """The delivery row a VERP address names, or ``None`` for any other, forged or altered
    address (whatever its domain: the signature is what proves it ours)."""
    local = address.strip().strip("<>").rpartition("@")[0]
    tag = local.rpartition("+")[2] if "+" in local else ""
    try:
        return tokens.read_tag(tag, Purpose.bounce) if tag else None
    except InvalidToken:
        return None


class Outbox:
    """Signs, pools, sends and classifies; one per sender, one per web process."""

    def __init__(
        self,
        settings: Settings,
        *,
        smtp: SmtpConfig | None = None,
        pool_size: int | None = None,
        signer: DkimSigner | None = None,
        engine: Engine | None = None,
    ) -> None:
        """``engine``: keep what this outbox sees of the relay in ``relay_seen`` (the
        senders' and the web app's outboxes; ``/readyz`` reports it)."""
        config = smtp or SmtpConfig.from_settings(settings)
        if pool_size is not None:
            config = replace(config, pool_size=max(1, min(pool_size, config.pool_size)))
        self.config = config
        self.seen = RelayWatch(engine, config.relay) if engine is not None else None
        self.signer = signer if signer is not None else dkim_signer(settings)
        self.envelope_from = envelope_sender(settings)
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SmtpPool] = (
            weakref.WeakKeyDictionary()
        )

    def _pool(self) -> SmtpPool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = SmtpPool(self.config)
        return pool

    def sign(self, data: bytes) -> bytes:
        return self.signer.sign(data) if self.signer is not None else data

    async def send(
        self,
        recipient: str,
        data: bytes,
        *,
        envelope_from: str | None = None,
        retry_dropped: bool = False,
    ) -> Outcome:
        """Sign and send one message; never raises for SMTP or network trouble.

        ``retry_dropped`` tries once more at once when the connection was lost without a
        reply (a pooled connection the server closed while idle): for a mail someone waits
        for. The sender leaves that to the ledger's retries instead.
        """
        signed = self.sign(data)
        sender = envelope_from or self.envelope_from
        pool = self._pool()

        def seven_bit() -> bytes:
            """For a relay without 8BITMIME: re-encoded first, then signed, since a signature
            holds only over the bytes the receiver gets."""
            return self.sign(downgrade_to_7bit(data))

        outcome = await pool.send(sender, recipient, signed, seven_bit=seven_bit)
        if retry_dropped and outcome.verdict is Verdict.deferred and outcome.code is None:
            outcome = await pool.send(sender, recipient, signed, seven_bit=seven_bit)
        if self.seen is not None:
            lost = outcome.verdict is Verdict.deferred and outcome.code is None
            trouble = outcome.relay_trouble or lost
            self.seen.saw(not trouble, outcome.reply if trouble else "")
        if outcome.verdict is not Verdict.sent:
            log.info(
                "mail not sent (%s): %s %s", outcome.verdict, outcome.code or "", outcome.reply
            )
        return outcome

    async def offers_smtputf8(self) -> bool | None:
        """Whether the relay takes addresses like ``žiga@example.org`` (SMTPUTF8); ``None``
        when it cannot be reached just now."""
        offered = await self._pool().offers("smtputf8")
        if self.seen is not None:
            self.seen.saw(offered is not None, "" if offered is not None else "not reached")
        return offered

    async def close(self) -> None:
        """Say QUIT on this loop's connections (a sender at its end, a server at shutdown)."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> Outbox:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def relay_offers_smtputf8(settings: Settings) -> bool | None:
    """Ask the configured relay, from code that is not async (the CLI's import), whether it
    takes addresses like ``žiga@example.org``; ``None`` when it cannot be reached."""

    async def ask() -> bool | None:
        async with Outbox(settings, pool_size=1) as outbox:
            return await outbox.offers_smtputf8()

    return asyncio.run(ask())
