"""DNS questions of the checks (dnspython, async), asked of the ``dns_resolver`` setting's
server or the system's resolver, each bounded by ``dns_timeout``."""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver

from publisher.config import Settings, dns_server


class LookupTrouble(Exception):
    """DNS did not answer (timeout, SERVFAIL, no server): nothing is known about the name."""


def make_resolver(settings: Settings) -> dns.asyncresolver.Resolver:
    server = dns_server(settings.dns_resolver) if settings.dns_resolver else None
    resolver = dns.asyncresolver.Resolver(configure=server is None)
    if server is not None:
        resolver.nameservers = [server[0]]
        resolver.port = server[1]
    resolver.timeout = settings.dns_timeout
    resolver.lifetime = settings.dns_timeout
    return resolver


async def _answer(resolver: dns.asyncresolver.Resolver, name: str, kind: str) -> list[object]:
    """The records of ``kind`` at ``name``; empty when there are none (or no such name)."""
    try:
        answer = await resolver.resolve(dns.name.from_text(name), kind, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise LookupTrouble(f"no answer for {name} {kind}: {exc.__class__.__name__}") from None
    except dns.exception.DNSException as exc:
        raise LookupTrouble(f"{name} {kind}: {exc}") from None
    return list(answer)


async def txt(resolver: dns.asyncresolver.Resolver, name: str) -> list[str]:
    """Each TXT record at ``name`` as one text: its strings joined, as SPF, DKIM and DMARC
    read them (a 2048-bit DKIM key is longer than one 255-byte string)."""
    records = await _answer(resolver, name, "TXT")
    return [b"".join(record.strings).decode("utf-8", "replace") for record in records]  # type: ignore[attr-defined]


async def addresses(
    resolver: dns.asyncresolver.Resolver, name: str, *, v6: bool | None = None
) -> list[str]:
    """A (``v6=False``), AAAA (``True``) or both (``None``) records of ``name``."""
    kinds = ["A", "AAAA"] if v6 is None else (["AAAA"] if v6 else ["A"])
    found: list[str] = []
    for kind in kinds:
        found += [record.to_text() for record in await _answer(resolver, name, kind)]  # type: ignore[attr-defined]
    return found


async def mail_exchangers(resolver: dns.asyncresolver.Resolver, name: str) -> list[tuple[int, str]]:
    """``(preference, host)`` of each MX record, best first; ``host`` without the final dot."""
    records = await _answer(resolver, name, "MX")
    found = [(r.preference, r.exchange.to_text(omit_final_dot=True)) for r in records]  # type: ignore[attr-defined]
    return sorted(found)
