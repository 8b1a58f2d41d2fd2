"""Who the client is: the one place that decides the address every rate limit, consent record
and login throttle reads.

The client is whoever opened the connection, unless that peer is one of the reverse proxies
named in ``trusted_proxies``: only then is its ``X-Forwarded-For`` believed, read from the
right (the hop the proxy itself added) past any further trusted proxies, so that a value the
client typed at the left end is never taken. A client that reaches the server directly (from
loopback too: uvicorn's own default trusts 127.0.0.1, which is why ``serve`` turns uvicorn's
proxy handling off and leaves it to this middleware) can send whatever header it likes: it is
ignored.

:class:`ClientAddressMiddleware` writes the decision into the ASGI scope's ``client``, so
``request.client`` is the resident's address everywhere; :func:`client_address` is how code
reads it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_ADDRESS_LENGTH = 45
"""The longest textual IPv6 address (with an embedded IPv4 part); anything longer is not one."""


def trusted_networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    """The ``trusted_proxies`` setting as networks (a bare address is a /32 or /128)."""
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def in_networks(address: str, trusted: Sequence[Network]) -> bool:
    """Whether ``address`` (IPv4-mapped IPv6 as IPv4) lies in one of the networks."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in trusted)


def decide_client(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: ``peer``, or, when ``peer`` is a trusted proxy, the rightmost
    address in ``X-Forwarded-For`` that is not itself a trusted proxy."""
    if peer is None:
        return "unknown"
    if not trusted or not forwarded_for or not in_networks(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return peer  # a garbled chain: believe only the connection
        if not in_networks(address, trusted):
            return address
    return str(ipaddress.ip_address(hops[0])) if hops else peer


class ClientAddressMiddleware:
    """Sets ``scope["client"]`` (and, from a trusted proxy's ``X-Forwarded-Proto``,
    ``scope["scheme"]``) once per request, by :func:`decide_client`."""

    def __init__(self, app: ASGIApp, trusted_proxies: Iterable[str] = ()) -> None:
        self.app = app
        self.trusted = trusted_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            peer = client[0] if client else None
            if self.trusted and peer is not None and in_networks(peer, self.trusted):
                headers = scope.get("headers") or []
                forwarded = b",".join(v for k, v in headers if k == b"x-forwarded-for")
                address = decide_client(peer, forwarded.decode("latin-1"), self.trusted)
                if address != peer:
                    scope["client"] = (address, 0)
                protos = [v for k, v in headers if k == b"x-forwarded-proto"]
                proto = protos[-1].decode("latin-1").strip() if protos else ""
                if proto in ("http", "https"):
                    scope["scheme"] = proto
        await self.app(scope, receive, send)


def client_address(connection: HTTPConnection) -> str | None:
    """The client's address as :class:`ClientAddressMiddleware` decided it (``None`` when the
    server was not told, as under a test client without one)."""
    client = connection.client
    return client.host[:MAX_ADDRESS_LENGTH] if client and client.host else None
