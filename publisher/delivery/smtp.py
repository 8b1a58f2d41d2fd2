"""A pool of reused SMTP connections (aiosmtplib) and what each reply means for a delivery.

Connections are opened once and reused for many messages (a new TLS handshake per message
would cost more than the message). A dropped connection is reopened for the next message.
Trouble with the relay itself (it cannot be reached, drops or times out before the message
was handed over, or answers 421) is reported as ``relay_trouble``: the copy certainly did not
leave and the recipient did nothing wrong, so the sender waits for the relay instead of
counting it against them. A connection lost during DATA is a plain ``deferred``: the server
may have kept the message, so it counts as an attempt.
"""

from __future__ import annotations

import asyncio
import enum
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import aiosmtplib

from publisher.addresses import ascii_domain_address, needs_smtputf8
from publisher.config import Settings
from publisher.mail.message import downgrade_to_7bit


class Verdict(enum.StrEnum):
    sent = "sent"
    deferred = "deferred"
    """Temporary: 4xx, timeouts, dropped connections. Try again later."""
    failed = "failed"
    """Permanent: 5xx. Do not try again."""


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    code: int | None
    reply: str
    recipient_refused: bool = False
    """A 5xx at RCPT: the address itself is refused (a hard bounce), not the message."""
    relay_trouble: bool = False
    """The relay's trouble, not the recipient's: it could not be reached, refused the
    connection or the login, or dropped, timed out or answered 421 before the message was
    handed over. The copy certainly did not leave."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: str = "none"
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    pool_size: int = 8
    ca_file: str | None = None
    """Certificates (PEM) trusted for the relay's TLS besides the system's own."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=password,
            timeout=settings.smtp_timeout,
            pool_size=settings.smtp_pool,
            ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        )

    @property
    def relay(self) -> str:
        """``host:port``: what the provider's limits (daily cap, rate) are kept per."""
        return f"{self.host}:{self.port}"


NO_SMTPUTF8 = (
    "the mail server does not accept addresses with letters such as č, š or ž before the @ "
    "(it does not offer SMTPUTF8)"
)


class AddressNeedsSmtpUtf8(Exception):
    """The address's local part is not ASCII and the relay does not offer SMTPUTF8."""


def classify_exception(exc: BaseException) -> Outcome:
    """What an aiosmtplib error means for the message: retry later, or give up."""
    if isinstance(exc, AddressNeedsSmtpUtf8):
        return Outcome(Verdict.failed, None, NO_SMTPUTF8)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        refused = exc.recipients[0]
        return _by_code(refused.code, refused.message, recipient_refused=True)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, exc.message, recipient_refused=False)
    # The reply is shown to staff (digest status, the admin): words, not exception text.
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return Outcome(Verdict.deferred, None, "the connection to the mail server was lost")
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError)):
        return Outcome(Verdict.deferred, None, "the mail server did not answer in time")
    if isinstance(exc, OSError):  # SMTPConnectError too
        detail = f" ({exc.strerror.lower()})" if getattr(exc, "strerror", None) else ""
        return Outcome(Verdict.deferred, None, f"the mail server could not be reached{detail}")
    if isinstance(exc, aiosmtplib.SMTPException):
        return Outcome(Verdict.deferred, None, "the mail server's answer was not understood")
    raise exc


def _by_code(code: int, message: str, *, recipient_refused: bool) -> Outcome:
    if code == 421:  # "service not available, closing the channel": the relay, not the address
        return Outcome(Verdict.deferred, code, message, relay_trouble=True)
    if 400 <= code < 500:
        return Outcome(Verdict.deferred, code, message)
    if 500 <= code < 600:
        return Outcome(Verdict.failed, code, message, recipient_refused=recipient_refused)
    return Outcome(Verdict.deferred, code, message)


def tls_context(config: SmtpConfig) -> ssl.SSLContext | None:
    """The relay's TLS: certificates verified against the system's and ``ca_file``'s CAs."""
    if config.tls == "none":
        return None
    context = ssl.create_default_context()
    if config.ca_file:
        context.load_verify_locations(cafile=config.ca_file)
    return context


async def open_connection(config: SmtpConfig) -> aiosmtplib.SMTP:
    """Connect, secure (TLS or STARTTLS, as configured), greet and log in: how every sender
    and ``publisher check`` reach the relay, so the check tries what the sends will do."""
    client = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        timeout=config.timeout,
        use_tls=config.tls == "tls",
        start_tls=config.tls == "starttls",  # never opportunistic: "none" means none
        tls_context=tls_context(config),
    )
    await client.connect()
    if not client.last_ehlo_response:
        await client.ehlo()  # learn the extensions (8BITMIME) before the first message
    if config.username:
        await client.login(config.username, config.password or "")
    return client


