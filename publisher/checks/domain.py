"""The From domain in DNS, as receivers will judge a digest: SPF for the relay's addresses,
the DKIM key, DMARC's policy and alignment, the bounce domain's MX, and free mailboxes.

Organisational domains (DMARC's relaxed alignment, its fallback record) are found simply: the
last two labels of a name, or three under a known two-label public suffix such as ``co.uk``
(:data:`TWO_LABEL_SUFFIXES`). That is right for the town halls' own domains (``.si``, ``.eu``
and the like have no registrations below a second level); the full Public Suffix List would
be needed only for unusual ones.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import re
from email.utils import parseaddr

import dns.asyncresolver
from cryptography.hazmat.primitives import serialization

from publisher.checks.resolver import LookupTrouble, addresses, mail_exchangers, make_resolver, txt
from publisher.checks.results import Check, Group, fail, ok, warn
from publisher.checks.spf import SpfResult, check_host
from publisher.config import Settings
from publisher.mail.dkim import DkimKeyError, DkimSigner, dkim_signer

G = Group.dns

FREE_MAIL = re.compile(
    r"(gmail\.com|googlemail\.com|yahoo\.[a-z.]+|ymail\.com|outlook\.[a-z.]+|hotmail\.[a-z.]+"
    r"|live\.[a-z.]+|msn\.com|aol\.[a-z.]+|icloud\.com|me\.com|mac\.com|gmx\.[a-z.]+|web\.de"
    r"|proton\.me|protonmail\.com|yandex\.[a-z.]+|mail\.ru|zoho\.com"
    r"|siol\.net|t-2\.net|amis\.net|telemach\.net|triera\.net|email\.si|volja\.net|guest\.arnes\.si)"
)
"""Mailbox providers for everyone: a bulk sender may not use their domains in From (Gmail's
and Yahoo's rules of 2024; they publish ``p=reject`` or refuse such mail)."""

TWO_LABEL_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "gov.au",
        "co.nz", "co.jp", "com.br", "co.za", "com.tr", "com.hr", "co.at", "or.at", "gv.at",
    }
)  # fmt: skip


def from_domain(settings: Settings) -> str:
    """The From address's domain, lower-case ASCII (what DNS and DMARC speak of)."""
    domain = parseaddr(settings.from_address)[1].rpartition("@")[2].lower()
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def organisational_domain(domain: str) -> str:
    labels = domain.lower().rstrip(".").split(".")
    keep = 3 if ".".join(labels[-2:]) in TWO_LABEL_SUFFIXES else 2
    return ".".join(labels[-keep:])


async def domain_checks(settings: Settings) -> list[Check]:
    resolver = make_resolver(settings)
    domain = from_domain(settings)
    bounce = settings.bounce_domain_in_force
    envelope_domains = list(dict.fromkeys([domain, bounce]))
    ips, ips_problem = await sending_addresses(settings, resolver)
    found = await asyncio.gather(
        *(_spf(resolver, name, ips, ips_problem, bounce, domain) for name in envelope_domains),
        _dkim(settings, resolver),
        _dmarc(settings, resolver, domain, bounce),
        _mx(resolver, bounce),
    )
    checks = [_free_mail(domain), *found]
    return checks


async def sending_addresses(
    settings: Settings, resolver: dns.asyncresolver.Resolver
) -> tuple[list[str], str]:
    """The addresses SPF must allow: the setting, else the relay host's A/AAAA records; and
    why none could be found."""
    if settings.check_sending_ips:
        return list(settings.check_sending_ips), ""
    host = settings.smtp_host
    try:
        found = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            found = await addresses(resolver, host)
        except LookupTrouble as exc:
            return [], str(exc)
    if not found:
        return [], f"the relay host {host} has no A or AAAA record"
    if all(_internal(ip) for ip in found):
        return [], f"the relay {host} is at a local address ({', '.join(found)})"
    return found, ""


INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "fc00::/7",
    )
)
"""Where a relay is reached but not where receivers see its mail come from."""


