"""Subscriptions: who is on which list and why, and the rules for joining and leaving.

Every change to a subscription goes through here, so the rules hold for the CLI, the web
pages and imports alike:

- one address is one subscriber, however it is typed;
- staff (a staff add or an import) can never put back an address that is suppressed or that
  unsubscribed from the list: the attempt is refused with the reason, never applied silently;
  only the owner can come back, by subscribing and confirming again;
- a confirmed subscription always has a consent record saying when, through what and why.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col, select

from publisher.addresses import (
    InvalidAddress,
    address_key,
    parse_address,
)
from publisher.clock import utcnow
from publisher.i18n import Language
from publisher.subscribers.errors import RegisterError
from publisher.subscribers.lists import get_list, topics_by_slug
from publisher.subscribers.models import (
    Consent,
    MailingList,
    Source,
    Subscriber,
    SubscriberTopic,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from publisher.subscribers.suppression import suppress, suppression_of

STAFF_SOURCES = frozenset({Source.staff, Source.import_})
"""Sources where someone other than the address's owner acts: they may not override refusals."""


class SubscriberNotFound(RegisterError, LookupError):
    """No such subscriber (never there, or erased): links for them lead nowhere."""


class SubscriptionRefused(RegisterError):
    """Staff tried to (re)subscribe someone who left; only the owner may come back."""


class SuppressedAddress(SubscriptionRefused):
    def __init__(self, email: str, reason: SuppressionReason) -> None:
        self.reason = reason
        super().__init__(
            f"{email} is suppressed ({reason}); it cannot be added by staff or import, "
            "only by its owner subscribing and confirming again"
        )


class AddOutcome(enum.StrEnum):
    added = "added"
    updated = "updated"
    unchanged = "unchanged"


@dataclass(frozen=True)
class AddResult:
    outcome: AddOutcome
    subscriber: Subscriber
    subscription: Subscription


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    """The subscriber with this address, however it is typed."""
    try:
        key = parse_address(email).key
    except InvalidAddress:
        key = address_key(email)
    return session.exec(select(Subscriber).where(Subscriber.email_key == key)).first()


def get_subscriber(session: Session, email: str) -> Subscriber:
    subscriber = find_subscriber(session, email)
    if subscriber is None:
        raise SubscriberNotFound(f"no subscriber {email.strip()!r}")
    return subscriber


