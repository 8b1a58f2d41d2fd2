"""Suppression: addresses that must never be mailed again, kept as a hash of the address.

An address is suppressed when its owner leaves every list, is erased, or (from delivery) when
mail to it is refused for good (a hard bounce) or reported as spam (a complaint). Its owner
confirming a subscription again lifts any of them; staff may lift only what the mail system
decided (:func:`lift_suppression`, for a bounce or complaint that was a false positive), never
what the resident decided (leaving every list, erasure).
"""

from __future__ import annotations

from sqlmodel import Session

from publisher import audit
from publisher.addresses import InvalidAddress, address_hash, parse_address
from publisher.audit import AuditAction, record
from publisher.clock import utcnow
from publisher.subscribers.errors import RegisterError
from publisher.subscribers.models import (
    Suppression,
    SuppressionReason,
)

LIFTABLE = frozenset(
    {SuppressionReason.hard_bounce, SuppressionReason.soft_bounce, SuppressionReason.complaint}
)
"""What staff may lift: the mail system's verdicts. The resident's own (unsubscribed,
erased) only the resident can undo, by subscribing and confirming again."""
LIFT_REASON_MAX_LENGTH = 500


class NotSuppressed(RegisterError, LookupError):
    """There is no suppression of this address to lift."""


class SuppressionKept(RegisterError):
    """The suppression is the resident's own decision; staff cannot lift it."""


class LiftReasonMissing(RegisterError):
    """A lift needs a reason: the audit log must say why the address is mailed again."""


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


def lift_suppression(
    session: Session, email: str, *, why: str, actor: str, client: str | None = None
) -> SuppressionReason:
    """Mail this address again after a bounce or complaint that was a false positive.

    Recorded in the audit log (``suppression_lifted``: who, from where, the address, what it
    was suppressed for and why it is lifted) in the caller's transaction. Raises
    :class:`NotSuppressed`, :class:`SuppressionKept` for a suppression the resident asked for,
    :class:`LiftReasonMissing` without a reason, or ``InvalidAddress``. Returns what the
    suppression was for.
    """
    reason = " ".join(why.split())[:LIFT_REASON_MAX_LENGTH]
    try:
        address = parse_address(email)
    except InvalidAddress as exc:
        raise NotSuppressed(f"{email.strip()!r} is not an address: {exc}") from None
    suppression = suppression_of(session, address.hash)
    if suppression is None:
        raise NotSuppressed(f"{address.email} is not suppressed: there is nothing to lift")
    was = SuppressionReason(suppression.reason)
    if was not in LIFTABLE:
        raise SuppressionKept(
            f"{address.email} is suppressed because its owner asked ({was}): only they can undo "
            "it, by subscribing again and confirming"
        )
    if not reason:
        raise LiftReasonMissing("say why the suppression is lifted (it goes into the audit log)")
    session.delete(suppression)
    record(
        session,
        AuditAction.suppression_lifted,
        actor=actor,
        client=client,
        subject=address.email,
        detail=audit.detail_line(audit.SUPPRESSION_LIFTED, was=was, why=reason),
    )
    return was
