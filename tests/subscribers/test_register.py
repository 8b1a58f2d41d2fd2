"""The register's rules: one person per address, consent on record, suppression that holds,
erasure that leaves only the hash."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import Session, select

from publisher.subscribers.errors import RegisterError
from publisher.subscribers.lists import ListExists, UnknownTopic, create_list, status_counts
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
from publisher.subscribers.privacy import erase, subscriber_data
from publisher.subscribers.subscriptions import (
    AddOutcome,
    SubscriberNotFound,
    SubscriptionRefused,
    SuppressedAddress,
    confirm_subscription,
    find_subscriber,
    subscribe,
    unsubscribe,
)
from publisher.subscribers.suppression import suppress

from .conftest import count_rows


def test_lists_are_created_with_their_topics_and_slugs_are_unique(session: Session) -> None:
    created = create_list(session, "kultura", "Kultura v mestu", topics=["kultura"], public=False)
    assert created.public is False and created.language == "sl"
    links = session.exec(select(MailingListTopic).where(MailingListTopic.list_id == created.id))
    assert len(links.all()) == 1
    with pytest.raises(ListExists):
        create_list(session, "kultura", "Še ena")
    with pytest.raises(UnknownTopic, match="gledalisce"):
        create_list(session, "gledalisce", "Gledališče", topics=["gledalisce"])
    with pytest.raises(RegisterError, match="lower-case"):
        create_list(session, "Kultura Novice", "Kultura")


def test_one_address_is_one_subscriber_however_it_is_typed(session: Session) -> None:
    first = subscribe(session, "Ana@Example.org ", "tedenske-novice", source=Source.staff)
    again = subscribe(session, "ana@example.org", "tedenske-novice", source=Source.staff)
    other_list = subscribe(session, " ANA@EXAMPLE.ORG", "promet", source=Source.staff)
    assert first.outcome == AddOutcome.added and again.outcome == AddOutcome.unchanged
    assert other_list.outcome == AddOutcome.added
    assert first.subscriber.id == again.subscriber.id == other_list.subscriber.id
    assert count_rows(session, Subscriber) == 1
    assert first.subscriber.email == "Ana@example.org"  # local part as first typed
    assert find_subscriber(session, "aNa@exAMPLE.org") is not None


def test_staff_add_is_pending_until_confirmed_and_confirmed_add_records_consent(
    session: Session,
) -> None:
    pending = subscribe(session, "bojan.kos@example.org", "promet", source=Source.staff)
    assert pending.subscription.status == SubscriptionStatus.pending
    assert count_rows(session, Consent) == 0
    vouched = subscribe(
        session, "bojan.kos@example.org", "promet", source=Source.staff, confirmed=True
    )
    assert vouched.outcome == AddOutcome.updated
    assert vouched.subscription.status == SubscriptionStatus.confirmed
    [consent] = session.exec(select(Consent)).all()
    assert consent.source == Source.staff and consent.list_id == vouched.subscription.list_id


def test_the_owner_confirming_records_consent_with_ip_and_wording(session: Session) -> None:
    added = subscribe(session, "cvetka@example.org", "promet", source=Source.web)
    assert added.subscriber.id is not None
    confirmed = confirm_subscription(
        session,
        added.subscriber.id,
        added.subscription.list_id,
        ip_address="193.2.1.66",
        wording_version="obrazec-2025-01",
    )
    assert confirmed.status == SubscriptionStatus.confirmed and confirmed.confirmed_at
    again = confirm_subscription(session, added.subscriber.id, added.subscription.list_id)
    assert again.status == SubscriptionStatus.confirmed
    [consent] = session.exec(select(Consent)).all()
    assert (consent.source, consent.ip_address, consent.wording_version) == (
        Source.web,
        "193.2.1.66",
        "obrazec-2025-01",
    )


def test_suppressed_addresses_cannot_be_added_by_staff_in_any_spelling(session: Session) -> None:
    suppress(session, "david@example.org", SuppressionReason.complaint)
    for spelling in ("david@example.org", "David@EXAMPLE.org "):
        with pytest.raises(SuppressedAddress, match="complaint"):
            subscribe(session, spelling, "promet", source=Source.staff, confirmed=True)
    assert count_rows(session, Subscriber) == 0


def test_unsubscribing_from_all_lists_suppresses_and_staff_cannot_undo_it(
    session: Session,
) -> None:
    subscribe(session, "eva@example.org", "promet", source=Source.staff, confirmed=True)
    subscribe(session, "eva@example.org", "tedenske-novice", source=Source.staff, confirmed=True)
    assert unsubscribe(session, "EVA@example.org") == ["promet", "tedenske-novice"]
    assert session.get(Suppression, hashlib.sha256(b"eva@example.org").hexdigest())
    with pytest.raises(SuppressedAddress, match="unsubscribed"):
        subscribe(session, "eva@example.org", "promet", source=Source.staff, confirmed=True)


def test_leaving_one_list_blocks_staff_from_that_list_only(session: Session) -> None:
    subscribe(session, "franc@example.org", "promet", source=Source.staff, confirmed=True)
    assert unsubscribe(session, "franc@example.org", "promet") == ["promet"]
    assert unsubscribe(session, "franc@example.org", "promet") == []
    with pytest.raises(SubscriptionRefused, match="only its owner"):
        subscribe(session, "franc@example.org", "promet", source=Source.staff, confirmed=True)
    other = subscribe(session, "franc@example.org", "tedenske-novice", source=Source.staff)
    assert other.outcome == AddOutcome.added


def test_the_owner_can_come_back_by_subscribing_and_confirming(session: Session) -> None:
    added = subscribe(session, "gregor@example.org", "promet", source=Source.staff, confirmed=True)
    unsubscribe(session, "gregor@example.org")
    back = subscribe(session, "gregor@example.org", "promet", source=Source.web)
    assert back.subscription.status == SubscriptionStatus.pending
    assert session.get(Suppression, added.subscriber.address_hash) is not None
    assert back.subscriber.id is not None
    confirm_subscription(session, back.subscriber.id, back.subscription.list_id)
    assert session.get(Suppression, added.subscriber.address_hash) is None


def test_rejoining_a_list_by_the_preferences_link_records_a_new_consent(
    session: Session,
) -> None:
    added = subscribe(session, "jana@example.org", "promet", source=Source.staff, confirmed=True)
    unsubscribe(session, "jana@example.org", "promet")
    back = subscribe(
        session,
        "jana@example.org",
        "promet",
        source=Source.web,
        confirmed=True,
        evidence="preferences page (link from an email)",
    )
    assert back.subscription.status == SubscriptionStatus.confirmed
    consents = session.exec(
        select(Consent).where(Consent.subscriber_id == added.subscriber.id).order_by(Consent.id)
    ).all()
    assert [(c.source, c.evidence) for c in consents][1:] == [
        (Source.web, "preferences page (link from an email)")
    ]
    assert back.subscription.confirmed_at == consents[-1].given_at


def test_a_confirmation_link_after_unsubscribing_does_not_resubscribe(session: Session) -> None:
    added = subscribe(session, "helena@example.org", "promet", source=Source.web)
    unsubscribe(session, "helena@example.org", "promet")
    assert added.subscriber.id is not None
    with pytest.raises(SubscriptionRefused):
        confirm_subscription(session, added.subscriber.id, added.subscription.list_id)


def test_erasure_leaves_only_the_suppression_hash(session: Session) -> None:
    added = subscribe(
        session,
        "Igor.Skerjanc@example.org",
        "promet",
        source=Source.staff,
        name="Igor Škerjanc",
        topics=["promet"],
        confirmed=True,
    )
    subscribe(session, "igor.skerjanc@example.org", "tedenske-novice", source=Source.web)
    keep = subscribe(session, "jana@example.org", "promet", source=Source.staff, topics=["sport"])
    session.commit()
    digest = erase(session, " IGOR.SKERJANC@example.org")
    session.commit()
    assert digest == hashlib.sha256(b"igor.skerjanc@example.org").hexdigest()
    assert added.subscriber.id is not None
    gone = added.subscriber.id
    assert session.get(Subscriber, gone) is None
    for model in (Subscription, Consent, SubscriberTopic):
        assert session.exec(select(model).where(model.subscriber_id == gone)).all() == []  # type: ignore[attr-defined]
    [suppression] = session.exec(select(Suppression)).all()
    assert suppression.address_hash == digest and suppression.reason == SuppressionReason.erased
    # Nothing else about the person survives anywhere in the register; others are untouched.
    assert count_rows(session, Subscriber) == 1 and count_rows(session, Subscription) == 1
    assert count_rows(session, SubscriberTopic) == 1 and count_rows(session, Consent) == 0
    assert count_rows(session, MailingList) == 2
    assert find_subscriber(session, "jana@example.org").id == keep.subscriber.id  # type: ignore[union-attr]
    with pytest.raises(SubscriberNotFound):
        erase(session, "igor.skerjanc@example.org")
    with pytest.raises(SuppressedAddress, match="erased"):
        subscribe(session, "igor.skerjanc@example.org", "promet", source=Source.import_)


def test_the_data_export_holds_everything_about_the_person(session: Session) -> None:
    subscribe(
        session,
        "klemen@example.org",
        "promet",
        source=Source.staff,
        name="Klemen Žorž",
        language="en",
        topics=["promet", "sport"],
        confirmed=True,
        evidence="paper form 2025-03",
    )
    subscribe(session, "klemen@example.org", "tedenske-novice", source=Source.web)
    data = subscriber_data(session, "Klemen@Example.org")
    assert data["email"] == "klemen@example.org" and data["name"] == "Klemen Žorž"
    assert data["language"] == "en" and data["topics"] == ["promet", "sport"]
    assert [(s["list"], s["status"], s["source"]) for s in data["subscriptions"]] == [
        ("promet", "confirmed", "staff"),
        ("tedenske-novice", "pending", "web"),
    ]
    assert [(c["list"], c["source"], c["evidence"]) for c in data["consents"]] == [
        ("promet", "staff", "paper form 2025-03")
    ]
    assert data["suppression"] is None


def test_names_with_line_breaks_are_refused(session: Session) -> None:
    with pytest.raises(RegisterError, match="line break"):
        subscribe(session, "x@example.org", "promet", source=Source.staff, name="Ana\nBcc: y")


def test_status_counts_by_list(session: Session) -> None:
    subscribe(session, "a@example.org", "promet", source=Source.staff, confirmed=True)
    subscribe(session, "b@example.org", "promet", source=Source.staff)
    subscribe(session, "c@example.org", "promet", source=Source.staff)
    unsubscribe(session, "c@example.org", "promet")
    promet = session.exec(select(MailingList).where(MailingList.slug == "promet")).one()
    assert promet.id is not None
    assert dict(status_counts(session)[promet.id]) == {
        "confirmed": 1,
        "pending": 1,
        "unsubscribed": 1,
    }
