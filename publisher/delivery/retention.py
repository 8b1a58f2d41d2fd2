"""Keeping only what is needed (GDPR Art. 5(1)(e), storage limitation): the purge.

What goes, and when (the README's privacy section says why):

- a request never confirmed, ``purge_unconfirmed_days`` after it was last made: every
  subscription of the person still ``pending`` and never confirmed (``confirmed_at`` unset:
  someone who confirmed once and left, or came back and has not confirmed again, is not such a
  request), with no consent attempt since. A person with nothing else on the register leaves it
  whole (:func:`publisher.subscribers.privacy.delete_subscribers`, the one way people leave);
  a person confirmed on other lists loses only the stale request and its consent attempts.
  Suppressions stay: they are what keeps an address from being mailed again;
- a finished copy (sent, failed or cancelled) last changed ``purge_delivery_months`` ago loses
  the address, the name, the server's reply (which often quotes the address) and its
  Message-ID; its status, times, language, edition and subscriber number stay, so every
  edition's counts add up as before;
- a bounce or complaint received as long ago loses the address, the diagnostic text and the
  raw report; its kind, status code, edition, times and the address's hash (the form the
  suppression list keeps) stay.

:func:`plan_purge` only reads, and says exactly which rows; :func:`purge` acts on a plan, one
transaction per kind, and takes again only what is still expired when it runs (a request
confirmed between the plan and the purge stays). It sits in ``delivery`` because it touches the
register and the ledger, and only this level may know both.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from publisher.audit import AuditAction, record
from publisher.clock import utcnow
from publisher.config import Settings
from publisher.delivery.models import Bounce, Delivery, DeliveryStatus, SendJob
from publisher.subscribers.models import (
    Consent,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from publisher.subscribers.privacy import delete_subscribers, delete_subscriptions

FINISHED = (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.cancelled)
"""Copies nobody will send again: only these lose their address (an open one still needs it)."""


class PurgeKind(enum.StrEnum):
    """What the purge does to a row, in the order it does it."""

    unconfirmed_subscribers = "unconfirmed_subscribers"
    """Deleted: people whose every subscription is a request never confirmed, past its time."""
    unconfirmed_subscriptions = "unconfirmed_subscriptions"
    """Deleted: such a request of someone who stays on other lists."""
    deliveries = "deliveries"
    """Anonymised: a ledger row keeps its status and times, loses address, name and reply."""
    bounces = "bounces"
    """Anonymised: a bounce keeps its kind and code, loses address, diagnostic and report."""


@dataclass(frozen=True, slots=True)
class PurgeRow:
    """One row the purge deletes or anonymises (slotted: a first purge may list many)."""

    kind: PurgeKind
    id: int
    """The subscriber's, subscription's, delivery row's or bounce's id."""
    address: str
    at: datetime
    """What makes it old: when the request was made, the copy last changed, the bounce came."""
    what: str = ""
    """The list (a request), the edition (a copy), the bounce's kind and code."""


@dataclass(frozen=True)
class PurgePlan:
    """What a purge at ``now`` takes: the cut-off of each rule (``None``: the rule is off)."""

    now: datetime
    unconfirmed_before: datetime | None
    deliveries_before: datetime | None
    rows: tuple[PurgeRow, ...] = ()

    def of(self, kind: PurgeKind) -> list[PurgeRow]:
        return [row for row in self.rows if row.kind is kind]

    def counts(self) -> dict[str, int]:
        """Rows per kind, every kind named (0 too)."""
        return {kind.value: len(self.of(kind)) for kind in PurgeKind}


