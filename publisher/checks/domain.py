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
from publisher.checks.results import Check, Group, Text, fail, ok, warn
from publisher.checks.spf import SpfResult, check_host
from publisher.config import Settings
from publisher.mail.dkim import DkimKeyError, DkimSigner, dkim_signer

G = Group.dns
AGAIN_LATER = Text("run the check again later")
FROM_DOMAIN = Text("From domain")

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
) -> tuple[list[str], str | Text]:
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
        return [], Text("the relay host %(host)s has no A or AAAA record", host=host)
    if all(_internal(ip) for ip in found):
        return [], Text(
            "the relay %(host)s is at a local address (%(addresses)s)",
            host=host,
            addresses=", ".join(found),
        )
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
            FROM_DOMAIN,
            Text(
                "%(domain)s is a free mailbox provider: Gmail and Yahoo refuse bulk mail from "
                "such addresses (since 2024), and nobody but the provider can publish SPF or "
                "DKIM for it",
                domain=domain,
            ),
            Text("send from an address of the town hall's own domain (from_address)"),
        )
    return ok(G, FROM_DOMAIN, Text("%(domain)s is the town hall's own domain", domain=domain))


async def _spf(
    resolver: dns.asyncresolver.Resolver,
    domain: str,
    ips: list[str],
    ips_problem: str | Text,
    bounce: str,
    sender: str,
) -> Check:
    name = f"SPF {domain}"
    role = (
        Text("envelope sender of every mail")
        if domain == bounce == sender
        else Text("Return-Path of the digests")
        if domain == bounce
        else Text("sender of confirmations and test copies")
    )
    if not ips:
        return warn(
            G,
            name,
            Text("not evaluated: %(problem)s", problem=ips_problem),
            Text("set check_sending_ips to the public addresses the relay sends from"),
        )
    results: list[tuple[str, SpfResult]] = [
        (ip, await check_host(resolver, ip, domain)) for ip in ips
    ]
    record = next((result.record for _, result in results if result.record), None)
    shown = f" ({record})" if record else ""
    wrong = [(ip, result) for ip, result in results if result.result != "pass"]
    if not wrong:
        return ok(
            G,
            name,
            Text(
                "pass for %(ips)s as the %(role)s%(record)s",
                ips=", ".join(ips),
                role=role,
                record=shown,
            ),
        )
    ip, result = wrong[0]
    reason = f": {result.reason}" if result.reason else ""
    include = " ".join(f"ip{ipaddress.ip_address(a).version}:{a}" for a in ips)
    if result.result == "none":
        fix = Text(
            'publish a TXT record at %(domain)s: "v=spf1 %(include)s -all" (or the relay\'s '
            "include:)",
            domain=domain,
            include=include,
        )
    elif result.result in ("temperror", "unchecked"):
        return warn(G, name, f"{result.result} for {ip}{shown}{reason}", AGAIN_LATER)
    elif result.result == "permerror":
        fix = Text(
            "correct the SPF record of %(domain)s, so that it allows %(include)s",
            domain=domain,
            include=include,
        )
    else:
        fix = Text(
            "add %(include)s (or the relay's include:) to the SPF record of %(domain)s",
            domain=domain,
            include=include,
        )
    found = Text(
        "%(result)s for %(ip)s as the %(role)s%(record)s%(reason)s",
        result=result.result,
        ip=ip,
        role=role,
        record=shown,
        reason=reason,
    )
    return fail(G, name, found, fix)


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
        return fail(
            G, "DKIM", str(exc), Text("give dkim_key_path a readable RSA (PEM) or Ed25519 key")
        )
    if signer is None:
        return warn(
            G,
            "DKIM",
            Text("publisher does not sign (dkim_domain, dkim_selector, dkim_key_path unset)"),
            Text("set the three DKIM settings, unless the relay signs with d= of the From domain"),
        )
    name = signer.record_name
    publish = Text(
        'publish a TXT record at %(name)s: "%(record)s"', name=name, record=signer.dns_record
    )
    try:
        records = [r for r in await txt(resolver, name) if "p=" in r]
    except LookupTrouble as exc:
        return warn(G, "DKIM", f"{name}: {exc}", AGAIN_LATER)
    if not records:
        return fail(G, "DKIM", Text("no DKIM key is published at %(name)s", name=name), publish)
    published = _tags(records[0]).get("p", "")
    if not published:
        return fail(
            G, "DKIM", Text("the key at %(name)s is revoked (empty p=)", name=name), publish
        )
    if not _same_key(published, signer):
        return fail(
            G,
            "DKIM",
            Text(
                "the key published at %(name)s is not the pair of dkim_key_path: every "
                "signature would fail",
                name=name,
            ),
            Text("replace the record: %(publish)s", publish=publish),
        )
    return ok(
        G,
        "DKIM",
        Text(
            "the key at %(name)s matches dkim_key_path (%(algorithm)s)",
            name=name,
            algorithm=signer.algorithm,
        ),
    )


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
        return warn(G, "DMARC", str(exc), AGAIN_LATER)
    if found is None:
        organisation = organisational_domain(domain)
        return fail(
            G,
            "DMARC",
            Text(
                "no DMARC record at _dmarc.%(domain)s or _dmarc.%(organisation)s",
                domain=domain,
                organisation=organisation,
            ),
            Text(
                "publish a TXT record at _dmarc.%(organisation)s: "
                '"v=DMARC1; p=quarantine; rua=mailto:dmarc@%(organisation)s"',
                organisation=organisation,
            ),
        )
    where, record = found
    tags = _tags(record)
    policy = tags.get("sp", tags.get("p", "")) if where != domain else tags.get("p", "")
    problems: list[Text] = []
    dkim_d = settings.dkim_domain.lower() if settings.dkim_domain else None
    dkim_ok = dkim_d is not None and _aligned(domain, dkim_d, tags.get("adkim", "r"))
    spf_ok = _aligned(domain, bounce, tags.get("aspf", "r"))
    if dkim_d is None:
        problems.append(Text("DKIM: publisher does not sign"))
    elif not dkim_ok:
        problems.append(
            Text("DKIM d=%(dkim)s does not align with %(domain)s", dkim=dkim_d, domain=domain)
        )
    if not spf_ok:
        problems.append(
            Text(
                "the Return-Path domain %(bounce)s does not align with %(domain)s",
                bounce=bounce,
                domain=domain,
            )
        )
    shown = f"_dmarc.{where}: {record}"
    if not dkim_ok and not spf_ok:
        return fail(
            G,
            "DMARC",
            Text("%(record)s; neither aligns: %(problems)s", record=shown, problems=problems),
            Text(
                "set dkim_domain to %(domain)s (or a domain under %(organisation)s) "
                "and bounce_domain to one under %(organisation)s",
                domain=domain,
                organisation=organisational_domain(domain),
            ),
        )
    if policy not in ("quarantine", "reject"):
        return warn(
            G,
            "DMARC",
            Text(
                "%(record)s; policy %(policy)s: receivers do nothing about forged mail",
                record=shown,
                policy=policy or Text("missing"),
            ),
            Text("once the reports look right, raise the policy to p=quarantine"),
        )
    if problems:
        return warn(
            G,
            "DMARC",
            Text("%(record)s; only one aligns: %(problems)s", record=shown, problems=problems),
            Text("align both, so that DMARC passes after a forwarder broke one of them"),
        )
    return ok(
        G,
        "DMARC",
        Text(
            "%(record)s; From, DKIM d= and Return-Path align (policy %(policy)s)",
            record=shown,
            policy=policy,
        ),
    )


async def _mx(resolver: dns.asyncresolver.Resolver, bounce: str) -> Check:
    name = f"MX {bounce}"
    try:
        found = await mail_exchangers(resolver, bounce)
    except LookupTrouble as exc:
        return warn(G, name, str(exc), AGAIN_LATER)
    hosts = [host for _, host in found if host not in ("", ".")]
    fix = Text(
        "publish an MX record for %(domain)s that points at the mailbox `publisher bounces` "
        "reads (or the server `bounces listen` runs on)",
        domain=bounce,
    )
    if not hosts:
        return fail(
            G,
            name,
            Text("%(domain)s has no MX: bounces of the digests come back nowhere", domain=bounce),
            fix,
        )
    listed = ", ".join(f"{host} ({preference})" for preference, host in found)
    return ok(G, name, Text("bounces come back to %(hosts)s", hosts=listed))
