"""Double opt-in from the subscribe form: record the request, decide whether to mail, confirm.

The form is public, so it must not tell anyone whether an address is on the register, and it
must not become a way to flood someone's inbox. The rules, kept here so that every front end
(the web form today, perhaps the API later) applies the same ones:

- a new address, or one with a list still to confirm, gets one confirmation mail;
- an address whose requested lists are all confirmed already gets nothing;
- an address that was sent a link in the last :data:`RESEND_AFTER` gets nothing more until
  then (the link it has is still good: links last ``confirm_token_days``);
- each mail sent is backed by one consent record per list it asks about (time, IP address,
  wording version): the consent given on the form. Following the link adds the confirmation
  record (:func:`publisher.subscribers.subscriptions.confirm_subscription`).

The caller answers the same page whatever happened; whether a mail is due is only ever told
to the code that sends it (:class:`ConfirmationDue`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from publisher.addresses import parse_address
from publisher.clock import utcnow
from publisher.i18n import Language
from publisher.subscribers.lists import get_list
from publisher.subscribers.models import (
    Consent,
    MailingList,
    Source,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from publisher.subscribers.subscriptions import (
    SubscriberNotFound,
    SubscriptionRefused,
    confirm_subscription,
    get_subscriber_by_id,
    subscribe,
)

RESEND_AFTER = timedelta(days=1)
"""A pending address is sent its confirmation link again at most this often."""

REQUEST_EVIDENCE = "subscribe form; confirmation link sent"
"""The evidence text of a consent given on the form (and the marker of a mail sent)."""

CLOCK_SLACK = timedelta(seconds=2)
"""Tokens carry whole seconds; a request stored a moment before its token still belongs to it."""


@dataclass(frozen=True)
class SubscribeRequest:
    """What a resident typed into the subscribe form, already checked for shape."""

    email: str
    lists: Sequence[str]
    name: str = ""
    topics: Sequence[str] = ()
    language: Language = Language.sl
    ip_address: str | None = None
    wording_version: str = ""


@dataclass(frozen=True)
class ConfirmationDue:
    """A confirmation mail to send now: to whom, in which language, about which lists."""

    subscriber_id: int
    token_uid: str
    email: str
    name: str
    language: Language
    list_id: int
    """The list the link's token names (the first requested)."""
    list_names: tuple[str, ...]
    unsubscribe_list_id: int | None
    """What the mail's one-click unsubscribe ends: ``None`` (everything, and suppress the
    address) for someone on no list yet, so a stranger's address typed into the form can be
    stopped for good; only the requested list for someone who already gets other news."""
    consent_ids: tuple[int, ...]


def request_subscription(
    session: Session, request: SubscribeRequest, *, now: datetime | None = None
) -> ConfirmationDue | None:
    """Put the address on the requested lists as ``pending`` and say whether to mail it.

    Someone who is already on the register keeps their name, language and topics: the form
    proves nothing about who typed it, so only the owner (through the emailed links) may
    change them. New lists are added as pending; confirmed ones are left alone.
    """
    now = now or utcnow()
    address = parse_address(request.email)
    existing = session.exec(select(Subscriber).where(Subscriber.email_key == address.key)).first()
    pending: list[Subscription] = []
    names: dict[int, str] = {}
    subscriber: Subscriber | None = existing
    for slug in dict.fromkeys(request.lists):
        mailing_list = get_list(session, slug)
        if existing is None:
            result = subscribe(
                session,
                address.email,
                slug,
                source=Source.web,
                name=request.name,
                language=request.language,
                topics=request.topics,
            )
        else:
            result = subscribe(session, address.email, slug, source=Source.web)
        subscriber = result.subscriber
        if result.subscription.status == SubscriptionStatus.pending:
            pending.append(result.subscription)
            assert mailing_list.id is not None
            names[mailing_list.id] = mailing_list.name
    if subscriber is None or not pending:
        return None  # everything asked for is confirmed already: nothing to send
    assert subscriber.id is not None
    if last_link_sent(session, subscriber.id) > now - RESEND_AFTER:
        return None
    consents = [
        Consent(
            subscriber_id=subscriber.id,
            list_id=subscription.list_id,
            given_at=now,
            source=Source.web,
            ip_address=request.ip_address,
            wording_version=request.wording_version,
            evidence=REQUEST_EVIDENCE,
        )
        for subscription in pending
    ]
    session.add_all(consents)
    session.flush()
    confirmed_elsewhere = session.exec(
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.subscriber_id == subscriber.id)
        .where(Subscription.status == SubscriptionStatus.confirmed)
    ).one()
    return ConfirmationDue(
        subscriber_id=subscriber.id,
        token_uid=subscriber.token_uid,
        email=subscriber.email,
        name=subscriber.name,
        language=Language(subscriber.language),
        list_id=pending[0].list_id,
        list_names=tuple(names[s.list_id] for s in pending),
        unsubscribe_list_id=pending[0].list_id if confirmed_elsewhere else None,
        consent_ids=tuple(c.id for c in consents if c.id is not None),
    )


def last_link_sent(session: Session, subscriber_id: int) -> datetime:
    """When this subscriber was last sent a confirmation link (long ago if never)."""
    last = session.exec(
        select(func.max(Consent.given_at))
        .where(Consent.subscriber_id == subscriber_id)
        .where(Consent.source == Source.web)
        .where(Consent.evidence == REQUEST_EVIDENCE)
    ).one()
    if last is None:
        return datetime.min.replace(tzinfo=UTC)
    return last if last.tzinfo else last.replace(tzinfo=UTC)


def forget_request(session: Session, due: ConfirmationDue) -> None:
    """The mail could not be sent: drop its records, so a new try is not held back a day."""
    if due.consent_ids:
        session.execute(delete(Consent).where(col(Consent.id).in_(due.consent_ids)))
        session.flush()


def confirm_from_link(
    session: Session,
    subscriber_id: int,
    list_id: int,
    issued_at: datetime,
    *,
    ip_address: str | None = None,
    wording_version: str = "",
) -> list[MailingList]:
    """The owner followed the link in a confirmation mail: confirm every list that mail asked
    about (those requested on the form before the link was made), and return them.

    Repeating it is harmless. Raises :class:`SubscriberNotFound` for an erased subscriber and
    :class:`SubscriptionRefused` when the link's list was left since (subscribe again).
    """
    get_subscriber_by_id(session, subscriber_id)
    asked = set(
        session.exec(
            select(Consent.list_id)
            .where(Consent.subscriber_id == subscriber_id)
            .where(Consent.source == Source.web)
            .where(Consent.evidence == REQUEST_EVIDENCE)
            .where(Consent.given_at <= issued_at + CLOCK_SLACK)
        )
    )
    asked.add(list_id)
    confirm_subscription(
        session, subscriber_id, list_id, ip_address=ip_address, wording_version=wording_version
    )
    confirmed = [list_id]
    for other in sorted(i for i in asked if i is not None and i != list_id):
        try:
            confirm_subscription(
                session,
                subscriber_id,
                other,
                ip_address=ip_address,
                wording_version=wording_version,
            )
        except (SubscriberNotFound, SubscriptionRefused):
            continue  # left since, or the list is gone: only the link's own list must hold
        confirmed.append(other)
    return list(
        session.exec(
            select(MailingList)
            .where(col(MailingList.id).in_(confirmed))
            .order_by(col(MailingList.name))
        )
    )