def get_subscriber_by_id(session: Session, subscriber_id: int) -> Subscriber:
    """For signed links: an erased subscriber is simply not found."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise SubscriberNotFound("this subscriber no longer exists")
    return subscriber


def subscriber_id_for_link(session: Session, token_uid: str) -> int | None:
    """The id of the subscriber a link names by its random ``token_uid``; ``None`` if gone."""
    found = session.exec(select(Subscriber.id).where(Subscriber.token_uid == token_uid)).first()
    return found


def subscribe(
    session: Session,
    email: str,
    list_slug: str,
    *,
    source: Source,
    name: str | None = None,
    language: Language | str | None = None,
    topics: Sequence[str] = (),
    confirmed: bool = False,
    ip_address: str | None = None,
    wording_version: str = "",
    evidence: str = "",
) -> AddResult:
    """Put an address on a list: ``pending`` until it confirms, or ``confirmed`` at once when
    staff vouch for it (``confirmed=True``), which records the consent with its source.

    Refused (:class:`SuppressedAddress`, :class:`SubscriptionRefused`) when staff or an import
    try to bring back an address that is suppressed or that unsubscribed from this list.
    """
    address = parse_address(email)
    if name is not None:
        name = clean_name(name)
    mailing_list = get_list(session, list_slug)
    chosen = topics_by_slug(session, topics)
    staff = source in STAFF_SOURCES
    suppression = suppression_of(session, address.hash)
    if suppression is not None and staff:
        raise SuppressedAddress(address.email, suppression.reason)
    subscriber = session.exec(select(Subscriber).where(Subscriber.email_key == address.key)).first()
    subscription = None
    if subscriber is not None:
        subscription = session.exec(
            select(Subscription).where(
                Subscription.subscriber_id == subscriber.id,
                Subscription.list_id == mailing_list.id,
            )
        ).first()
    if (
        subscription is not None
        and subscription.status == SubscriptionStatus.unsubscribed
        and staff
    ):
        when = (
            subscription.unsubscribed_at.date().isoformat() if subscription.unsubscribed_at else ""
        )
        raise SubscriptionRefused(
            f"{address.email} unsubscribed from {mailing_list.slug} {when}".rstrip()
            + "; only its owner can subscribe again"
        )

    now = utcnow()
    changed = False
    if subscriber is None:
        subscriber = Subscriber(
            email=address.email,
            email_key=address.key,
            address_hash=address.hash,
            name=name or "",
            language=Language(language or mailing_list.language),
            created_at=now,
            updated_at=now,
        )
        session.add(subscriber)
        session.flush()
    else:
        if name and name != subscriber.name:
            subscriber.name, changed = name, True
        if language and Language(language) != subscriber.language:
            subscriber.language, changed = Language(language), True
        if changed:
            subscriber.updated_at = now
            session.add(subscriber)
    assert subscriber.id is not None
    changed |= add_topic_choices(session, subscriber.id, [t.id for t in chosen if t.id])

    target = SubscriptionStatus.confirmed if confirmed else SubscriptionStatus.pending
    outcome = AddOutcome.updated if changed else AddOutcome.unchanged
    # The owner rejoining a list they left gives a new consent, not the first one's (staff,
    # who may not bring anyone back, were refused above).
    came_back = subscription is not None and subscription.status == SubscriptionStatus.unsubscribed
    if subscription is None:
        subscription = Subscription(
            subscriber_id=subscriber.id, list_id=mailing_list.id, source=source, status=target
        )
        outcome = AddOutcome.added
    elif subscription.status == SubscriptionStatus.unsubscribed:
        subscription.status, subscription.source = target, source
        subscription.unsubscribed_at = None
        outcome = AddOutcome.updated
    elif subscription.status == SubscriptionStatus.pending and confirmed:
        subscription.status = target
        outcome = AddOutcome.updated
    if outcome != AddOutcome.unchanged:
        subscription.updated_at = now
    if target == SubscriptionStatus.confirmed and (subscription.confirmed_at is None or came_back):
        subscription.confirmed_at = now
        session.add(
            Consent(
                subscriber_id=subscriber.id,
                list_id=mailing_list.id,
                given_at=now,
                source=source,
                ip_address=ip_address,
                wording_version=wording_version,
                evidence=evidence,
            )
        )
        if suppression is not None:  # the owner came back (staff were refused above)
            session.delete(suppression)
    session.add(subscription)
    session.flush()
    return AddResult(outcome, subscriber, subscription)


def clean_name(name: str) -> str:
    """A display name on one line: a line break could forge mail headers downstream."""
    if "\r" in name or "\n" in name:
        raise RegisterError("the name contains a line break")
    name = " ".join(name.split())
    if len(name) > 200:
        raise RegisterError("the name is longer than 200 characters")
    return name


def add_topic_choices(session: Session, subscriber_id: int, topic_ids: Sequence[int]) -> bool:
    """Add topics to a subscriber's choices (never removes any); True if one was new."""
    if not topic_ids:
        return False
    have = set(
        session.exec(
            select(SubscriberTopic.topic_id).where(SubscriberTopic.subscriber_id == subscriber_id)
        )
    )
    new = [tid for tid in dict.fromkeys(topic_ids) if tid not in have]
    for tid in new:
        session.add(SubscriberTopic(subscriber_id=subscriber_id, topic_id=tid))
    return bool(new)


def set_topic_choices(session: Session, subscriber_id: int, slugs: Sequence[str]) -> None:
    """Replace a subscriber's topic choices (the preferences page); none means every topic."""
    chosen = topics_by_slug(session, slugs)
    session.execute(
        delete(SubscriberTopic).where(col(SubscriberTopic.subscriber_id) == subscriber_id)
    )
    for topic in chosen:
        session.add(SubscriberTopic(subscriber_id=subscriber_id, topic_id=topic.id))
    session.flush()


