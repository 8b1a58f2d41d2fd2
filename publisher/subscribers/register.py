"""The register's rules: who is on which list, why, and who must never be mailed again.

Every change to a subscription goes through here, so the rules hold for the CLI, the web
pages and imports alike:

- one address is one subscriber, however it is typed;
- staff (a staff add or an import) can never put back an address that is suppressed or that
  unsubscribed from the list: the attempt is refused with the reason, never applied silently;
  only the owner can come back, by subscribing and confirming again;
- a confirmed subscription always has a consent record saying when, through what and why;
- erasure deletes the person and keeps only the SHA-256 of the address, as a suppression.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from publisher.articles.models import Topic
from publisher.db import utcnow
from publisher.i18n import Language
from publisher.subscribers.addresses import (
    InvalidAddress,
    address_hash,
    address_key,
    parse_address,
)
from publisher.subscribers.models import (
    Consent,
    MailingList,
    MailingListTopic,
    Source,
    Subscriber,
    SubscriberTopic,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)

STAFF_SOURCES = frozenset({Source.staff, Source.import_})
"""Sources where someone other than the address's owner acts: they may not override refusals."""

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

__all__ = [
    "InvalidAddress",
    "ListExists",
    "ListNotFound",
    "RegisterError",
    "SubscriberNotFound",
    "SubscriptionRefused",
    "SuppressedAddress",
    "UnknownTopic",
]


class RegisterError(Exception):
    """A register rule was broken; the message says which and what to do."""


class ListNotFound(RegisterError, LookupError):
    pass


class ListExists(RegisterError):
    pass


class UnknownTopic(RegisterError, LookupError):
    pass


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


# Lists -------------------------------------------------------------------------------------


def topics_by_slug(session: Session, slugs: Iterable[str]) -> list[Topic]:
    """The topics named, in order; an unknown slug is an error naming the known ones."""
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        return []
    found = {t.slug: t for t in session.exec(select(Topic).where(col(Topic.slug).in_(wanted)))}
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        known = ", ".join(session.exec(select(Topic.slug).order_by(col(Topic.slug)))) or "none"
        raise UnknownTopic(
            f"unknown topic {', '.join(missing)} (known: {known}; add one with `topics add`)"
        )
    return [found[slug] for slug in wanted]


def create_list(
    session: Session,
    slug: str,
    name: str,
    *,
    description: str = "",
    public: bool = True,
    language: Language | str = Language.sl,
    topics: Sequence[str] = (),
) -> MailingList:
    """A new list carrying ``topics``; its slug is permanent (it appears in links)."""
    if not _SLUG.fullmatch(slug):
        raise RegisterError(f"list slug {slug!r}: use lower-case letters, digits and hyphens")
    if not name.strip():
        raise RegisterError("a list needs a name")
    if session.exec(select(MailingList.id).where(MailingList.slug == slug)).first() is not None:
        raise ListExists(f"a list {slug!r} already exists")
    chosen = topics_by_slug(session, topics)
    mailing_list = MailingList(
        slug=slug,
        name=name.strip(),
        description=description.strip(),
        public=public,
        language=Language(language),
    )
    session.add(mailing_list)
    session.flush()
    for topic in chosen:
        session.add(MailingListTopic(list_id=mailing_list.id, topic_id=topic.id))
    session.flush()
    return mailing_list


def get_list(session: Session, slug: str) -> MailingList:
    found = session.exec(select(MailingList).where(MailingList.slug == slug)).first()
    if found is None:
        known = ", ".join(session.exec(select(MailingList.slug).order_by(col(MailingList.slug))))
        raise ListNotFound(f"no list {slug!r} (lists: {known or 'none yet'})")
    return found


def list_topic_slugs(session: Session, list_id: int) -> list[str]:
    return list(
        session.exec(
            select(Topic.slug)
            .join(MailingListTopic, col(MailingListTopic.topic_id) == col(Topic.id))
            .where(MailingListTopic.list_id == list_id)
            .order_by(col(Topic.slug))
        )
    )


def status_counts(session: Session, list_id: int | None = None) -> dict[int, Counter[str]]:
    """Subscriptions per list and status, in one grouped query."""
    query = select(Subscription.list_id, Subscription.status, func.count()).group_by(
        col(Subscription.list_id), col(Subscription.status)
    )
    if list_id is not None:
        query = query.where(Subscription.list_id == list_id)
    counts: dict[int, Counter[str]] = {}
    for lid, status, n in session.exec(query):
        counts.setdefault(lid, Counter())[str(status)] = n
    return counts


def all_lists(session: Session) -> list[MailingList]:
    return list(session.exec(select(MailingList).order_by(col(MailingList.slug))))


# Subscribers -------------------------------------------------------------------------------


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


def suppression_of(session: Session, address_hash: str) -> Suppression | None:
    return session.get(Suppression, address_hash)


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
    if target == SubscriptionStatus.confirmed and subscription.confirmed_at is None:
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


def erase(session: Session, email: str) -> str:
    """GDPR erasure: delete the person and all about them, keep only the suppression hash.

    Returns the hash kept. Signed links for the person stop working: their id is gone and
    is never given to anyone else.
    """
    subscriber = get_subscriber(session, email)
    suppression = suppress(session, subscriber.email, SuppressionReason.erased)
    sid = subscriber.id
    for table in (Consent, SubscriberTopic, Subscription):
        session.execute(delete(table).where(col(table.subscriber_id) == sid))  # type: ignore[attr-defined]
    session.execute(delete(Subscriber).where(col(Subscriber.id) == sid))
    session.expunge(subscriber)
    session.flush()
    return suppression.address_hash


# What the register holds about one person ------------------------------------------------


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
