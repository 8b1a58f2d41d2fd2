"""The relay, as the sends will meet it (:func:`publisher.delivery.probe.probe_relay`):
reached, secured, logged into, and asked to take each envelope sender the sends use. No
message is ever handed over."""

from __future__ import annotations

import ipaddress

from publisher.checks.results import Check, Group, fail, ok, warn
from publisher.config import Settings
from publisher.delivery.outbox import bounce_address, envelope_sender, verp_address
from publisher.delivery.probe import RelayProbe, Stage, probe_relay
from publisher.delivery.smtp import SmtpConfig
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
    probe = await probe_relay(config, envelope_senders(settings))
    if probe.failed_at is Stage.connect:
        return [_unreachable(config, probe)]
    greeting = f": {probe.greeting}" if probe.greeting else ""
    checks = [ok(G, "relay", f"{config.relay} answers{greeting}")]
    if probe.failed_at is Stage.tls:
        fix = (
            CERTIFICATE_FIX
            if probe.certificate
            else 'use the relay\'s submission port (587) with smtp_tls = "starttls", or '
            '"tls" on port 465'
        )
        what = "the relay's certificate is not valid: " if probe.certificate else ""
        return [*checks, fail(G, "TLS", what + probe.reason, fix)]
    checks.append(_tls(config, probe))
    if probe.failed_at is Stage.login:
        detail = (
            f"the relay refuses the login of {config.username}: {probe.refused_code} {probe.reason}"
            if probe.refused_code
            else probe.reason
        )
        return [
            *checks,
            fail(
                G,
                "login",
                detail,
                "check smtp_username and smtp_password (the relay's account for this sender)",
            ),
        ]
    checks.append(_login(config))
    checks.append(_senders(settings, probe))
    checks.append(_smtputf8(probe))
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


def _unreachable(config: SmtpConfig, probe: RelayProbe) -> Check:
    if probe.refused_code is not None:
        return fail(
            G,
            "relay",
            f"{config.relay} refuses this machine: {probe.refused_code} {probe.reason}",
            "ask the relay's administrator to let this machine send",
        )
    return fail(G, "relay", f"{config.relay} {probe.reason}", UNREACHABLE_FIX)


def _tls(config: SmtpConfig, probe: RelayProbe) -> Check:
    if config.tls == "tls":
        return ok(G, "TLS", "TLS from the first byte; the relay's certificate is valid")
    if config.tls == "starttls":
        return ok(G, "TLS", "STARTTLS works; the relay's certificate is valid")
    if _local(config.host):
        return ok(G, "TLS", "none: the relay runs on this machine")
    offered = " (the relay offers STARTTLS)" if probe.starttls_offered else ""
    return warn(
        G,
        "TLS",
        f"smtp_tls = none: mail and the password cross the network in the clear{offered}",
        'set smtp_tls = "starttls" (port 587) or "tls" (port 465)',
    )


def _login(config: SmtpConfig) -> Check:
    if not config.username:
        return ok(G, "login", "none configured: the relay must trust this machine's address")
    return ok(G, "login", f"logged in as {config.username}")


def _senders(settings: Settings, probe: RelayProbe) -> Check:
    if probe.failed_at is Stage.sender:
        code = f"{probe.refused_code} " if probe.refused_code else ""
        return fail(
            G,
            "senders",
            f"the relay refuses MAIL FROM:<{probe.refused_sender}>: {code}{probe.reason}",
            "let this login send as the From address and the bounce domain "
            f"({settings.bounce_domain_in_force}) at the relay, or change from_address "
            "or bounce_domain",
        )
    listed = " and ".join(probe.accepted)
    return ok(G, "senders", f"the relay accepts {listed} (nothing sent)")


def _smtputf8(probe: RelayProbe) -> Check:
    if probe.smtputf8:
        return ok(G, "SMTPUTF8", "offered: addresses such as žiga@example.org can be sent to")
    return ok(
        G,
        "SMTPUTF8",
        "not offered: residents whose address has letters such as č before the @ get no mail",
    )