def _internal(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return any(address in net for net in INTERNAL_NETWORKS if net.version == address.version)


def _free_mail(domain: str) -> Check:
    if FREE_MAIL.fullmatch(domain):
        return warn(
            G,
            "From domain",
            f"{domain} is a free mailbox provider: Gmail and Yahoo refuse bulk mail from such "
            "addresses (since 2024), and nobody but the provider can publish SPF or DKIM for it",
            "send from an address of the town hall's own domain (from_address)",
        )
    return ok(G, "From domain", f"{domain} is the town hall's own domain")


async def _spf(
    resolver: dns.asyncresolver.Resolver,
    domain: str,
    ips: list[str],
    ips_problem: str,
    bounce: str,
    sender: str,
) -> Check:
    name = f"SPF {domain}"
    role = (
        "envelope sender of every mail"
        if domain == bounce == sender
        else "Return-Path of the digests"
        if domain == bounce
        else "sender of confirmations and test copies"
    )
    if not ips:
        return warn(
            G,
            name,
            f"not evaluated: {ips_problem}",
            "set check_sending_ips to the public addresses the relay sends from",
        )
    results: list[tuple[str, SpfResult]] = [
        (ip, await check_host(resolver, ip, domain)) for ip in ips
    ]
    record = next((result.record for _, result in results if result.record), None)
    shown = f" ({record})" if record else ""
    wrong = [(ip, result) for ip, result in results if result.result != "pass"]
    if not wrong:
        return ok(G, name, f"pass for {', '.join(ips)} as the {role}{shown}")
    ip, result = wrong[0]
    reason = f": {result.reason}" if result.reason else ""
    include = " ".join(f"ip{ipaddress.ip_address(a).version}:{a}" for a in ips)
    if result.result == "none":
        fix = (
            f'publish a TXT record at {domain}: "v=spf1 {include} -all" (or the relay\'s include:)'
        )
    elif result.result in ("temperror", "unchecked"):
        return warn(
            G, name, f"{result.result} for {ip}{shown}{reason}", "run the check again later"
        )
    elif result.result == "permerror":
        fix = f"correct the SPF record of {domain}, so that it allows {include}"
    else:
        fix = f"add {include} (or the relay's include:) to the SPF record of {domain}"
    return fail(G, name, f"{result.result} for {ip} as the {role}{shown}{reason}", fix)


def _tags(record: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), "".join(value.split()))
    return tags


