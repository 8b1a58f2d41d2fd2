"""Asking the relay whether it would take our mail, without sending any.

``publisher check`` needs to know how far a connection gets (reached, secured, logged in) and
whether the relay takes each envelope sender; only :mod:`publisher.delivery` speaks SMTP, so
the conversation is here, through the senders' own :func:`~publisher.delivery.smtp.open_connection`
and :func:`~publisher.delivery.smtp.mail_from`, and ends with ``RSET`` after each ``MAIL FROM``:
no ``RCPT``, no ``DATA``.
"""

from __future__ import annotations

import enum
import ssl
from dataclasses import dataclass, field

import aiosmtplib

from publisher.delivery.smtp import SmtpConfig, mail_from, open_connection


class Stage(enum.StrEnum):
    connect = "connect"
    """The relay could not be reached, or refused this machine at its greeting."""
    tls = "tls"
    login = "login"
    sender = "sender"
    """Connected and logged in; a ``MAIL FROM`` was refused."""


@dataclass
class RelayProbe:
    failed_at: Stage | None = None
    """Where it stopped; ``None``: every step worked."""
    reason: str = ""
    """Why, in words, with the relay's reply where it gave one (outside text)."""
    certificate: bool = False
    """The TLS failure was the certificate's verification."""
    refused_code: int | None = None
    greeting: str = ""
    """The first line of the relay's EHLO answer (its name)."""
    starttls_offered: bool = False
    smtputf8: bool = False
    accepted: list[str] = field(default_factory=list)
    refused_sender: str = ""


async def probe_relay(config: SmtpConfig, senders: list[str]) -> RelayProbe:
    """Connect, secure and log in as the senders do, then ``MAIL FROM`` and ``RSET`` for
    each of ``senders``; never raises for SMTP or network trouble."""
    try:
        client = await open_connection(config)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return _stopped(exc)
    probe = RelayProbe(
        greeting=_first_line(
            client.last_ehlo_response.message if client.last_ehlo_response else ""
        ),
        starttls_offered=client.supports_extension("starttls"),
        smtputf8=client.supports_extension("smtputf8"),
    )
    try:
        for sender in senders:
            try:
                await mail_from(client, sender, smtputf8=False)
            except aiosmtplib.SMTPResponseException as exc:
                probe.failed_at, probe.refused_sender = Stage.sender, sender
                probe.refused_code, probe.reason = exc.code, exc.message
                break
            finally:
                await client.rset()
            probe.accepted.append(sender)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        probe.failed_at, probe.reason = Stage.sender, f"the connection broke: {exc}"
    finally:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()
    return probe


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _stopped(exc: BaseException) -> RelayProbe:
    """Where a connection that never became ready stopped, and why."""
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return RelayProbe(Stage.login, exc.message, refused_code=exc.code)
    problem = _ssl_error(exc)
    if isinstance(problem, ssl.SSLCertVerificationError):
        return RelayProbe(Stage.tls, str(problem.verify_message), certificate=True)
    if problem is not None:
        return RelayProbe(Stage.tls, f"the TLS handshake failed: {problem.reason or problem}")
    if isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc):
        return RelayProbe(Stage.tls, "the relay does not offer STARTTLS")
    if isinstance(exc, aiosmtplib.SMTPException) and "AUTH" in str(exc):
        return RelayProbe(Stage.login, "the relay offers no login (AUTH) on this connection")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return RelayProbe(Stage.connect, exc.message, refused_code=exc.code)
    reason = exc.__cause__ or exc
    words = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return RelayProbe(Stage.connect, f"cannot be reached: {words}")
