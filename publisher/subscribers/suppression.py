"""Suppression: addresses that must never be mailed again, kept as a hash of the address.

An address is suppressed when its owner leaves every list, is erased, or (from delivery) when
mail to it is refused for good (a hard bounce); only its owner confirming a subscription again
lifts it.
"""

from __future__ import annotations

from sqlmodel import Session

from publisher.addresses import (
    address_hash,
)
from publisher.clock import utcnow
from publisher.subscribers.models import (
    Suppression,
    SuppressionReason,
)


def suppression_of(session: Session, address_hash: str) -> Suppression | None:
    return session.get(Suppression, address_hash)


def suppress(session: Session, email: str, reason: SuppressionReason) -> Suppression:
    """Never mail this address again; an existing suppression keeps its first reason."""
    digest = address_hash(email)
    existing = suppression_of(session, digest)
    if existing is not None:
        return existing
    suppression = Suppression(address_hash=digest, reason=reason, created_at=utcnow())
    session.add(suppression)
    session.flush()
    return suppression
