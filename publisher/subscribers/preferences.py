"""What a subscriber may change about themselves, through the link in every mail.

The preferences link proves the person reads that mailbox, so ticking a list here counts as
the owner's own consent (recorded, with IP address and wording version) and needs no further
confirmation mail; unticking ends that subscription. Lists offered are the public ones plus
any other list the person is on, so nobody is stuck on a list they cannot see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from publisher.clock import utcnow
from publisher.i18n import Language
from publisher.subscribers.errors import RegisterError
from publisher.subscribers.models import (
    MailingList,
    MailingListTopic,
    Source,
    Subscriber,
    SubscriberTopic,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from publisher.subscribers.subscriptions import (
    ACTIVE,
    get_subscriber_by_id,
    set_topic_choices,
    subscribe,
    unsubscribe_subscriber,
)
from publisher.subscribers.suppression import suppression_of
from publisher.topics import Topic

PREFERENCES_EVIDENCE = "preferences page (link from an email)"


class AddressSuppressed(RegisterError):
    """Choices for an address nothing is sent to: only subscribing again brings mail back."""


@dataclass(frozen=True)
class ListChoice:
    """One list as the preferences page shows it."""

    mailing_list: MailingList
    status: SubscriptionStatus | None
    """``None``: never subscribed."""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class Preferences:
    subscriber: Subscriber
    lists: list[ListChoice]
    topics: list[Topic]
    """Topics offered (those the offered lists carry; every topic if they carry none)."""
    chosen_topics: set[str]
    suppressed: SuppressionReason | None = None
    """Why nothing is sent to the address at all (it left every list, bounced, complained),
    whatever the choices say; ``None`` when it is mailed. Only subscribing again and
    confirming by the mailed link lifts it, so the page explains instead of offering choices
    that would change nothing."""


def public_lists(session: Session) -> list[MailingList]:
    """The lists anyone may subscribe to, by name."""
    return list(
        session.exec(
            select(MailingList).where(col(MailingList.public)).order_by(col(MailingList.name))
        )
    )


def topics_of(session: Session, lists: Sequence[MailingList]) -> list[Topic]:
    """The topics the given lists carry, by name; every topic if they carry none."""
    ids = [m.id for m in lists if m.id is not None]
    carried = list(
        session.exec(
            select(Topic)
            .join(MailingListTopic, col(MailingListTopic.topic_id) == col(Topic.id))
            .where(col(MailingListTopic.list_id).in_(ids))
            .distinct()
            .order_by(col(Topic.name))
        )
    )
    if carried:
        return carried
    return list(session.exec(select(Topic).order_by(col(Topic.name))))


def load_preferences(session: Session, subscriber_id: int) -> Preferences:
    """Everything the preferences page shows; :class:`SubscriberNotFound` after erasure."""
    subscriber = get_subscriber_by_id(session, subscriber_id)
    statuses = {
        list_id: SubscriptionStatus(status)
        for list_id, status in session.exec(
            select(Subscription.list_id, Subscription.status).where(
                Subscription.subscriber_id == subscriber_id
            )
        )
    }
    offered = {m.id: m for m in public_lists(session)}
    active_ids = [
        i for i, s in statuses.items() if s != SubscriptionStatus.unsubscribed and i not in offered
    ]
    if active_ids:
        for extra in session.exec(select(MailingList).where(col(MailingList.id).in_(active_ids))):
            offered[extra.id] = extra
    lists = sorted(offered.values(), key=lambda m: m.name.casefold())
    chosen = set(
        session.exec(
            select(Topic.slug)
            .join(SubscriberTopic, col(SubscriberTopic.topic_id) == col(Topic.id))
            .where(SubscriberTopic.subscriber_id == subscriber_id)
        )
    )
    suppression = suppression_of(session, subscriber.address_hash)
    return Preferences(
        subscriber=subscriber,
        lists=[ListChoice(m, statuses.get(m.id)) for m in lists if m.id is not None],
        topics=topics_of(session, lists),
        chosen_topics=chosen,
        suppressed=None if suppression is None else SuppressionReason(suppression.reason),
    )


def save_preferences(
    session: Session,
    subscriber_id: int,
    *,
    lists: Sequence[str],
    topics: Sequence[str],
    language: Language,
    ip_address: str | None = None,
    wording_version: str = "",
) -> Preferences:
    """Apply the page's form: lists ticked are joined (confirmed), lists unticked are left,
    topic choices replaced, language set. Slugs not offered are a :class:`RegisterError`;
    a suppressed address is :class:`AddressSuppressed` (its choices would change nothing)."""
    current = load_preferences(session, subscriber_id)
    if current.suppressed is not None:
        raise AddressSuppressed(f"the address is suppressed ({current.suppressed})")
    subscriber = current.subscriber
    offered = {choice.mailing_list.slug: choice for choice in current.lists}
    unknown = [slug for slug in lists if slug not in offered]
    unknown += [slug for slug in topics if slug not in {t.slug for t in current.topics}]
    if unknown:
        raise RegisterError(f"not offered here: {', '.join(unknown)}")
    wanted = set(lists)
    for slug, choice in offered.items():
        if slug in wanted and choice.status != SubscriptionStatus.confirmed:
            subscribe(
                session,
                subscriber.email,
                slug,
                source=Source.web,
                confirmed=True,
                ip_address=ip_address,
                wording_version=wording_version,
                evidence=PREFERENCES_EVIDENCE,
            )
        elif slug not in wanted and choice.active:
            unsubscribe_subscriber(session, subscriber_id, choice.mailing_list.id)
    set_topic_choices(session, subscriber_id, list(dict.fromkeys(topics)))
    if subscriber.language != language:
        subscriber.language = language
        subscriber.updated_at = utcnow()
        session.add(subscriber)
    session.flush()
    return load_preferences(session, subscriber_id)
