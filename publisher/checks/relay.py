"""The relay, as the sends will meet it: reached, secured and logged into through the outbox's
own :func:`~publisher.delivery.smtp.open_connection`, then asked to take each envelope sender
the sends use (``MAIL FROM``, then ``RSET``: no message is ever handed over)."""

from __future__ import annotations

import ipaddress
import ssl

import aiosmtplib

from publisher.checks.results import Check, Group, fail, ok, warn
from publisher.config import Settings
from publisher.delivery.outbox import bounce_address, envelope_sender, verp_address
from publisher.delivery.smtp import SmtpConfig, mail_from, open_connection
from publisher.tokens import Tokens

G = Group.smtp
SAMPLE_DELIVERY = 0
"""The delivery id in the sample VERP address asked about: a shape like every copy's, naming
no row (ids start at 1)."""

UNREACHABLE_FIX = (
    "check smtp_host and smtp_port, that the relay runs and that a firewall lets this "
    "machine reach it"
)
CERTIFICATE_FIX = (
    "give the relay a certificate for its name from a public CA, or trust its CA with "
    "smtp_ca_file; never turn verification off"
)


async def relay_checks(settings: Settings) -> list[Check]:
    config = SmtpConfig.from_settings(settings)
    try:
        client = await open_connection(config)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return _refused(config, exc)
    try:
        greeting = client.last_ehlo_response.message if client.last_ehlo_response else ""
        checks = [
            ok(
                G,
                "relay",
                f"{config.relay} answers: {greeting.splitlines()[0] if greeting else ''}",
            ),
            _tls(config, client),
            _login(config),
            await _senders(settings, client),
            _smtputf8(client),
        ]
    finally:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
    return checks


def envelope_senders(settings: Settings) -> list[str]:
    """The MAIL FROM of a confirmation or test copy, and of a digest copy (VERP)."""
    senders = [envelope_sender(settings)]
    if settings.secret:
        tokens = Tokens.from_settings(settings)
        senders.append(verp_address(bounce_address(settings), SAMPLE_DELIVERY, tokens))
    else:
        senders.append(bounce_address(settings))
    return senders


def _local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls(config: SmtpConfig, client: aiosmtplib.SMTP) -> Check:
    if config.tls == "tls":
        return ok(G, "TLS", "TLS from the first byte; the relay's certificate is valid")
    if config.tls == "starttls":
        return ok(G, "TLS", "STARTTLS works; the relay's certificate is valid")
    offered = client.supports_extension("starttls")
    return _no_tls(config, " (the relay offers STARTTLS)" if offered else "")


def _login(config: SmtpConfig) -> Check:
    if not config.username:
        return ok(G, "login", "none configured: the relay must trust this machine's address")
    return ok(G, "login", f"logged in as {config.username}")


async def _senders(settings: Settings, client: aiosmtplib.SMTP) -> Check:
    accepted: list[str] = []
    for sender in envelope_senders(settings):
        try:
            await mail_from(client, sender, smtputf8=False)
        except aiosmtplib.SMTPResponseException as exc:
            return fail(
                G,
                "senders",
                f"the relay refuses MAIL FROM:<{sender}>: {exc.code} {exc.message}",
                "let this login send as the From address and the bounce domain "
                f"({settings.bounce_domain_in_force}) at the relay, or change from_address "
                "or bounce_domain",
            )
        finally:
            await client.rset()
        accepted.append(sender)
    return ok(G, "senders", "the relay accepts " + " and ".join(accepted) + " (nothing sent)")


def _smtputf8(client: aiosmtplib.SMTP) -> Check:
    if client.supports_extension("smtputf8"):
        return ok(G, "SMTPUTF8", "offered: addresses such as žiga@example.org can be sent to")
    return ok(
        G,
        "SMTPUTF8",
        "not offered: residents whose address has letters such as č before the @ get no mail",
    )


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _refused(config: SmtpConfig, exc: BaseException) -> list[Check]:
    """The lines for a connection that did not get as far as being ready to send."""
    answered = ok(G, "relay", f"{config.relay} answers")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return [
            answered,
            _secured(config),
            fail(
                G,
                "login",
                f"the relay refuses the login of {config.username}: {exc.code} {exc.message}",
                "check smtp_username and smtp_password (the relay's account for this sender)",
            ),
        ]
    problem = _ssl_error(exc)
    if isinstance(problem, ssl.SSLCertVerificationError):
        return [
            answered,
            fail(
                G,
                "TLS",
                f"the relay's certificate is not valid: {problem.verify_message}",
                CERTIFICATE_FIX,
            ),
        ]
    if problem is not None:
        return [
            answered,
            fail(
                G,
                "TLS",
                f"the TLS handshake failed: {problem.reason or problem}",
                'smtp_tls = "tls" is for port 465, "starttls" for port 587',
            ),
        ]
    if isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc):
        return [
            answered,
            fail(
                G,
                "TLS",
                "the relay does not offer STARTTLS",
                'use the relay\'s submission port (587) or smtp_tls = "tls" on port 465',
            ),
        ]
    if isinstance(exc, aiosmtplib.SMTPException) and "AUTH" in str(exc):
        return [
            answered,
            _secured(config),
            fail(
                G,
                "login",
                "the relay offers no login (AUTH) on this connection",
                "use the relay's submission port (587, STARTTLS) or 465 (TLS), or unset "
                "smtp_username if the relay trusts this machine's address",
            ),
        ]
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return [
            fail(
                G,
                "relay",
                f"{config.relay} refuses this machine: {exc.code} {exc.message}",
                "ask the relay's administrator to let this machine send",
            )
        ]
    if not isinstance(exc, (OSError, TimeoutError, aiosmtplib.SMTPTimeoutError)) and not isinstance(
        exc.__cause__, OSError
    ):
        return [fail(G, "relay", f"{config.relay} answers, but: {exc}", UNREACHABLE_FIX)]
    reason = exc.__cause__ or exc
    detail = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return [fail(G, "relay", f"{config.relay} cannot be reached: {detail}", UNREACHABLE_FIX)]


def _secured(config: SmtpConfig) -> Check:
    """The TLS line of a connection that got past TLS (and then failed later)."""
    return ok(G, "TLS", f"{config.tls} works") if config.tls != "none" else _no_tls(config)


def _no_tls(config: SmtpConfig, offered: str = "") -> Check:
    if _local(config.host):
        return ok(G, "TLS", "none: the relay runs on this machine")
    return warn(
        G,
        "TLS",
        f"smtp_tls = none: mail and the password cross the network in the clear{offered}",
        'set smtp_tls = "starttls" (port 587) or "tls" (port 465)',
    )
