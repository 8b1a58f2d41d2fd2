"""The one clock: every rule that depends on the time reads it.

Periods, schedules, the expiry of tokens and leases, retries and purges all ask this module
for "now", never ``datetime.now`` or ``time.time`` of their own, so that a test moves the
whole program's time at once (with ``time-machine``) instead of sleeping until a moment comes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Now, aware, in UTC: what the store keeps."""
    return datetime.now(UTC)


def local_now(tz: ZoneInfo) -> datetime:
    """Now on the municipality's wall clock (``Europe/Ljubljana`` by default)."""
    return utcnow().astimezone(tz)


def timestamp() -> float:
    """Now as seconds since the epoch (what signed tokens carry)."""
    return utcnow().timestamp()