@dataclass
class PurgeResult:
    """What a purge did: rows per kind, and the consent records that went with the requests."""

    counts: dict[str, int] = field(default_factory=lambda: {k.value: 0 for k in PurgeKind})
    consents: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """``unconfirmed_subscribers=2 … consents=3``: the audit entry's and the log's words."""
        return " ".join(
            [*(f"{kind}={n}" for kind, n in self.counts.items()), f"consents={self.consents}"]
        )


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the 31st becomes the last
    day of a shorter month)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    following = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=moment.tzinfo)
    last_day = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def plan_purge(session: Session, settings: Settings, now: datetime | None = None) -> PurgePlan:
    """Exactly the rows a purge at ``now`` (the clock's, by default) would delete or
    anonymise; reads only."""
    now = now or utcnow()
    unconfirmed_before = (
        now - timedelta(days=settings.purge_unconfirmed_days)
        if settings.purge_unconfirmed_days
        else None
    )
    deliveries_before = (
        months_before(now, settings.purge_delivery_months)
        if settings.purge_delivery_months
        else None
    )
    rows: list[PurgeRow] = []
    if unconfirmed_before is not None:
        people = _unconfirmed_subscribers(session, unconfirmed_before)
        rows += people
        rows += _unconfirmed_subscriptions(
            session, unconfirmed_before, leaving={row.id for row in people}
        )
    if deliveries_before is not None:
        rows += _old_deliveries(session, deliveries_before)
        rows += _old_bounces(session, deliveries_before)
    return PurgePlan(now, unconfirmed_before, deliveries_before, tuple(rows))


def purge(session: Session, plan: PurgePlan, *, actor: str) -> PurgeResult:
    """Do what ``plan`` says, one committed transaction per kind, to the rows still expired
    now; then record a ``retention_purge`` audit entry with the counts (when anything went).

    Commits the caller's session after each kind: a failure leaves the kinds before it done
    and the rest untouched, and a second run finishes the work.
    """
    result = PurgeResult()
    if plan.unconfirmed_before is not None:
        before = plan.unconfirmed_before
        for chunk in _chunks(plan.of(PurgeKind.unconfirmed_subscribers)):
            people = [row.id for row in _unconfirmed_subscribers(session, before, among=chunk)]
            result.consents += delete_subscribers(session, people)
            result.counts[PurgeKind.unconfirmed_subscribers] += len(people)
        session.commit()
        for chunk in _chunks(plan.of(PurgeKind.unconfirmed_subscriptions)):
            requests = [row.id for row in _unconfirmed_subscriptions(session, before, among=chunk)]
            result.consents += delete_subscriptions(session, requests)
            result.counts[PurgeKind.unconfirmed_subscriptions] += len(requests)
        session.commit()
    if plan.deliveries_before is not None:
        before = plan.deliveries_before
        for chunk in _chunks(plan.of(PurgeKind.deliveries)):
            copies = [row.id for row in _old_deliveries(session, before, among=chunk)]
            result.counts[PurgeKind.deliveries] += _anonymise_deliveries(session, copies)
        session.commit()
        for chunk in _chunks(plan.of(PurgeKind.bounces)):
            bounces = [row.id for row in _old_bounces(session, before, among=chunk)]
            result.counts[PurgeKind.bounces] += _anonymise_bounces(session, bounces)
        session.commit()
    if result.total:
        record(
            session,
            AuditAction.retention_purge,
            actor=actor,
            subject="retention",
            detail=result.summary(),
        )
        session.commit()
    return result


CHUNK = 500
"""Ids per statement: well inside SQLite's and PostgreSQL's limits on bound parameters."""


def _chunks(rows: Sequence[PurgeRow]) -> Iterator[list[int]]:
    ids = [row.id for row in rows]
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# --- the register: requests never confirmed ---------------------------------------------------


def _stale_request(subscription: type[Subscription], before: datetime):  # type: ignore[no-untyped-def]
    """A subscription that is a request never confirmed, made and last attempted before."""
    return and_(
        subscription.status == SubscriptionStatus.pending.value,
        col(subscription.confirmed_at).is_(None),
        subscription.created_at < before,
        subscription.updated_at < before,
        ~exists().where(
            Consent.subscriber_id == subscription.subscriber_id,
            Consent.list_id == subscription.list_id,
            Consent.given_at >= before,
        ),
    )


