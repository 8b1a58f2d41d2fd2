"""Rate limits: the subscribe form per client IP and per address, failed staff logins.

Built on the ``limits`` library (moving windows, so a burst at the turn of the hour does not
get twice the allowance). Where the counts live is the ``ratelimit_storage`` setting
(:func:`rate_limit_storage`): ``memory://`` by default, per server process, so a restart
forgets them and N processes each allow the full rate; ``redis://…`` keeps them in one Redis
that every web process shares, so the limit is the limit however many there are. The keys
name the site (:func:`key_prefix`), so sites sharing a Redis never share counts; a Redis that
is down is never a 500 (:class:`FailSafeStorage`). Failed staff logins are throttled the same
way (:class:`LoginThrottle`).

The client a limit counts is the address :mod:`publisher.web.clients` decides (behind a
reverse proxy, only one named in ``trusted_proxies`` may say who the client is).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, MovingWindowSupport, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from publisher.clock import timestamp
from publisher.config import Settings

KEY_PREFIX = "publisher"
"""Every key this app keeps in a shared storage starts so, then names the site
(:func:`key_prefix`; Redis: ``publisher:www.example.org:LIMITER/…``)."""
RECONNECT_EVERY = 10.0
"""Seconds between attempts to reach a shared storage that was down (meanwhile: in process)."""
REDIS_TIMEOUT = 0.5
"""Seconds to wait for Redis before counting in process instead: a form never hangs on it."""

log = logging.getLogger(__name__)


def key_prefix(settings: Settings) -> str:
    """The prefix of this site's keys: the site's address (host, port and path of the base
    URL), so that two sites sharing one Redis never share a count."""
    parts = urlsplit(settings.base_url)
    return f"{KEY_PREFIX}:{parts.netloc.lower()}{parts.path.rstrip('/')}"


def rate_limit_storage(settings: Settings) -> Storage:
    """A new storage for the ``ratelimit_storage`` setting; one per app, shared by its limits.

    A shared storage is wrapped in :class:`FailSafeStorage`: while it is unreachable, limits
    are counted in this process (with a warning in the log) instead of refusing the form."""
    url = settings.ratelimit_storage
    if url.startswith("memory://"):
        return MemoryStorage()
    shared = storage_from_string(
        url,
        key_prefix=key_prefix(settings),
        wrap_exceptions=True,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
    )
    parts = urlsplit(url)
    return FailSafeStorage(shared, f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}")


class FailSafeStorage(Storage, MovingWindowSupport):
    """A shared storage that falls back to this process's memory while it is unreachable.

    A rate limit protects the forms; a Redis that is down must not take the forms down with
    it (a 500 on the subscribe page). Each call goes to the shared storage; when it fails,
    the call and those after it are counted in memory, and the shared storage is tried again
    every :data:`RECONNECT_EVERY` seconds until it answers. Both changes are logged at
    WARNING. While down, each process counts alone, as with ``memory://``.
    """

    STORAGE_SCHEME = None

    def __init__(self, shared: Storage, name: str) -> None:
        super().__init__()
        self._shared = shared
        self._memory = MemoryStorage()
        self._name = name
        self._retry_at: float | None = None
        """When to try the shared storage again; None while it answers."""

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()

    @property
    def counting_in_memory(self) -> bool:
        return self._retry_at is not None

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self._retry_at is not None and timestamp() < self._retry_at:
            return getattr(self._memory, method)(*args, **kwargs)
        try:
            result = getattr(self._shared, method)(*args, **kwargs)
        except StorageError as exc:
            if self._retry_at is None:
                log.warning(
                    "rate-limit storage %s unreachable (%s): counting limits in this process "
                    "until it is back",
                    self._name,
                    type(exc.storage_error).__name__,
                )
            self._retry_at = timestamp() + RECONNECT_EVERY
            return getattr(self._memory, method)(*args, **kwargs)
        if self._retry_at is not None:
            log.warning("rate-limit storage %s is back: counting limits there again", self._name)
            self._retry_at = None
        return result

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return cast(int, self._call("incr", key, expiry, amount=amount))

    def get(self, key: str) -> int:
        return cast(int, self._call("get", key))

    def get_expiry(self, key: str) -> float:
        return cast(float, self._call("get_expiry", key))

    def check(self) -> bool:
        return cast(bool, self._call("check"))

    def reset(self) -> int | None:
        return cast("int | None", self._call("reset"))

    def clear(self, key: str) -> None:
        self._call("clear", key)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return cast(bool, self._call("acquire_entry", key, limit, expiry, amount=amount))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        return cast("tuple[float, int]", self._call("get_moving_window", key, limit, expiry))


@dataclass(frozen=True)
class RateDecision:
    """Whether one more submission is within the limits, and if not, when it will be."""

    allowed: bool
    retry_after: int = 0
    """Seconds until the next attempt may succeed (for the ``Retry-After`` header)."""


class Allowance:
    """One kind of attempt, limited per key by ``limits`` such as ``"20/hour; 100/day"``."""

    def __init__(self, namespace: str, limits: str, storage: Storage | None = None) -> None:
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())
        self._items: list[RateLimitItem] = parse_many(limits)
        self._namespace = namespace

    def hit(self, key: str) -> RateDecision:
        """Count one attempt; refused, with the wait, once any limit is used up."""
        for item in self._items:
            if not self._limiter.hit(item, self._namespace, key):
                reset = self._limiter.get_window_stats(item, self._namespace, key).reset_time
                return RateDecision(False, max(1, math.ceil(reset - timestamp())))
        return RateDecision(True)

    def wait(self, key: str) -> int:
        """Seconds until one more attempt would be allowed (0: now), without counting one."""
        waits = [
            math.ceil(self._limiter.get_window_stats(item, self._namespace, key).reset_time)
            - timestamp()
            for item in self._items
            if not self._limiter.test(item, self._namespace, key)
        ]
        return max(1, math.ceil(max(waits))) if waits else 0

    def has_room(self, key: str) -> bool:
        """Whether one more attempt would be allowed, without counting one."""
        return all(self._limiter.test(item, self._namespace, key) for item in self._items)


class SubscribeLimits:
    """``check_ip`` for every submission, ``check_address`` once the address is valid,
    ``check_mail`` for every confirmation mail a client's submissions would send."""

    def __init__(
        self,
        per_ip: str,
        per_address: str,
        storage: Storage | None = None,
        *,
        mails_per_ip: str = "10/hour;30/day",
    ) -> None:
        storage = storage or MemoryStorage()
        self._per_ip = Allowance("subscribe-ip", per_ip, storage)
        self._per_address = Allowance("subscribe-address", per_address, storage)
        self._mails_per_ip = Allowance("confirm-mail-ip", mails_per_ip, storage)

    def check_ip(self, ip: str) -> RateDecision:
        return self._per_ip.hit(ip)

    def check_address(self, address_key: str) -> RateDecision:
        return self._per_address.hit(address_key)

    def check_mail(self, ip: str) -> RateDecision:
        """One confirmation mail on this client's behalf: a script typing many strangers'
        addresses into the form gets a few mails out of the town hall, not hundreds."""
        return self._mails_per_ip.hit(ip)


