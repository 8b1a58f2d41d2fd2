"""Who receives a send: the one query the sender relies on.

Confirmed on at least one of the lists, not suppressed, and — when topics are given — having
chosen one of them or made no choice at all (no choice means every topic). One row per
person however many of the lists they are on, in keyed pages (``id > last ORDER BY id
LIMIT n``), so 100,000 recipients are never held at once and each page costs the same.
Indexes used: ``ix_subscription_list_id_status_subscriber_id`` or the unique
(subscriber, list) pair, the suppression primary key, and the subscriber-topic key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

from sqlalchemy import Select, and_, exists, not_, or_, select
from sqlmodel import Session

from publisher.subscribers.lists import get_list, topics_by_slug
from publisher.subscribers.models import (
    Subscriber,
    SubscriberTopic,
    Subscription,
    SubscriptionStatus,
    Suppression,
)

PAGE_SIZE = 1000


class Recipient(NamedTuple):
    subscriber_id: int
    email: str
    name: str
    language: str


def recipients_query(
    session: Session, list_ids: Sequence[int], topic_ids: Sequence[int] | None = None
) -> Select[tuple[int, str, str, str]]:
    """SELECT subscriber id, email, name, language of everyone who receives a send.

    The one definition of "who gets mail" (see the module docstring): the keyed pages below
    and the sender's set-based freeze of an edition's recipients both use it.
    """
    subscriber = Subscriber.__table__  # type: ignore[attr-defined]
    subscription = Subscription.__table__  # type: ignore[attr-defined]
    chosen = SubscriberTopic.__table__  # type: ignore[attr-defined]
    suppression = Suppression.__table__  # type: ignore[attr-defined]

    conditions = [
        exists().where(
            and_(
                subscription.c.subscriber_id == subscriber.c.id,
                subscription.c.list_id.in_(list(list_ids)),
                subscription.c.status == SubscriptionStatus.confirmed.value,
            )
        ),
        not_(exists().where(suppression.c.address_hash == subscriber.c.address_hash)),
    ]
    if topic_ids:
        conditions.append(
            or_(
                exists().where(
                    and_(
                        chosen.c.subscriber_id == subscriber.c.id,
                        chosen.c.topic_id.in_(list(topic_ids)),
                    )
                ),
                not_(exists().where(chosen.c.subscriber_id == subscriber.c.id)),
            )
        )
    return select(
        subscriber.c.id, subscriber.c.email, subscriber.c.name, subscriber.c.language
    ).where(*conditions)


def recipient_pages(
    session: Session,
    list_slugs: Sequence[str],
    topic_slugs: Sequence[str] | None = None,
    batch: int = PAGE_SIZE,
) -> Iterator[list[Recipient]]:
    """Pages of recipients in subscriber-id order; see the module docstring for who counts."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    list_ids = [get_list(session, slug).id for slug in dict.fromkeys(list_slugs)]
    topic_ids = (
        [topic.id for topic in topics_by_slug(session, topic_slugs)] if topic_slugs else None
    )
    subscriber = Subscriber.__table__  # type: ignore[attr-defined]
    query = (
        recipients_query(session, list_ids, topic_ids)  # type: ignore[arg-type]
        .order_by(subscriber.c.id)
        .limit(batch)
    )
    last_id = 0
    while True:
        rows = session.execute(query.where(subscriber.c.id > last_id)).all()
        if not rows:
            return
        yield [Recipient(*row) for row in rows]
        if len(rows) < batch:
            return
        last_id = rows[-1][0]


def recipients(
    session: Session,
    list_slugs: Sequence[str],
    topic_slugs: Sequence[str] | None = None,
    batch: int = PAGE_SIZE,
) -> Iterator[Recipient]:
    """The same recipients one by one, still fetched a page at a time."""
    for page in recipient_pages(session, list_slugs, topic_slugs, batch):
        yield from page
