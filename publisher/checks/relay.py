"""The relay, as the sends will meet it (:func:`publisher.delivery.probe.probe_relay`):
reached, secured, logged into, and asked to take each envelope sender the sends use. No
message is ever handed over."""

from __future__ import annotations

import ipaddress

from publisher.checks.results import Check, Group, Text, fail, ok, warn
from publisher.config import Settings
from publisher.delivery.outbox import bounce_address, envelope_sender, verp_address
from publisher.delivery.probe import RelayProbe, Stage, probe_relay
from publisher.delivery.smtp import SmtpConfig
from publisher.tokens import Tokens

G = Group.smtp
SAMPLE_DELIVERY = 0
"""The delivery id in the sample VERP address asked about: a shape like every copy's, naming
no row (ids start at 1)."""

UNREACHABLE_FIX = Text(
    "check smtp_host and smtp_port, that the relay runs and that a firewall lets this "
    "machine reach it"
)
CERTIFICATE_FIX = Text(
    "give the relay a certificate for its name from a public CA, or trust its CA with "
    "smtp_ca_file; never turn verification off"
)
RELAY, LOGIN, SENDERS = Text("relay"), Text("login"), Text("senders")


async def relay_checks(settings: Settings) -> list[Check]:
    config = SmtpConfig.from_settings(settings)
    probe = await probe_relay(config, envelope_senders(settings))
    if probe.failed_at is Stage.connect:
        return [_unreachable(config, probe)]
    answers = (
        Text("%(relay)s answers: %(greeting)s", relay=config.relay, greeting=probe.greeting)
        if probe.greeting
        else Text("%(relay)s answers", relay=config.relay)
    )
    checks = [ok(G, RELAY, answers)]
    if probe.failed_at is Stage.tls:
        fix = (
            CERTIFICATE_FIX
            if probe.certificate
            else Text(
                'use the relay\'s submission port (587) with smtp_tls = "starttls", or '
                '"tls" on port 465'
            )
        )
        what = (
            Text("the relay's certificate is not valid: %(reason)s", reason=probe.reason)
            if probe.certificate
            else probe.reason
        )
        return [*checks, fail(G, "TLS", what, fix)]
    checks.append(_tls(config, probe))
    if probe.failed_at is Stage.login:
        detail = (
            Text(
                "the relay refuses the login of %(user)s: %(code)s %(reason)s",
                user=config.username,
                code=probe.refused_code,
                reason=probe.reason,
            )
            if probe.refused_code
            else probe.reason
        )
        return [
            *checks,
            fail(
                G,
                LOGIN,
                detail,
                Text("check smtp_username and smtp_password (the relay's account for this sender)"),
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
            RELAY,
            Text(
                "%(relay)s refuses this machine: %(code)s %(reason)s",
                relay=config.relay,
                code=probe.refused_code,
                reason=probe.reason,
            ),
            Text("ask the relay's administrator to let this machine send"),
        )
    return fail(G, RELAY, f"{config.relay} {probe.reason}", UNREACHABLE_FIX)


def _tls(config: SmtpConfig, probe: RelayProbe) -> Check:
    if config.tls == "tls":
        return ok(G, "TLS", Text("TLS from the first byte; the relay's certificate is valid"))
    if config.tls == "starttls":
        return ok(G, "TLS", Text("STARTTLS works; the relay's certificate is valid"))
    if _local(config.host):
        return ok(G, "TLS", Text("none: the relay runs on this machine"))
    clear = "smtp_tls = none: mail and the password cross the network in the clear"
    return warn(
        G,
        "TLS",
        Text(clear + " (the relay offers STARTTLS)") if probe.starttls_offered else Text(clear),
        Text('set smtp_tls = "starttls" (port 587) or "tls" (port 465)'),
    )


def _login(config: SmtpConfig) -> Check:
    if not config.username:
        return ok(G, LOGIN, Text("none configured: the relay must trust this machine's address"))
    return ok(G, LOGIN, Text("logged in as %(user)s", user=config.username))


def _senders(settings: Settings, probe: RelayProbe) -> Check:
    if probe.failed_at is Stage.sender:
        code = f"{probe.refused_code} " if probe.refused_code else ""
        return fail(
            G,
            SENDERS,
            Text(
                "the relay refuses MAIL FROM:<%(sender)s>: %(code)s%(reason)s",
                sender=probe.refused_sender,
                code=code,
                reason=probe.reason,
            ),
            Text(
                "let this login send as the From address and the bounce domain "
                "(%(domain)s) at the relay, or change from_address or bounce_domain",
                domain=settings.bounce_domain_in_force,
            ),
        )
    listed = " and ".join(probe.accepted)
    return ok(G, SENDERS, Text("the relay accepts %(senders)s (nothing sent)", senders=listed))


def _smtputf8(probe: RelayProbe) -> Check:
    if probe.smtputf8:
        return ok(G, "SMTPUTF8", Text("offered: addresses such as žiga@example.org can be sent to"))
    return ok(
        G,
        "SMTPUTF8",
        Text("not offered: residents whose address has letters such as č before the @ get no mail"),
    )