def _unconfirmed_subscribers(
    session: Session, before: datetime, *, among: Collection[int] | None = None
) -> list[PurgeRow]:
    """People on the register only through requests never confirmed, all of them stale."""
    other = aliased(Subscription)
    query = (
        select(Subscriber.id, Subscriber.email, Subscriber.created_at)
        .where(
            exists().where(Subscription.subscriber_id == Subscriber.id),
            ~exists().where(other.subscriber_id == Subscriber.id, ~_stale_request(other, before)),
            ~exists().where(Consent.subscriber_id == Subscriber.id, Consent.given_at >= before),
            Subscriber.created_at < before,
            Subscriber.updated_at < before,
        )
        .order_by(Subscriber.id)
    )
    if among is not None:
        query = query.where(col(Subscriber.id).in_(sorted(among)))
    return [
        PurgeRow(PurgeKind.unconfirmed_subscribers, id_, email, at)
        for id_, email, at in session.execute(query).all()
    ]


def _unconfirmed_subscriptions(
    session: Session,
    before: datetime,
    *,
    among: Collection[int] | None = None,
    leaving: Collection[int] = (),
) -> list[PurgeRow]:
    """Stale requests of people who stay (``leaving``: those who go whole, not counted twice)."""
    query = (
        select(Subscription.id, Subscriber.email, Subscription.created_at, MailingList.slug)
        .join(Subscriber, col(Subscriber.id) == col(Subscription.subscriber_id))
        .join(MailingList, col(MailingList.id) == col(Subscription.list_id))
        .where(_stale_request(Subscription, before))
        .order_by(Subscription.id)
    )
    if among is not None:
        query = query.where(col(Subscription.id).in_(sorted(among)))
    if leaving:
        query = query.where(col(Subscription.subscriber_id).not_in(sorted(leaving)))
    return [
        PurgeRow(PurgeKind.unconfirmed_subscriptions, id_, email, at, slug)
        for id_, email, at, slug in session.execute(query).all()
    ]


# --- the ledger and its bounces: old copies keep their counts, lose the address ---------------


def _old_deliveries(
    session: Session, before: datetime, *, among: Collection[int] | None = None
) -> list[PurgeRow]:
    query = (
        select(Delivery.id, Delivery.email, Delivery.updated_at, SendJob.name)
        .join(SendJob, col(SendJob.id) == col(Delivery.job_id))
        .where(
            col(Delivery.status).in_([status.value for status in FINISHED]),
            Delivery.updated_at < before,
            or_(
                Delivery.email != "",
                Delivery.name != "",
                Delivery.last_reply != "",
                col(Delivery.message_id).is_not(None),
            ),
        )
        .order_by(Delivery.id)
    )
    if among is not None:
        query = query.where(col(Delivery.id).in_(sorted(among)))
    return [
        PurgeRow(PurgeKind.deliveries, id_, email, at, name)
        for id_, email, at, name in session.execute(query).all()
    ]


def _old_bounces(
    session: Session, before: datetime, *, among: Collection[int] | None = None
) -> list[PurgeRow]:
    query = (
        select(Bounce.id, Bounce.address, Bounce.received_at, Bounce.kind, Bounce.status)
        .where(
            Bounce.received_at < before,
            or_(Bounce.address != "", Bounce.diagnostic != "", func.length(Bounce.raw) > 0),
        )
        .order_by(Bounce.id)
    )
    if among is not None:
        query = query.where(col(Bounce.id).in_(sorted(among)))
    return [
        PurgeRow(PurgeKind.bounces, id_, address, at, f"{kind} {status}".strip())
        for id_, address, at, kind, status in session.execute(query).all()
    ]


def _anonymise_deliveries(session: Session, ids: Sequence[int]) -> int:
    """The row stays as it was (status, times, attempts, the code of the last reply)."""
    if not ids:
        return 0
    session.execute(
        update(Delivery)
        .where(col(Delivery.id).in_(ids))
        .values(email="", name="", last_reply="", message_id=None)
    )
    session.flush()
    return len(ids)


def _anonymise_bounces(session: Session, ids: Sequence[int]) -> int:
    if not ids:
        return 0
    session.execute(
        update(Bounce).where(col(Bounce.id).in_(ids)).values(address="", diagnostic="", raw=b"")
    )
    session.flush()
    return len(ids)