@dataclass(frozen=True)
class Throttled:
    """A login attempt refused before its password is looked at: which count is used up."""

    reason: str
    retry_after: int


class LoginThrottle:
    """Failed staff logins, counted so that guessing is slow and nobody can lock staff out.

    A lock on the account after a few wrong passwords (what this replaced) lets anyone keep
    any staff member out, and answering it differently from an unknown address tells which
    addresses have accounts. Instead, as OWASP's "device cookie" scheme and the big
    providers do, failures are counted:

    - per client address, over all accounts: one machine trying many accounts;
    - per client address and typed account: one machine guessing one password;
    - per typed account, over every client that is not a known device of it: many machines
      (a botnet) guessing one password;
    - per known device: a browser that signed in to the account before carries a signed
      device cookie (:mod:`publisher.web.admin.auth`); its attempts are judged by its own
      count only, so the staff member's own browser still gets in with the right password
      whatever an attacker did from elsewhere, even from the same office network.

    Counts are keyed by the address as typed (normalised), whether or not it has an account,
    so a throttled unknown address looks exactly like a throttled staff member. Only failures
    count: ``check`` before looking at the password, ``failed`` after a wrong one.
    """

    def __init__(
        self,
        per_client: str = "20/10 minutes",
        per_client_account: str = "5/15 minutes",
        per_account: str = "30/hour",
        per_device: str = "10/15 minutes",
        storage: Storage | None = None,
    ) -> None:
        storage = storage or MemoryStorage()
        self._client = Allowance("login-client", per_client, storage)
        self._client_account = Allowance("login-client-account", per_client_account, storage)
        self._account = Allowance("login-account", per_account, storage)
        self._device = Allowance("login-device", per_device, storage)

    def _counts(
        self, client: str, account: str, device: str | None
    ) -> list[tuple[str, Allowance, str]]:
        if device is not None:
            return [("device", self._device, device)]
        return [
            ("client", self._client, client),
            ("client and account", self._client_account, f"{client} {account}"),
            ("account", self._account, account),
        ]

    def check(self, client: str, account: str, device: str | None = None) -> Throttled | None:
        """Why this attempt must wait, or None; ``device`` is the id of a known device of
        ``account`` (already checked by the caller), else None."""
        for reason, allowance, key in self._counts(client, account, device):
            wait = allowance.wait(key)
            if wait:
                return Throttled(reason, wait)
        return None

    def failed(self, client: str, account: str, device: str | None = None) -> None:
        for _, allowance, key in self._counts(client, account, device):
            allowance.hit(key)
