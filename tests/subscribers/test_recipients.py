"""The sender's query: confirmed, not suppressed, by topic, one row per person, keyed pages."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import Session

from publisher.subscribers.lists import ListNotFound, UnknownTopic
from publisher.subscribers.models import Source, SuppressionReason
from publisher.subscribers.recipients import recipient_pages, recipients
from publisher.subscribers.subscriptions import subscribe, unsubscribe
from publisher.subscribers.suppression import suppress


def add(session: Session, email: str, *lists: str, topics: tuple[str, ...] = ()) -> None:
    for slug in lists:
        subscribe(session, email, slug, source=Source.staff, confirmed=True, topics=topics)


def emails(session: Session, lists: list[str], topics: list[str] | None = None) -> list[str]:
    return [r.email for r in recipients(session, lists, topics)]


def test_only_confirmed_unsuppressed_subscribers_receive(session: Session) -> None:
    add(session, "ana@example.org", "promet")
    subscribe(session, "bojan@example.org", "promet", source=Source.web)  # pending
    add(session, "cvetka@example.org", "promet")
    unsubscribe(session, "cvetka@example.org", "promet")
    add(session, "david@example.org", "promet")
    suppress(session, "DAVID@example.org", SuppressionReason.hard_bounce)
    add(session, "eva@example.org", "tedenske-novice")  # another list
    assert emails(session, ["promet"]) == ["ana@example.org"]


def test_one_row_per_person_across_the_editions_lists(session: Session) -> None:
    add(session, "ana@example.org", "promet", "tedenske-novice")
    add(session, "bojan@example.org", "tedenske-novice")
    add(session, "cvetka@example.org", "promet")
    found = emails(session, ["tedenske-novice", "promet"])
    assert found == ["ana@example.org", "bojan@example.org", "cvetka@example.org"]


def test_topic_filter_keeps_those_who_chose_it_or_chose_nothing(session: Session) -> None:
    add(session, "ana@example.org", "tedenske-novice", topics=("promet",))
    add(session, "bojan@example.org", "tedenske-novice", topics=("kultura",))
    add(session, "cvetka@example.org", "tedenske-novice")  # no choice: every topic
    add(session, "david@example.org", "tedenske-novice", topics=("sport", "promet"))
    assert emails(session, ["tedenske-novice"], ["promet"]) == [
        "ana@example.org",
        "cvetka@example.org",
        "david@example.org",
    ]
    assert emails(session, ["tedenske-novice"], ["kultura", "sport"]) == [
        "bojan@example.org",
        "cvetka@example.org",
        "david@example.org",
    ]
    with pytest.raises(UnknownTopic):
        emails(session, ["tedenske-novice"], ["gledalisce"])
    with pytest.raises(ListNotFound):
        emails(session, ["ni-seznama"])


def test_pages_are_keyed_and_cover_everyone_exactly_once(session: Session) -> None:
    for n in range(7):
        add(session, f"oseba{n}@example.org", "promet", "tedenske-novice")
    pages = list(recipient_pages(session, ["promet", "tedenske-novice"], batch=3))
    assert [len(page) for page in pages] == [3, 3, 1]
    ids = [r.subscriber_id for page in pages for r in page]
    assert ids == sorted(ids) and len(set(ids)) == 7
    exact = list(recipient_pages(session, ["promet"], batch=7))
    assert [len(page) for page in exact] == [7]


def test_the_recipients_query_uses_indexes_not_a_scan_of_subscriptions(
    session: Session,
) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's EXPLAIN QUERY PLAN is stable enough to assert on")
    add(session, "ana@example.org", "promet")
    page = recipient_pages(session, ["promet"], ["promet"], batch=10)
    plans: list[str] = []
    bind = session.get_bind()

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT SUBSCRIBER.ID"):
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            plans.extend(str(row[-1]) for row in rows)

    event.listen(bind, "before_cursor_execute", capture)
    try:
        list(page)
    finally:
        event.remove(bind, "before_cursor_execute", capture)
    assert any("subscription" in step for step in plans), plans
    assert not [step for step in plans if step.startswith("SCAN")], plans