def _same_key(published: str, signer: DkimSigner) -> bool:
    if published == signer.public_key:
        return True
    try:
        key = serialization.load_der_public_key(base64.b64decode(published, validate=True))
        mine = signer.key.public_key()
        return key.public_bytes(  # type: ignore[union-attr]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) == mine.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, binascii.Error, TypeError):
        return False


async def _dkim(settings: Settings, resolver: dns.asyncresolver.Resolver) -> Check:
    try:
        signer = dkim_signer(settings)
    except DkimKeyError as exc:
        return fail(G, "DKIM", str(exc), "give dkim_key_path a readable RSA (PEM) or Ed25519 key")
    if signer is None:
        return warn(
            G,
            "DKIM",
            "publisher does not sign (dkim_domain, dkim_selector, dkim_key_path unset)",
            "set the three DKIM settings, unless the relay signs with d= of the From domain",
        )
    name = signer.record_name
    publish = f'publish a TXT record at {name}: "{signer.dns_record}"'
    try:
        records = [r for r in await txt(resolver, name) if "p=" in r]
    except LookupTrouble as exc:
        return warn(G, "DKIM", f"{name}: {exc}", "run the check again later")
    if not records:
        return fail(G, "DKIM", f"no DKIM key is published at {name}", publish)
    published = _tags(records[0]).get("p", "")
    if not published:
        return fail(G, "DKIM", f"the key at {name} is revoked (empty p=)", publish)
    if not _same_key(published, signer):
        return fail(
            G,
            "DKIM",
            f"the key published at {name} is not the pair of dkim_key_path: every signature "
            "would fail",
            f"replace the record: {publish}",
        )
    return ok(G, "DKIM", f"the key at {name} matches dkim_key_path ({signer.algorithm})")


async def _dmarc_record(
    resolver: dns.asyncresolver.Resolver, domain: str
) -> tuple[str, str] | None:
    """(where, record): the From domain's own, else its organisational domain's."""
    for name in dict.fromkeys([domain, organisational_domain(domain)]):
        records = [r for r in await txt(resolver, f"_dmarc.{name}") if r.startswith("v=DMARC1")]
        if records:
            return name, records[0]
    return None


def _aligned(one: str, other: str, mode: str) -> bool:
    if mode == "s":
        return one == other
    return organisational_domain(one) == organisational_domain(other)


async def _dmarc(
    settings: Settings, resolver: dns.asyncresolver.Resolver, domain: str, bounce: str
) -> Check:
    try:
        found = await _dmarc_record(resolver, domain)
    except LookupTrouble as exc:
        return warn(G, "DMARC", str(exc), "run the check again later")
    if found is None:
        return fail(
            G,
            "DMARC",
            f"no DMARC record at _dmarc.{domain} or _dmarc.{organisational_domain(domain)}",
            f"publish a TXT record at _dmarc.{organisational_domain(domain)}: "
            f'"v=DMARC1; p=quarantine; rua=mailto:dmarc@{organisational_domain(domain)}"',
        )
    where, record = found
    tags = _tags(record)
    policy = tags.get("sp", tags.get("p", "")) if where != domain else tags.get("p", "")
    problems: list[str] = []
    dkim_d = settings.dkim_domain.lower() if settings.dkim_domain else None
    dkim_ok = dkim_d is not None and _aligned(domain, dkim_d, tags.get("adkim", "r"))
    spf_ok = _aligned(domain, bounce, tags.get("aspf", "r"))
    if dkim_d is None:
        problems.append("DKIM: publisher does not sign")
    elif not dkim_ok:
        problems.append(f"DKIM d={dkim_d} does not align with {domain}")
    if not spf_ok:
        problems.append(f"the Return-Path domain {bounce} does not align with {domain}")
    shown = f"_dmarc.{where}: {record}"
    if not dkim_ok and not spf_ok:
        return fail(
            G,
            "DMARC",
            f"{shown}; neither aligns: {'; '.join(problems)}",
            f"set dkim_domain to {domain} (or a domain under {organisational_domain(domain)}) "
            f"and bounce_domain to one under {organisational_domain(domain)}",
        )
    if policy not in ("quarantine", "reject"):
        return warn(
            G,
            "DMARC",
            f"{shown}; policy {policy or 'missing'}: receivers do nothing about forged mail",
            "once the reports look right, raise the policy to p=quarantine",
        )
    if problems:
        return warn(
            G,
            "DMARC",
            f"{shown}; only one aligns: {'; '.join(problems)}",
            "align both, so that DMARC passes after a forwarder broke one of them",
        )
    return ok(G, "DMARC", f"{shown}; From, DKIM d= and Return-Path align (policy {policy})")


async def _mx(resolver: dns.asyncresolver.Resolver, bounce: str) -> Check:
    name = f"MX {bounce}"
    try:
        found = await mail_exchangers(resolver, bounce)
    except LookupTrouble as exc:
        return warn(G, name, str(exc), "run the check again later")
    hosts = [host for _, host in found if host not in ("", ".")]
    fix = (
        f"publish an MX record for {bounce} that points at the mailbox `publisher bounces` "
        "reads (or the server `bounces listen` runs on)"
    )
    if not hosts:
        return fail(G, name, f"{bounce} has no MX: bounces of the digests come back nowhere", fix)
    listed = ", ".join(f"{host} ({preference})" for preference, host in found)
    return ok(G, name, f"bounces come back to {listed}")