async def mail_from(client: aiosmtplib.SMTP, envelope_from: str, *, smtputf8: bool) -> bool:
    """``MAIL FROM`` as every send says it (``SMTPUTF8`` when asked, ``BODY=8BITMIME`` where
    offered); raises :class:`aiosmtplib.SMTPSenderRefused` for any answer but 250. Returns
    whether the message may go as 8-bit."""
    mail = [b"FROM:<" + envelope_from.encode() + b">"]
    if smtputf8:
        mail.append(b"SMTPUTF8")
    eight_bit = client.supports_extension("8bitmime")
    if eight_bit:
        mail.append(b"BODY=8BITMIME")
    response = await client.execute_command(b"MAIL", *mail)
    if response.code != 250:
        raise aiosmtplib.SMTPSenderRefused(response.code, response.message, envelope_from)
    return eight_bit


class SmtpPool:
    """``size`` connections, each used by one coroutine at a time."""

    def __init__(
        self, config: SmtpConfig, connect: Callable[[], Awaitable[aiosmtplib.SMTP]] | None = None
    ):
        self.config = config
        self._connect = connect or self._open
        self._idle: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(config.pool_size):
            self._idle.put_nowait(None)  # a slot; connected on first use

    async def _open(self) -> aiosmtplib.SMTP:
        return await open_connection(self.config)

    async def send(
        self,
        envelope_from: str,
        recipient: str,
        data: bytes,
        *,
        seven_bit: Callable[[], bytes] | None = None,
    ) -> Outcome:
        """Send one message on an idle connection; never raises for SMTP or network trouble.

        ``seven_bit`` makes the message for a relay without 8BITMIME (re-encoded, and signed
        again over what is sent); by default ``data`` is only re-encoded."""
        client = await self._idle.get()
        handed_over = [False]
        """Set once DATA began: from then on the relay may have the message."""
        try:
            if client is None or not client.is_connected:
                client = None
                client = await self._connect()
            reply = await self._transaction(
                client, envelope_from, recipient, data, handed_over, seven_bit
            )
            return Outcome(Verdict.sent, 250, reply)
        except AddressNeedsSmtpUtf8 as exc:
            return classify_exception(exc)  # refused before any command: the connection is fine
        except Exception as exc:
            outcome = classify_exception(exc)
            if client is None or (outcome.code is None and not handed_over[0]):
                # Not connected, or lost before DATA: nothing left, the relay is in trouble.
                outcome = replace(outcome, relay_trouble=True)
            if (outcome.code is None or outcome.relay_trouble) and client is not None:
                client.close()
                client = None
            elif client is not None and client.is_connected:
                try:  # after a refused message, make the connection ready for the next one
                    await client.rset()
                except Exception:
                    client.close()
                    client = None
            return outcome
        finally:
            self._idle.put_nowait(client)

    @staticmethod
    async def _transaction(
        client: aiosmtplib.SMTP,
        envelope_from: str,
        recipient: str,
        data: bytes,
        handed_over: list[bool],
        seven_bit: Callable[[], bytes] | None = None,
    ) -> str:
        """MAIL, RCPT, DATA on an open connection.

        Domains go out as punycode; a local part that is not ASCII needs the relay's SMTPUTF8
        (and is refused, in words, by a relay without it).

        ``sendmail`` would re-parse both addresses with ``email.utils`` for every message
        (a fifth of the sender's time); they were checked once when the copy was filled, so
        the commands are written directly. aiosmtplib still refuses control characters in
        them, and DATA (dot-stuffing, line endings) is aiosmtplib's own.
        """
        envelope_from, recipient = (
            ascii_domain_address(envelope_from),
            ascii_domain_address(recipient),
        )
        smtputf8 = needs_smtputf8(recipient) or needs_smtputf8(envelope_from)
        if smtputf8 and not client.supports_extension("smtputf8"):
            raise AddressNeedsSmtpUtf8(recipient)
        if not await mail_from(client, envelope_from, smtputf8=smtputf8):
            data = seven_bit() if seven_bit is not None else downgrade_to_7bit(data)
        response = await client.execute_command(b"RCPT", b"TO:<" + recipient.encode() + b">")
        if response.code not in (250, 251):
            refused = aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)
            raise aiosmtplib.SMTPRecipientsRefused([refused])
        handed_over[0] = True
        response = await client.data(data)
        return response.message

    async def offers(self, extension: str) -> bool | None:
        """Whether the relay announces ``extension`` (e.g. ``smtputf8``); ``None`` when it
        cannot be reached just now."""
        client = await self._idle.get()
        try:
            if client is None or not client.is_connected:
                client = await self._connect()
            return client.supports_extension(extension)
        except Exception as exc:
            classify_exception(exc)  # re-raises what is not SMTP or network trouble
            if client is not None:
                client.close()
            client = None
            return None
        finally:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except Exception:
                    client.close()
