"""The one bounce handler: every way a bounce or complaint arrives ends here.

``bounces listen`` (SMTP/LMTP), ``bounces process`` (files, mbox, Maildir), a mailbox reader
and the providers' webhooks hand over either the raw message (:func:`handle_message`) or what
a provider already parsed (:func:`handle_event`); both find the copy the report is about and
apply :mod:`publisher.delivery.bounces.policy`. The copy is found by the VERP address the
report was sent to (signed, so nobody can name another's copy), else by the Message-ID of the
original it quotes. Anything that names no copy of ours is reported as ``not_ours`` and left
alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import Session

from publisher.addresses import address_hash
from publisher.config import Settings
from publisher.delivery.bounces.parse import Reading, Shape, parse_message
from publisher.delivery.bounces.policy import Copy, Disposition, Handled, classify, record
from publisher.delivery.models import BounceKind, Delivery, DeliveryStatus
from publisher.delivery.outbox import delivery_of_address
from publisher.subscribers.models import Subscriber
from publisher.tokens import Tokens


def handle_message(
    session: Session,
    settings: Settings,
    raw: bytes,
    *,
    source: str,
    recipients: Sequence[str] = (),
    tokens: Tokens | None = None,
) -> Handled:
    """Read one raw message (a DSN, a feedback report, anything) and act on it.

    ``recipients`` are the envelope recipients when known (the listener's RCPT TO), the
    surest VERP address; without them the headers are read. ``source`` says how it came
    (``smtp``, ``lmtp``, ``file``, ``imap``). The caller commits; nothing is changed for a
    message that is ``not_ours``.
    """
    tokens = tokens or Tokens.from_settings(settings)
    if len(raw) > settings.bounce_max_bytes:
        return Handled(
            Disposition.not_ours,
            f"larger than bounce_max_bytes ({settings.bounce_max_bytes:,} bytes): not read",
        )
    reading = parse_message(raw, recipients)
    copy = _copy_of(session, tokens, reading)
    if reading.shape is Shape.other:
        return Handled(Disposition.not_ours, f"not a bounce: {reading.detail}")
    if copy is None:
        return Handled(
            Disposition.not_ours,
            f"{reading.detail}, but it names no copy of ours (no VERP address nor Message-ID)",
        )
    found = {"address": copy.address, "delivery_id": copy.delivery_id, "job_id": copy.job_id}
    if reading.shape is Shape.auto_reply:
        return Handled(Disposition.ignored, f"ignored: {reading.detail}", **found)  # type: ignore[arg-type]
    kind = classify(settings, reading.action, reading.status)
    if kind is None:
        return Handled(
            Disposition.ignored,
            f"ignored: {reading.detail} (not a failure)",
            action=reading.action,
            status=reading.status,
            **found,  # type: ignore[arg-type]
        )
    return record(
        session,
        settings,
        copy,
        kind=kind,
        action=reading.action,
        status=reading.status,
        diagnostic=reading.diagnostic,
        source=source,
        raw=raw,
        fingerprint=_fingerprint(reading.fingerprint, copy),
    )


def handle_event(
    session: Session,
    settings: Settings,
    *,
    source: str,
    kind: BounceKind | None = None,
    address: str | None = None,
    delivery_id: int | None = None,
    message_id: str | None = None,
    action: str = "",
    status: str = "",
    diagnostic: str = "",
    raw: bytes = b"",
    event_id: str | None = None,
) -> Handled:
    """A bounce or complaint someone else already parsed (a provider's webhook).

    Name the copy by ``delivery_id`` (from a VERP address), ``message_id`` (ours, without
    angle brackets) or ``address`` (its latest copy); give the ``kind``, or the DSN's
    ``action`` and ``status`` to classify as a DSN would be. ``event_id`` (the provider's own
    id) makes a repeated delivery of the same event count once; without it, ``raw`` does.
    """
    copy = _copy_for_event(session, delivery_id, message_id, address)
    if copy is None:
        return Handled(Disposition.not_ours, "it names no copy of ours nor anyone in the register")
    chosen = kind if kind is not None else classify(settings, action, status)
    if chosen is None:
        return Handled(
            Disposition.ignored,
            f"ignored: {action or 'no action'} {status} is not a failure".strip(),
            address=copy.address,
            delivery_id=copy.delivery_id,
            job_id=copy.job_id,
        )
    basis = f"event:{source}:{event_id}" if event_id else "raw:" + hashlib.sha256(raw).hexdigest()
    return record(
        session,
        settings,
        copy,
        kind=chosen,
        action=action or ("complaint" if chosen == BounceKind.complaint else ""),
        status=status,
        diagnostic=diagnostic,
        source=source,
        raw=raw,
        fingerprint=_fingerprint(hashlib.sha256(basis.encode()).hexdigest(), copy),
    )


def _fingerprint(report: str, copy: Copy) -> str:
    """One report about one copy: the same report about another copy is another row."""
    basis = f"{report}:{copy.delivery_id}:{copy.subscriber_id}"
    return hashlib.sha256(basis.encode()).hexdigest()


def _copy_of(session: Session, tokens: Tokens, reading: Reading) -> Copy | None:
    for address in reading.addresses:
        delivery_id = delivery_of_address(address, tokens)
        if delivery_id is not None:
            row = session.get(Delivery, delivery_id)
            if row is not None:
                return _copy(row)
    for message_id in reading.message_ids:
        row = _delivery_by_message_id(session, message_id)
        if row is not None:
            return _copy(row)
    return None


def _copy_for_event(
    session: Session, delivery_id: int | None, message_id: str | None, address: str | None
) -> Copy | None:
    if delivery_id is not None:
        row = session.get(Delivery, delivery_id)
        if row is not None:
            return _copy(row)
    if message_id:
        row = _delivery_by_message_id(session, message_id.strip().strip("<>"))
        if row is not None:
            return _copy(row)
    if not address:
        return None
    subscriber = session.execute(
        select(Subscriber).where(Subscriber.address_hash == address_hash(address))  # type: ignore[arg-type]
    ).scalar_one_or_none()
    if subscriber is None or subscriber.id is None:
        return None
    latest = session.execute(
        select(Delivery)
        .where(
            Delivery.subscriber_id == subscriber.id,  # type: ignore[arg-type]
            Delivery.status == DeliveryStatus.sent.value,  # type: ignore[arg-type]
        )
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())  # type: ignore[union-attr]
        .limit(1)
    ).scalar_one_or_none()
    if latest is not None:
        return _copy(latest)
    return Copy(subscriber.id, subscriber.email, None, None)


def _delivery_by_message_id(session: Session, message_id: str) -> Delivery | None:
    if not message_id or len(message_id) > 255:
        return None
    return session.execute(
        select(Delivery).where(Delivery.message_id == message_id).limit(1)  # type: ignore[arg-type]
    ).scalar_one_or_none()


def _copy(row: Delivery) -> Copy:
    return Copy(row.subscriber_id, row.email, row.id, row.job_id)
