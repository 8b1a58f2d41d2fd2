"""Downloading a partner's feed without letting the URL reach inside the town hall's network.

``publisher articles import https://…`` runs on a server that can see internal machines (the
database, the mail relay, a cloud's metadata service at 169.254.169.254). A URL typed by
staff, or a redirect from a partner's site, must not make it fetch from them. So every hop is
resolved here, each address the name resolves to is checked (loopback, private, link-local,
reserved and multicast addresses are refused unless a setting allows them), and the
connection goes to the very address that was checked, with the original Host header and TLS
server name: a name that resolves to a public address for the check and to an internal one
for the connection (DNS rebinding) has nothing to swap. Redirects are followed here, each
checked again, at most ``max_redirects`` of them. The whole download has one deadline, so a
server trickling a byte at a time cannot hold the import for longer than that.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from publisher import __version__

if TYPE_CHECKING:
    from publisher.config import Settings

USER_AGENT = f"publisher/{__version__}"
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FeedFetchError(Exception):
    """A feed URL that could not be downloaded, with the reason in words."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


@dataclass(frozen=True)
class FetchPolicy:
    """How far a feed download may go: time, size, redirects, and which networks."""

    deadline: float = 30.0
    """Seconds for the whole download, redirects included."""
    max_bytes: int = 20_000_000
    max_redirects: int = 5
    allow_private_networks: bool = False
    """Loopback, private and link-local addresses too (a feed on the intranet)."""
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    """``host:port`` pairs fetched even at a private address (one intranet server)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            deadline=settings.import_fetch_deadline,
            allow_private_networks=settings.import_allow_private_networks,
            allowed_hosts=frozenset(host.lower() for host in settings.import_allowed_hosts),
        )


def fetch_feed(url: str, policy: FetchPolicy | None = None, *, what: str = "feed") -> bytes:
    """Download a feed (or, with ``what="photo"``, an article's ``image_url``), refusing error
    pages, internal addresses, slow servers and anything larger than the policy's
    ``max_bytes``; ``what`` names the thing in the reasons."""
    return asyncio.run(_fetch(url, policy or FetchPolicy(), what))


async def _fetch(url: str, policy: FetchPolicy, what: str) -> bytes:
    try:
        async with asyncio.timeout(policy.deadline):
            return await _follow(url, policy, what)
    except TimeoutError:
        raise FeedFetchError(
            url, f"the {what} did not arrive within {policy.deadline:g} seconds"
        ) from None


async def _follow(url: str, policy: FetchPolicy, what: str) -> bytes:
    headers = {"User-Agent": USER_AGENT}
    async with httpx.AsyncClient(follow_redirects=False, timeout=None, trust_env=False) as client:
        current = _parse_url(url, url)
        for _hop in range(policy.max_redirects + 1):
            address = await _checked_address(url, current, policy)
            target = current.copy_with(host=address)
            request_headers = {**headers, "Host": _host_header(current)}
            try:
                async with client.stream(
                    "GET",
                    target,
                    headers=request_headers,
                    extensions={"sni_hostname": current.host},
                ) as response:
                    if response.status_code in REDIRECTS and "Location" in response.headers:
                        current = _parse_url(url, str(current.join(response.headers["Location"])))
                        continue
                    return await _body(url, response, policy.max_bytes, what)
            except httpx.HTTPError as exc:
                raise FeedFetchError(
                    url, f"could not download the {what}: {_in_words(exc)}"
                ) from None
    raise FeedFetchError(url, f"more than {policy.max_redirects} redirects")


def _parse_url(original: str, value: str) -> httpx.URL:
    try:
        parsed = httpx.URL(value)
    except httpx.InvalidURL:
        raise FeedFetchError(original, f"not a web address: {value}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FeedFetchError(original, f"only http and https addresses can be imported: {value}")
    return parsed


def _host_header(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host if url.port is None else f"{host}:{url.port}"


async def _checked_address(original: str, url: httpx.URL, policy: FetchPolicy) -> str:
    """The address to connect to for ``url``, once every address its name has is allowed."""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            url.host, port, type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        raise FeedFetchError(original, f"the name {url.host} could not be resolved") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise FeedFetchError(original, f"the name {url.host} could not be resolved")
    allowed = policy.allow_private_networks or f"{url.host.lower()}:{port}" in policy.allowed_hosts
    if not allowed:
        for address in addresses:
            kind = _internal_kind(ipaddress.ip_address(address.split("%")[0]))
            if kind is not None:
                resolved = "" if address == url.host else f" ({address})"
                raise FeedFetchError(
                    original,
                    f"refused: {url.host} is {kind} address{resolved}; imports are only "
                    "fetched from the public internet (see import_allow_private_networks)",
                )
    return addresses[0]


def _internal_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What kind of non-public address this is, in words, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback"
    if address.is_link_local:
        return "a link-local"
    if address.is_multicast:
        return "a multicast"
    if address.is_private:
        return "a private"
    if not address.is_global:
        return "a reserved"
    return None


async def _body(url: str, response: httpx.Response, max_bytes: int, what: str) -> bytes:
    if response.status_code >= 400:
        raise FeedFetchError(
            url, f"the server answered HTTP {response.status_code} {response.reason_phrase}"
        )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FeedFetchError(url, _too_large(max_bytes, what))
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FeedFetchError(url, _too_large(max_bytes, what))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int, what: str) -> str:
    return f"the {what} is larger than {max_bytes / 1_000_000:g} MB"


def _in_words(exc: httpx.HTTPError) -> str:
    """What went wrong, without the library's exception text."""
    if isinstance(exc, httpx.ConnectError):
        return "the server could not be reached"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server's answer was not valid HTTP"
    if isinstance(exc, httpx.ReadError):
        return "the connection broke off"
    return "the download failed"
