"""SPF (RFC 7208) evaluated for one address and domain, with the checks' own resolver.

pyspf would do this, but it asks dnspython's process-wide default resolver, not the one the
``dns_resolver`` setting names. What the checks need is small: the mechanisms ``all``,
``ip4``, ``ip6``, ``a``, ``mx``, ``include``, ``exists`` and the ``redirect`` modifier, within
the limit of 10 lookups. Macros (``%{i}``) are not expanded: a record that uses them is
reported as not checked; ``ptr`` (deprecated) never matches here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.asyncresolver

from publisher.checks.resolver import LookupTrouble, addresses, mail_exchangers, txt

MAX_LOOKUPS = 10
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}


@dataclass(frozen=True)
class SpfResult:
    result: str
    """pass, fail, softfail, neutral, none, permerror, temperror, or unchecked (macros)."""
    record: str | None
    """The domain's own SPF record, as published."""
    reason: str = ""


class _Stop(Exception):
    def __init__(self, result: str, reason: str) -> None:
        super().__init__(reason)
        self.result, self.reason = result, reason


async def spf_record(resolver: dns.asyncresolver.Resolver, domain: str) -> str | None:
    try:
        records = [r for r in await txt(resolver, domain) if r.lower().startswith("v=spf1")]
    except LookupTrouble as exc:
        raise _Stop("temperror", str(exc)) from None
    records = [r for r in records if r[6:7] in ("", " ")]
    if len(records) > 1:
        raise _Stop("permerror", f"{domain} publishes {len(records)} SPF records; keep one")
    return records[0] if records else None


async def check_host(resolver: dns.asyncresolver.Resolver, ip: str, domain: str) -> SpfResult:
    """What a receiver concludes about mail from ``ip`` whose envelope sender is at ``domain``."""
    address = ipaddress.ip_address(ip)
    try:
        record = await spf_record(resolver, domain)
    except _Stop as stop:
        return SpfResult(stop.result, None, stop.reason)
    if record is None:
        return SpfResult("none", None, f"{domain} publishes no SPF record")
    lookups = [0]
    try:
        result = await _evaluate(resolver, address, domain, record, lookups)
    except _Stop as stop:
        return SpfResult(stop.result, record, stop.reason)
    return SpfResult(result, record)


async def _evaluate(
    resolver: dns.asyncresolver.Resolver,
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
    domain: str,
    record: str,
    lookups: list[int],
) -> str:
    redirect: str | None = None
    for term in record.split()[1:]:
        name, _, value = term.partition("=")
        if value and ":" not in name and "/" not in name:
            if name.lower() == "redirect":
                redirect = value
            continue  # exp= and unknown modifiers change nothing here
        qualifier = QUALIFIERS.get(term[0])
        mechanism = term[1:] if qualifier else term
        if await _matches(resolver, ip, domain, mechanism, lookups):
            return qualifier or "pass"
    if redirect is not None:
        target = _domain_spec(redirect)
        _count(lookups)
        inner = await spf_record(resolver, target)
        if inner is None:
            raise _Stop("permerror", f"redirect={target} has no SPF record")
        return await _evaluate(resolver, ip, target, inner, lookups)
    return "neutral"


def _count(lookups: list[int]) -> None:
    lookups[0] += 1
    if lookups[0] > MAX_LOOKUPS:
        raise _Stop("permerror", f"more than {MAX_LOOKUPS} DNS lookups (RFC 7208 4.6.4)")


def _domain_spec(value: str) -> str:
    if "%" in value:
        raise _Stop("unchecked", f"{value} uses SPF macros, which this check does not expand")
    return value.rstrip(".")


def _split_cidr(argument: str, default: str) -> tuple[str, int | None, int | None]:
    """``domain/24//64`` → (domain, 24, 64); the domain is ``default`` when not given."""
    target, _, cidr = argument.partition("/")
    four, _, six = cidr.partition("/")
    six = six.lstrip("/")
    return (
        _domain_spec(target) if target else default,
        int(four) if four else None,
        int(six) if six else None,
    )


def _within(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
    found: list[str],
    four: int | None,
    six: int | None,
) -> bool:
    prefix = (
        (six if six is not None else 128) if ip.version == 6 else (four if four is not None else 32)
    )
    return any(ip in ipaddress.ip_network(f"{other}/{prefix}", strict=False) for other in found)


async def _matches(
    resolver: dns.asyncresolver.Resolver,
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
    domain: str,
    mechanism: str,
    lookups: list[int],
) -> bool:
    kind, _, argument = mechanism.partition(":")
    kind = kind.lower()
    if "/" in kind:  # a/24, mx/24: no domain, a prefix
        kind, _, cidr = kind.partition("/")
        argument = "/" + cidr
    try:
        if kind == "all":
            return True
        if kind in ("ip4", "ip6"):
            network = ipaddress.ip_network(argument, strict=False)
            return network.version == ip.version and ip in network
        if kind == "a":
            _count(lookups)
            target, four, six = _split_cidr(argument, domain)
            return _within(ip, await addresses(resolver, target, v6=ip.version == 6), four, six)
        if kind == "mx":
            _count(lookups)
            target, four, six = _split_cidr(argument, domain)
            for _, host in (await mail_exchangers(resolver, target))[:10]:
                if _within(ip, await addresses(resolver, host, v6=ip.version == 6), four, six):
                    return True
            return False
        if kind == "include":
            _count(lookups)
            target = _domain_spec(argument)
            inner = await spf_record(resolver, target)
            if inner is None:
                raise _Stop("permerror", f"include:{target} has no SPF record")
            return await _evaluate(resolver, ip, target, inner, lookups) == "pass"
        if kind == "exists":
            _count(lookups)
            return bool(await addresses(resolver, _domain_spec(argument), v6=False))
        if kind == "ptr":
            _count(lookups)
            return False
    except LookupTrouble as exc:
        raise _Stop("temperror", str(exc)) from None
    except ValueError:
        raise _Stop("permerror", f"{mechanism!r} is not a valid mechanism") from None
    raise _Stop("permerror", f"unknown mechanism {mechanism!r}")
