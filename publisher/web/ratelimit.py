"""Rate limits for the subscribe form: per client IP address and per email address.

Built on the ``limits`` library (moving windows, so a burst at the turn of the hour does not
get twice the allowance). The counts live **in memory, per server process**: a restart forgets
them and two processes each allow the full rate. That is enough for what they are for, slowing
down a script that floods the form or someone's inbox (the register also mails a pending
address at most once a day whatever the limits say); a deployment with many processes can
keep the same limits in Redis by giving :class:`SubscribeLimits` another ``limits`` storage.

Behind a reverse proxy every request comes from the proxy's address: run uvicorn with
``--proxy-headers --forwarded-allow-ips=<proxy>`` so ``request.client`` is the resident's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class RateDecision:
    """Whether one more submission is within the limits, and if not, when it will be."""

    allowed: bool
    retry_after: int = 0
    """Seconds until the next attempt may succeed (for the ``Retry-After`` header)."""


class SubscribeLimits:
    """``check_ip`` for every submission, ``check_address`` once the address is valid."""

    def __init__(self, per_ip: str, per_address: str, storage: Storage | None = None) -> None:
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())
        self._per_ip: list[RateLimitItem] = parse_many(per_ip)
        self._per_address: list[RateLimitItem] = parse_many(per_address)

    def check_ip(self, ip: str) -> RateDecision:
        return self._hit(self._per_ip, "subscribe-ip", ip)

    def check_address(self, address_key: str) -> RateDecision:
        return self._hit(self._per_address, "subscribe-address", address_key)

    def _hit(self, items: list[RateLimitItem], namespace: str, key: str) -> RateDecision:
        for item in items:
            if not self._limiter.hit(item, namespace, key):
                reset = self._limiter.get_window_stats(item, namespace, key).reset_time
                return RateDecision(False, max(1, math.ceil(reset - time.time())))
        return RateDecision(True)
