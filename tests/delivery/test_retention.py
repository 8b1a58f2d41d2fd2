"""Keeping only what is needed: ``publisher purge`` and the nightly purge of ``serve``.

One register and ledger, built over fourteen months of a moved clock: residents confirmed
long ago, one who left, requests never confirmed 31 and 29 days old, an old request made again
ten days ago, an erased address asked for again (and so still suppressed), a stranger's
address stopped from the confirmation mail, an old request for a second list of someone who
stays; two editions sent 14 and 12 months ago, each with a bounce. The dry run lists exactly
what is expired and changes nothing; the purge takes exactly that and every edition's counts
stay as they were.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.audit import AuditAction, AuditEntry
from publisher.config import SettingsError, load_settings
from publisher.db import make_engine, session_scope
from publisher.delivery import ledger
from publisher.delivery.bounces import handle_message
from publisher.delivery.bounces.reports import list_rates
from publisher.delivery.models import Bounce, Delivery
from publisher.delivery.retention import months_before
from publisher.delivery.runner import Senders
from publisher.jobs import JobRunner
from publisher.subscribers.confirmation import SubscribeRequest, request_subscription
from publisher.subscribers.lists import create_list
from publisher.subscribers.models import (
    Consent,
    Source,
    Subscriber,
    Subscription,
    SuppressionReason,
)
from publisher.subscribers.privacy import erase
from publisher.subscribers.subscriptions import (
    find_subscriber,
    subscribe,
    unsubscribe,
    unsubscribe_subscriber,
)
from tests.delivery.bounce_support import add_week, copies, dsn, send_edition, suppressed
from tests.delivery.sending_support import LIST, LJUBLJANA, SmtpServer, settings_for, stock
from tests.test_cli import run
from tests.web.admin_support import wait_until

NOW = datetime(2026, 5, 10, 9, 0, tzinfo=LJUBLJANA)
"""When the purge runs: W10 of 2025 (7 March) is 14 months back, W18 (2 May) 12 months."""
W10_SENT = datetime(2025, 3, 7, 12, 0, tzinfo=LJUBLJANA)
W18_SENT = datetime(2025, 5, 2, 12, 0, tzinfo=LJUBLJANA)
OTHER_LIST = "obvestila"
TABLES = ("subscriber", "subscription", "consent", "suppression", "delivery", "bounce")


def ask(engine: Engine, email: str, *lists: str, at: datetime) -> None:
    """The subscribe form, filled in at ``at``: a pending request and its consent attempt."""
    with time_machine.travel(at, tick=False), session_scope(engine) as session:
        request_subscription(
            session,
            SubscribeRequest(
                email, list(lists) or [LIST], ip_address="192.0.2.7", wording_version="2025-1"
            ),
        )


def soft_bounce(engine: Engine, settings: Any, job_id: int, address: str, at: datetime) -> None:
    """A full mailbox reported for ``address``'s copy of the job, at ``at``."""
    message_id = copies(engine, job_id)[address].message_id
    assert message_id
    raw = dsn(
        "novice@novomesto.example.org",
        address,
        status="5.2.2",
        diagnostic="smtp; 552 5.2.2 <{r}>: Mailbox full",
        original_message_id=message_id,
    )
    with time_machine.travel(at, tick=False), session_scope(engine) as session:
        handled = handle_message(session, settings, raw, source="file")
        assert handled.address == address, handled


@pytest.fixture
def history(engine: Engine, database_url: str) -> dict[str, int]:
    """Fourteen months of the register and the ledger; the two editions' send job ids."""
    with SmtpServer() as smtp:
        settings = settings_for(database_url, smtp.port)
        with time_machine.travel(W10_SENT, tick=True):
            stock(engine, 6)  # obcan0000 … obcan0005, confirmed
            with session_scope(engine) as session:
                create_list(session, OTHER_LIST, "Obvestila")
                subscribe(
                    session, "izbrisana@example.org", LIST, source=Source.staff, confirmed=True
                )
            w10 = send_edition(engine, settings, "2025-W10")
        soft_bounce(engine, settings, w10, "obcan0002@example.org", W10_SENT + timedelta(days=1))
        april = datetime(2025, 4, 1, 10, tzinfo=LJUBLJANA)
        with time_machine.travel(april, tick=False), session_scope(engine) as session:
            unsubscribe(session, "obcan0005@example.org")  # confirmed once, then left
            erase(session, "izbrisana@example.org")
        add_week(engine, "2025-W18", datetime(2025, 4, 29, 9))
        with time_machine.travel(W18_SENT, tick=True):
            w18 = send_edition(engine, settings, "2025-W18")
        soft_bounce(engine, settings, w18, "obcan0003@example.org", W18_SENT + timedelta(days=1))

    ask(engine, "pending31@example.org", at=NOW - timedelta(days=31))
    ask(engine, "pending29@example.org", at=NOW - timedelta(days=29))
    ask(engine, "again@example.org", at=NOW - timedelta(days=60))
    ask(engine, "again@example.org", at=NOW - timedelta(days=10))  # asked anew: a fresh link
    ask(engine, "izbrisana@example.org", at=NOW - timedelta(days=40))  # erased, still suppressed
    ask(engine, "tujec@example.org", at=NOW - timedelta(days=60))
    with time_machine.travel(NOW - timedelta(days=59), tick=False), session_scope(engine) as s:
        stranger = find_subscriber(s, "tujec@example.org")
        assert stranger is not None and stranger.id is not None
        unsubscribe_subscriber(s, stranger.id)  # "I never asked": stopped from the mail
    ask(engine, "obcan0001@example.org", OTHER_LIST, at=NOW - timedelta(days=45))
    return {"w10": w10, "w18": w18}


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}"))]
            for table in TABLES
        }


