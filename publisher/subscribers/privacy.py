"""The person's GDPR rights over the register: access (all held about them) and erasure.

Erasure deletes the person and keeps only the SHA-256 of the address, as a suppression, so an
erased address is never mailed again and nothing else about them remains.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from publisher.subscribers.models import (
    Consent,
    MailingList,
    Subscriber,
    SubscriberTopic,
    Subscription,
    SuppressionReason,
)
from publisher.subscribers.subscriptions import get_subscriber
from publisher.subscribers.suppression import suppress, suppression_of
from publisher.topics import Topic


def erase(session: Session, email: str) -> str:
    """GDPR erasure: delete the person and all about them, keep only the suppression hash.

    Returns the hash kept. Signed links for the person stop working: their id is gone and
    is never given to anyone else.
    """
    subscriber = get_subscriber(session, email)
    suppression = suppress(session, subscriber.email, SuppressionReason.erased)
    assert subscriber.id is not None
    session.expunge(subscriber)
    delete_subscribers(session, [subscriber.id])
    return suppression.address_hash


def delete_subscribers(session: Session, subscriber_ids: Collection[int]) -> int:
    """The one way people leave the register: each with their consents, topic choices and
    subscriptions (their copies sent and bounces go with them, by the database's cascade).

    Suppressions are not touched: they are kept by the address's hash, not the person, and
    are what keeps an address from being mailed again. Erasure adds one first; the purge of
    requests never confirmed adds none. Returns how many consent records went.
    """
    if not subscriber_ids:
        return 0
    ids = sorted(subscriber_ids)
    consents = session.execute(delete(Consent).where(col(Consent.subscriber_id).in_(ids)))
    for table in (SubscriberTopic, Subscription):
        session.execute(delete(table).where(col(table.subscriber_id).in_(ids)))  # type: ignore[attr-defined]
    session.execute(delete(Subscriber).where(col(Subscriber.id).in_(ids)))
    session.flush()
    return int(consents.rowcount or 0)


def delete_subscriptions(session: Session, subscription_ids: Collection[int]) -> int:
    """Take subscriptions off the register with the consent records of their lists, for a
    person who stays on other lists (a request never confirmed, past its time). Returns how
    many consent records went."""
    if not subscription_ids:
        return 0
    pairs = session.execute(
        select(Subscription.subscriber_id, Subscription.list_id).where(
            col(Subscription.id).in_(sorted(subscription_ids))
        )
    ).all()
    gone = 0
    for subscriber_id, list_id in pairs:
        result = session.execute(
            delete(Consent).where(
                col(Consent.subscriber_id) == subscriber_id, col(Consent.list_id) == list_id
            )
        )
        gone += int(result.rowcount or 0)
    session.execute(delete(Subscription).where(col(Subscription.id).in_(sorted(subscription_ids))))
    session.flush()
    return gone


def _time(value: datetime | None, tz: ZoneInfo | None) -> str | None:
    if value is None:
        return None
    return (value.astimezone(tz) if tz else value).isoformat()


def subscriber_data(session: Session, email: str, tz: ZoneInfo | None = None) -> dict[str, Any]:
    """Everything held about one person (GDPR access), as plain JSON-ready data."""
    subscriber = get_subscriber(session, email)
    subscriptions = session.exec(
        select(Subscription, MailingList)
        .join(MailingList, col(MailingList.id) == col(Subscription.list_id))
        .where(Subscription.subscriber_id == subscriber.id)
        .order_by(col(MailingList.slug))
    ).all()
    slugs = dict(session.exec(select(MailingList.id, MailingList.slug)).all())
    topics = session.exec(
        select(Topic.slug)
        .join(SubscriberTopic, col(SubscriberTopic.topic_id) == col(Topic.id))
        .where(SubscriberTopic.subscriber_id == subscriber.id)
        .order_by(col(Topic.slug))
    ).all()
    consents = session.exec(
        select(Consent)
        .where(Consent.subscriber_id == subscriber.id)
        .order_by(col(Consent.given_at), col(Consent.id))
    ).all()
    suppression = suppression_of(session, subscriber.address_hash)
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "language": str(subscriber.language),
        "created_at": _time(subscriber.created_at, tz),
        "updated_at": _time(subscriber.updated_at, tz),
        "topics": list(topics),
        "subscriptions": [
            {
                "list": mailing_list.slug,
                "list_name": mailing_list.name,
                "status": str(sub.status),
                "source": str(sub.source),
                "subscribed_at": _time(sub.created_at, tz),
                "confirmed_at": _time(sub.confirmed_at, tz),
                "unsubscribed_at": _time(sub.unsubscribed_at, tz),
            }
            for sub, mailing_list in subscriptions
        ],
        "consents": [
            {
                "list": slugs.get(consent.list_id) if consent.list_id else None,
                "given_at": _time(consent.given_at, tz),
                "source": str(consent.source),
                "ip_address": consent.ip_address,
                "wording_version": consent.wording_version,
                "evidence": consent.evidence,
            }
            for consent in consents
        ],
        "suppression": None
        if suppression is None
        else {
            "reason": str(suppression.reason),
            "since": _time(suppression.created_at, tz),
        },
    }
