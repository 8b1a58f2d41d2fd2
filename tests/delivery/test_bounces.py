"""The bounce handler: DSNs, feedback reports and other bounces about copies sent over real
SMTP are found by their VERP address (or Message-ID), stored once and acted on by the policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.bounces import Disposition, Handled, handle_event, handle_message
from publisher.delivery.models import Bounce, BounceKind
from publisher.subscribers.models import SuppressionReason
from tests.delivery.bounce_support import (
    BOUNCE_DOMAIN,
    add_week,
    copies,
    dsn,
    exim_bounce,
    feedback_report,
    out_of_office,
    send_edition,
    suppressed,
)
from tests.delivery.sending_support import settings_for, stock


def process(engine: Engine, settings: Settings, raw: bytes, **options: object) -> Handled:
    with session_scope(engine) as session:
        return handle_message(session, settings, raw, source="file", **options)  # type: ignore[arg-type]


def stored(engine: Engine) -> list[Bounce]:
    with Session(engine) as session:
        return list(session.execute(select(Bounce).order_by(Bounce.id)).scalars())


def test_a_hard_bounce_suppresses_at_once_and_counts_once(engine: Engine, sent) -> None:
    settings, senders = sent
    address = "obcan0001@example.org"
    raw = dsn(senders[address], address)
    first = process(engine, settings, raw)
    assert first.disposition is Disposition.recorded and first.kind is BounceKind.hard
    assert (first.address, first.status, first.action) == (address, "5.1.1", "failed")
    assert first.suppressed is SuppressionReason.hard_bounce
    assert "User unknown" in first.diagnostic
    assert suppressed(engine, address) is SuppressionReason.hard_bounce
    assert suppressed(engine, "obcan0002@example.org") is None

    again = process(engine, settings, b"Received: from x by y\r\n" + raw)
    assert again.disposition is Disposition.duplicate and again.ours
    [bounce] = stored(engine)
    assert bounce.delivery_id == copies(engine, first.job_id or 0)[address].id
    assert (bounce.kind, bounce.status, bounce.source) == ("hard", "5.1.1", "file")
    assert bounce.raw == raw and bounce.received_at is not None


def test_the_envelope_recipient_is_trusted_before_the_headers(engine: Engine, sent) -> None:
    settings, senders = sent
    address = "obcan0003@example.org"
    raw = dsn("someone@elsewhere.example", address)
    result = process(engine, settings, raw, recipients=[senders[address]])
    assert result.disposition is Disposition.recorded and result.address == address


def test_without_a_verp_address_the_quoted_message_id_finds_the_copy(engine: Engine, sent) -> None:
    settings, _ = sent
    address = "obcan0002@example.org"
    job_id = stored_job(engine)
    message_id = copies(engine, job_id)[address].message_id
    assert message_id
    raw = dsn("novice@novomesto.example.org", address, original_message_id=message_id)
    result = process(engine, settings, raw)
    assert result.disposition is Disposition.recorded and result.address == address


def stored_job(engine: Engine) -> int:
    from publisher.delivery.models import SendJob

    with Session(engine) as session:
        return int(session.execute(select(func.max(SendJob.id))).scalar_one())


def test_forged_or_foreign_bounces_are_not_ours_and_change_nothing(engine: Engine, sent) -> None:
    settings, senders = sent
    address = "obcan0001@example.org"
    genuine = senders[address]
    local, _, domain = genuine.partition("@")
    altered = f"{local[:-1]}{'x' if local[-1] != 'x' else 'y'}@{domain}"
    other_delivery = local.replace("bounces+", "bounces+9").rpartition("-")[0]
    for raw in (
        dsn(altered, address),
        dsn(f"{other_delivery}-{local.rpartition('-')[2]}@{domain}", address),
        dsn(f"bounces@{domain}", address, original_message_id="made.up.1.abc@example.org"),
        b"From: ana@example.org\r\nTo: bounces@" + domain.encode() + b"\r\n\r\nHvala!\r\n",
        b"\x00\xff not even a message",
    ):
        result = process(engine, settings, raw)
        assert result.disposition is Disposition.not_ours and not result.ours, result
    assert stored(engine) == []
    assert suppressed(engine, address) is None


def test_soft_bounces_suppress_after_three_in_thirty_days(engine: Engine, database_url: str, smtp):
    stock(engine, 2)
    settings = settings_for(database_url, smtp.port, bounce_domain=BOUNCE_DOMAIN)
    address = "obcan0001@example.org"
    weeks = ["2025-W10", "2025-W11", "2025-W12", "2025-W13"]
    for n, week in enumerate(weeks[1:], start=1):
        add_week(engine, week, datetime(2025, 3, 4, 9) + timedelta(weeks=n))
    start = datetime(2025, 3, 8, 9, tzinfo=UTC)
    # One full mailbox (5.2.2) and lasting deferrals (4.2.2): 0, 20, 40 and 45 days on.
    results = []
    statuses = ("5.2.2", "4.2.2", "5.2.2", "4.4.7")
    for week, days, status in zip(weeks, (0, 20, 40, 45), statuses, strict=True):
        with time_machine.travel(start + timedelta(days=days)):
            job_id = send_edition(engine, settings, week)
            sender = smtp.handler.envelope_senders[address]
            results.append(process(engine, settings, dsn(sender, address, status=status)))
            assert copies(engine, job_id)[address].id == results[-1].delivery_id
    assert [r.kind for r in results] == [BounceKind.soft] * 4
    # Day 40: only two within the last 30 days (20 and 40); day 45: three (20, 40, 45).
    assert [r.suppressed for r in results] == [None, None, None, SuppressionReason.soft_bounce]
    assert suppressed(engine, address) is SuppressionReason.soft_bounce
    assert suppressed(engine, "obcan0000@example.org") is None


def test_delays_and_failures_that_say_nothing_of_the_address_are_kept_not_counted(
    engine: Engine, sent
) -> None:
    settings, senders = sent
    address = "obcan0004@example.org"
    delays = [
        process(engine, settings, dsn(senders[address], address, action="delayed", status="4.4.1"))
        for _ in range(4)
    ]
    assert {d.kind for d in delays} == {BounceKind.delayed}
    spam = process(
        engine,
        settings,
        dsn(senders[address], address, status="5.7.1", diagnostic="smtp; 554 5.7.1 spam"),
    )
    assert spam.kind is BounceKind.other and spam.suppressed is None
    delivered = process(
        engine, settings, dsn(senders[address], address, action="delivered", status="2.0.0")
    )
    assert delivered.disposition is Disposition.ignored
    assert suppressed(engine, address) is None
    assert len(stored(engine)) == 5


def test_a_feedback_report_is_a_complaint_that_suppresses_and_counts_per_edition(
    engine: Engine, sent
) -> None:
    settings, senders = sent
    address = "obcan0005@example.org"
    result = process(
        engine,
        settings,
        feedback_report(original_mail_from=senders[address], recipient=address),
    )
    assert result.disposition is Disposition.recorded and result.kind is BounceKind.complaint
    assert result.suppressed is SuppressionReason.complaint
    assert suppressed(engine, address) is SuppressionReason.complaint
    with Session(engine) as session:
        per_edition = session.execute(
            select(Bounce.job_id, func.count())
            .where(Bounce.kind == "complaint")
            .group_by(Bounce.job_id)
        ).all()
    assert per_edition == [(result.job_id, 1)]


def test_a_feedback_report_without_verp_finds_the_copy_by_message_id(engine: Engine, sent) -> None:
    settings, _ = sent
    address = "obcan0002@example.org"
    message_id = copies(engine, stored_job(engine))[address].message_id or ""
    raw = feedback_report(
        original_mail_from="novice@novomesto.example.org",
        recipient=address,
        original_message_id=message_id,
    )
    assert process(engine, settings, raw).kind is BounceKind.complaint


def test_a_non_standard_bounce_is_read_by_flufl_bounce(engine: Engine, sent) -> None:
    settings, senders = sent
    address = "obcan0003@example.org"
    result = process(engine, settings, exim_bounce(senders[address], address))
    assert result.disposition is Disposition.recorded
    # No status code in it: counted as soft, never trusted to suppress at once.
    assert result.kind is BounceKind.soft and result.suppressed is None


def test_an_out_of_office_reply_is_recognised_and_ignored(engine: Engine, sent) -> None:
    settings, senders = sent
    address = "obcan0003@example.org"
    result = process(engine, settings, out_of_office(senders[address], address))
    assert result.disposition is Disposition.ignored and result.ours
    assert "automatic reply" in result.reason
    assert stored(engine) == [] and suppressed(engine, address) is None


def test_events_from_elsewhere_go_through_the_same_policy_once(engine: Engine, sent) -> None:
    settings, _ = sent
    address = "obcan0004@example.org"
    with session_scope(engine) as session:
        first = handle_event(
            session,
            settings,
            source="postmark",
            address=address.upper(),
            kind=BounceKind.complaint,
            raw=b'{"RecordType": "SpamComplaint"}',
            event_id="42",
        )
    with session_scope(engine) as session:
        again = handle_event(
            session,
            settings,
            source="postmark",
            address=address,
            kind=BounceKind.complaint,
            event_id="42",
        )
        unknown = handle_event(
            session,
            settings,
            source="postmark",
            address="nobody@example.org",
            status="5.1.1",
            action="failed",
        )
    assert first.disposition is Disposition.recorded and first.job_id is not None
    assert first.suppressed is SuppressionReason.complaint
    assert again.disposition is Disposition.duplicate
    assert unknown.disposition is Disposition.not_ours
    with session_scope(engine) as session:
        by_status = handle_event(
            session,
            settings,
            source="ses",
            delivery_id=copies(engine, stored_job(engine))["obcan0000@example.org"].id,
            action="failed",
            status="5.1.2",
            diagnostic="smtp; 550 5.1.2 domain not found",
        )
    assert by_status.kind is BounceKind.hard
    assert suppressed(engine, "obcan0000@example.org") is SuppressionReason.hard_bounce