def confirm_subscription(
    session: Session,
    subscriber_id: int,
    list_id: int,
    *,
    ip_address: str | None = None,
    wording_version: str = "",
) -> Subscription:
    """The owner followed a confirmation link: confirm, record consent, lift any suppression.

    Confirming twice is harmless. A link for an erased subscriber raises
    :class:`SubscriberNotFound`; one for a subscription ended since raises
    :class:`SubscriptionRefused` (they must subscribe again).
    """
    subscriber = get_subscriber_by_id(session, subscriber_id)
    subscription = session.exec(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber_id, Subscription.list_id == list_id
        )
    ).first()
    if subscription is None:
        raise SubscriberNotFound("this subscription no longer exists")
    if subscription.status == SubscriptionStatus.confirmed:
        return subscription
    if subscription.status == SubscriptionStatus.unsubscribed:
        raise SubscriptionRefused("this subscription was cancelled since; subscribe again")
    now = utcnow()
    subscription.status = SubscriptionStatus.confirmed
    subscription.confirmed_at = subscription.updated_at = now
    session.add(subscription)
    session.add(
        Consent(
            subscriber_id=subscriber_id,
            list_id=list_id,
            given_at=now,
            source=subscription.source,
            ip_address=ip_address,
            wording_version=wording_version,
            evidence="confirmed through the emailed link",
        )
    )
    suppression = suppression_of(session, subscriber.address_hash)
    if suppression is not None:
        session.delete(suppression)
    session.flush()
    return subscription


ACTIVE = (SubscriptionStatus.pending, SubscriptionStatus.confirmed)


@dataclass(frozen=True)
class UnsubscribeTarget:
    """What an unsubscribe link covers, and how things stand, for the page it opens."""

    language: str
    """The subscriber's own."""
    list_name: str
    """The list the link names; "" for a link that covers every list."""
    list_gone: bool
    """The link names a list that no longer exists: nothing more is sent from it."""
    left: bool
    """Nothing left to leave: the address is already off what the link covers."""
    suppressed: SuppressionReason | None
    """Why nothing at all is sent to the address, if so."""


def unsubscribe_target(
    session: Session, subscriber_id: int, list_id: int | None = None
) -> UnsubscribeTarget:
    """What the link for (subscriber, list or every list) would end; :class:`SubscriberNotFound`
    after erasure. The page asks only when there is something to end."""
    subscriber = get_subscriber_by_id(session, subscriber_id)
    mailing_list = session.get(MailingList, list_id) if list_id is not None else None
    active = select(Subscription.id).where(
        Subscription.subscriber_id == subscriber_id, col(Subscription.status).in_(ACTIVE)
    )
    if list_id is not None:
        active = active.where(Subscription.list_id == list_id)
    suppression = suppression_of(session, subscriber.address_hash)
    return UnsubscribeTarget(
        language=str(subscriber.language),
        list_name=mailing_list.name_for(str(subscriber.language))
        if mailing_list is not None
        else "",
        list_gone=list_id is not None and mailing_list is None,
        left=session.exec(active).first() is None,
        suppressed=None if suppression is None else SuppressionReason(suppression.reason),
    )


def unsubscribe(session: Session, email: str, list_slug: str | None = None) -> list[str]:
    """Take an address off one list, or off every list (which also suppresses it).

    Returns the slugs of the lists it left; an address already off them returns ``[]``.
    """
    subscriber = get_subscriber(session, email)
    list_id = get_list(session, list_slug).id if list_slug else None
    assert subscriber.id is not None
    return unsubscribe_subscriber(session, subscriber.id, list_id)


def unsubscribe_subscriber(
    session: Session, subscriber_id: int, list_id: int | None = None
) -> list[str]:
    """As :func:`unsubscribe`, by id (one-click links carry ids, never addresses)."""
    subscriber = get_subscriber_by_id(session, subscriber_id)
    query = (
        select(Subscription, MailingList.slug)
        .join(MailingList, col(MailingList.id) == col(Subscription.list_id))
        .where(Subscription.subscriber_id == subscriber_id)
        .where(Subscription.status != SubscriptionStatus.unsubscribed)
    )
    if list_id is not None:
        query = query.where(Subscription.list_id == list_id)
    now = utcnow()
    left = []
    for subscription, slug in session.exec(query).all():
        subscription.status = SubscriptionStatus.unsubscribed
        subscription.unsubscribed_at = subscription.updated_at = now
        session.add(subscription)
        left.append(slug)
    if list_id is None:
        suppress(session, subscriber.email, SuppressionReason.unsubscribed)
    session.flush()
    return sorted(left)