def edition_counts(engine: Engine, jobs: dict[str, int]) -> dict[str, object]:
    with Session(engine) as session:
        return {
            "ledger": {name: dict(ledger.counts(session, job)) for name, job in jobs.items()},
            "rates": list_rates(session),
            "bounces": sorted(
                (b.job_id, b.kind, b.status, b.subscriber_id)
                for b in session.execute(select(Bounce)).scalars()
            ),
        }


def test_the_dry_run_lists_exactly_the_expired_rows_and_the_purge_takes_exactly_those(
    engine: Engine, database_url: str, history: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    before = snapshot(engine)
    counts_before = edition_counts(engine, history)
    w10_addresses = {f"obcan{n:04d}@example.org" for n in range(6)} | {"izbrisana@example.org"}

    with time_machine.travel(NOW, tick=False):
        code, out, err = run("purge", "--dry-run", "--json")
        assert code == 0, err
        plan = json.loads(out)
        assert plan["dry_run"] is True
        rows: dict[str, set[str]] = {}
        for row in plan["rows"]:
            rows.setdefault(row["kind"], set()).add(row["address"])
        assert rows == {
            "unconfirmed_subscribers": {"pending31@example.org", "izbrisana@example.org"},
            "unconfirmed_subscriptions": {"obcan0001@example.org"},
            "deliveries": w10_addresses - {"izbrisana@example.org"},  # erased: gone already
            "bounces": {"obcan0002@example.org"},
        }
        [request] = [r for r in plan["rows"] if r["kind"] == "unconfirmed_subscriptions"]
        assert request["what"] == OTHER_LIST
        assert plan["counts"] == {
            "unconfirmed_subscribers": 2,
            "unconfirmed_subscriptions": 1,
            "deliveries": 6,
            "bounces": 1,
        }

        code, out, _ = run("purge", "--dry-run")  # the table staff read
        assert code == 0
        assert "pending31@example.org" in out and "pending29@example.org" not in out
        assert "Dry run: nothing changed (10 row(s) would be)" in out
        assert snapshot(engine) == before  # the dry run changed nothing

        code, out, err = run("purge")
        assert code == 0, err
        assert "Purged 10 row(s)" in out and "pending31@example.org" not in out

    assert edition_counts(engine, history) == counts_before  # every edition adds up as before
    with Session(engine) as session:
        people = {s.email for s in session.execute(select(Subscriber)).scalars()}
        assert "pending31@example.org" not in people and "izbrisana@example.org" not in people
        assert {"pending29@example.org", "again@example.org", "tujec@example.org"} <= people
        assert {f"obcan{n:04d}@example.org" for n in range(6)} <= people  # confirmed or left
        consented = {
            (c.subscriber_id, c.list_id) for c in session.execute(select(Consent)).scalars()
        }
        ana = find_subscriber(session, "obcan0001@example.org")
        assert ana is not None
        lists = {
            s.list_id: s.status
            for s in session.execute(
                select(Subscription).where(Subscription.subscriber_id == ana.id)
            ).scalars()
        }
        assert list(lists.values()) == ["confirmed"]  # the stale request for obvestila is gone
        assert [pair for pair in consented if pair[0] == ana.id] == [
            (ana.id, next(iter(lists)))
        ]  # the confirmed list's consent stays, the attempt for the other went
        old = (
            session.execute(select(Delivery).where(Delivery.job_id == history["w10"]))
            .scalars()
            .all()
        )
        assert {(d.email, d.name, d.last_reply, d.message_id) for d in old} == {("", "", "", None)}
        assert all(d.sent_at is not None and d.status == "sent" for d in old)
        recent = (
            session.execute(select(Delivery).where(Delivery.job_id == history["w18"]))
            .scalars()
            .all()
        )
        assert all(d.email and d.message_id for d in recent)
        cutoff = months_before(NOW, 13)
        bounces = {b.received_at < cutoff: b for b in session.execute(select(Bounce)).scalars()}
        assert (bounces[True].address, bounces[True].diagnostic, bounces[True].raw) == ("", "", b"")
        assert (bounces[True].kind, bounces[True].status) == ("soft", "5.2.2")
        assert bounces[False].address == "obcan0003@example.org" and bounces[False].raw
        [entry] = session.execute(
            select(AuditEntry).where(AuditEntry.action == AuditAction.retention_purge.value)
        ).scalars()
        assert entry.detail == (
            "unconfirmed_subscribers=2 unconfirmed_subscriptions=1 deliveries=6 bounces=1 "
            "consents=3"
        )
        assert entry.actor.endswith("(command line)")
    # Suppressions stay: the erased address and the ones that left are still never mailed.
    assert suppressed(engine, "izbrisana@example.org") is SuppressionReason.erased
    assert suppressed(engine, "obcan0005@example.org") is SuppressionReason.unsubscribed
    assert suppressed(engine, "tujec@example.org") is SuppressionReason.unsubscribed

    with time_machine.travel(NOW, tick=False):
        code, out, _ = run("purge")
        assert code == 0 and "Nothing to purge." in out
        assert json.loads(run("purge", "--dry-run", "--json")[1])["rows"] == []


def test_the_nightly_purge_runs_at_half_past_three_on_the_site_clock(
    engine: Engine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    night = datetime(2026, 5, 10, 3, 29, 57, tzinfo=LJUBLJANA)
    with session_scope(engine) as session:
        create_list(session, LIST, "Tedenske novice")
    ask(engine, "pending31@example.org", at=night - timedelta(days=31))
    settings = settings_for(database_url, 1, jobs_poll=0.2)
    caplog.set_level(logging.INFO, logger="publisher.jobs")
    leads: list[bool] = []
    with time_machine.travel(night, tick=True):
        jobs = JobRunner(engine, settings, Senders(engine, settings), on_lead=leads.append)
        try:
            jobs.start()
            wait_until(lambda: leads == [True], 10, "leadership")
            job = jobs.scheduler.get_job("retention-purge")
            assert job.next_run_time == datetime(2026, 5, 10, 3, 30, tzinfo=LJUBLJANA)
            with Session(engine) as session:  # not before its time
                assert find_subscriber(session, "pending31@example.org") is not None
            wait_until(lambda: "retention purge:" in caplog.text, 20, "the 03:30 purge")
        finally:
            jobs.stop()
    assert "retention purge: unconfirmed_subscribers=1 " in caplog.text
    with Session(engine) as session:
        assert find_subscriber(session, "pending31@example.org") is None
        [entry] = session.execute(
            select(AuditEntry).where(AuditEntry.action == AuditAction.retention_purge.value)
        ).scalars()
        assert entry.actor.startswith("schedule")


def test_with_both_periods_off_serve_runs_no_purge(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'publisher.db'}"
    off = load_settings(
        database_url=database_url, purge_unconfirmed_days=0, purge_delivery_months=0
    )
    on = load_settings(database_url=database_url)
    engine = make_engine(database_url)
    try:
        assert (
            JobRunner(engine, off, Senders(engine, off)).scheduler.get_job("retention-purge")
            is None
        )
        assert JobRunner(engine, on, Senders(engine, on)).scheduler.get_job("retention-purge")
    finally:
        engine.dispose()


def test_requests_are_never_purged_while_their_confirmation_link_still_works() -> None:
    with pytest.raises(SettingsError, match="purge_unconfirmed_days: 3 is shorter than"):
        load_settings(purge_unconfirmed_days=3, confirm_token_days=7)
    assert load_settings(purge_unconfirmed_days=0).purge_unconfirmed_days == 0


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 5, 10, 9), 13, datetime(2025, 4, 10, 9)),
        (datetime(2026, 3, 31, 9), 13, datetime(2025, 2, 28, 9)),  # no 31 February
        (datetime(2026, 1, 15), 1, datetime(2025, 12, 15)),
        (datetime(2024, 2, 29), 12, datetime(2023, 2, 28)),
    ],
)
def test_months_are_calendar_months(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected
