"""Sending an edition over real SMTP: once to everyone, retried, failed, resumed, controlled."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.addresses import address_hash
from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery import ledger
from publisher.delivery.models import Bounce, BounceKind, Delivery, DeliveryStatus
from publisher.delivery.runner import Senders
from publisher.digests.editions import (
    Control,
    approve,
    control,
    report,
)
from publisher.digests.models import Edition
from publisher.digests.periods import parse_period
from publisher.subscribers.lists import get_list
from publisher.subscribers.models import Source
from publisher.subscribers.subscriptions import subscribe
from publisher.subscribers.suppression import suppression_of
from tests.delivery.sending_support import (
    LIST,
    PERIOD,
    cli_env,
    settings_for,
    start_cli,
    stock,
)


def approve_edition(engine: Engine, settings: Settings) -> int:
    with Session(engine) as session:
        edition = approve(
            session, settings, get_list(session, LIST), parse_period(PERIOD), approved_by="test"
        )
        session.commit()
        return int(edition.id or 0)


def deliveries(engine: Engine) -> dict[str, Delivery]:
    with Session(engine) as session:
        return {row.email: row for row in session.execute(select(Delivery)).scalars()}


def send(engine: Engine, settings: Settings, edition_id: int) -> None:
    """Send through the one runner, as every shell does, and wait for the sender to end."""
    with Session(engine) as session:
        edition = session.get(Edition, edition_id)
        assert edition is not None and edition.job_id is not None
        job_id = edition.job_id
    sending = Senders(engine, settings).start(job_id, by="test")
    assert sending.wait(120), "the sender did not finish"
    assert sending.error is None, sending.error


def test_every_subscriber_gets_exactly_one_message(engine: Engine, database_url: str, smtp) -> None:
    addresses = stock(engine, 45)
    settings = settings_for(database_url, smtp.port)
    edition_id = approve_edition(engine, settings)
    send(engine, settings, edition_id)
    assert smtp.handler.per_recipient() == Counter({address: 1 for address in addresses})
    rows = deliveries(engine)
    assert {row.status for row in rows.values()} == {DeliveryStatus.sent}
    assert all(row.last_code == 250 and row.sent_at is not None for row in rows.values())

    recipient, raw, _ = smtp.handler.received[0]
    message = message_from_bytes(raw, policy=policy.default)
    assert message["To"].addresses[0].addr_spec == recipient
    assert message["X-Publisher-Edition"] == f"{LIST}/{PERIOD}"
    assert message["Message-ID"] == f"<{rows[recipient].message_id}>"
    assert "/unsubscribe/" in message["List-Unsubscribe"]
    languages = {
        address: message_from_bytes(raw, policy=policy.default)["Content-Language"]
        for address, raw, _ in smtp.handler.received
    }
    assert languages["obcan0000@example.org"] == "en"
    assert languages["obcan0001@example.org"] == "sl"

    send(engine, settings, edition_id)  # a finished edition sends nothing more
    assert len(smtp.handler.received) == 45


def test_temporary_failure_is_retried_and_sent(engine: Engine, database_url: str, smtp) -> None:
    addresses = stock(engine, 5)
    smtp.handler.script.data[addresses[1]] = ["451 4.3.0 try again later"]
    smtp.handler.script.rcpt[addresses[2]] = ["450 4.2.1 mailbox busy"]
    settings = settings_for(database_url, smtp.port)
    send(engine, settings, approve_edition(engine, settings))
    assert smtp.handler.per_recipient() == Counter({address: 1 for address in addresses})
    rows = deliveries(engine)
    assert rows[addresses[1]].status == DeliveryStatus.sent and rows[addresses[1]].attempts == 2
    assert rows[addresses[2]].attempts == 2


def test_permanent_refusal_fails_at_once_and_suppresses_the_address(
    engine: Engine, database_url: str, smtp
) -> None:
    addresses = stock(engine, 4)
    smtp.handler.script.rcpt[addresses[0]] = ["550 5.1.1 no such user"]
    smtp.handler.script.data[addresses[1]] = ["554 5.7.1 message refused as spam"]
    settings = settings_for(database_url, smtp.port)
    edition_id = approve_edition(engine, settings)
    send(engine, settings, edition_id)
    rows = deliveries(engine)
    assert rows[addresses[0]].status == DeliveryStatus.failed
    assert rows[addresses[0]].attempts == 1 and rows[addresses[0]].last_code == 550
    assert "no such user" in rows[addresses[0]].last_reply
    assert rows[addresses[1]].status == DeliveryStatus.failed
    with Session(engine) as session:
        assert suppression_of(session, address_hash(addresses[0])) is not None
        # A refused message (spam verdict) says nothing bad about the address itself.
        assert suppression_of(session, address_hash(addresses[1])) is None
        result = report(session, session.get(Edition, edition_id))
    assert result.counts["failed"] == 2 and result.counts["sent"] == 2
    assert dict(result.top_failures) == {
        "550 5.1.1 no such user": 1,
        "554 5.7.1 message refused as spam": 1,
    }


def test_a_refusal_at_rcpt_goes_through_the_bounce_policy(
    engine: Engine, database_url: str, smtp
) -> None:
    """Only a bad mailbox (5.1.1) suppresses at once; a full one (5.2.2) is counted soft and a
    refusal of the relay's own (5.7.1) says nothing about the address; all are the edition's
    bounces, beside those that come back as DSNs."""
    unknown, full, denied, good = stock(engine, 4)
    smtp.handler.script.rcpt[unknown] = ["550 5.1.1 no such user"]
    smtp.handler.script.rcpt[full] = ["552 5.2.2 mailbox full"]
    smtp.handler.script.rcpt[denied] = ["550 5.7.1 relay denied"]
    settings = settings_for(database_url, smtp.port)
    edition_id = approve_edition(engine, settings)
    send(engine, settings, edition_id)
    rows = deliveries(engine)
    assert [rows[a].status for a in (unknown, full, denied, good)] == [
        DeliveryStatus.failed,
        DeliveryStatus.failed,
        DeliveryStatus.failed,
        DeliveryStatus.sent,
    ]
    with Session(engine) as session:
        reasons = {a: suppression_of(session, address_hash(a)) for a in (unknown, full, denied)}
        bounces = {b.address: b for b in session.execute(select(Bounce)).scalars()}
        result = report(session, session.get(Edition, edition_id))
    assert reasons[unknown] is not None and reasons[unknown].reason == "hard_bounce"
    assert reasons[full] is None and reasons[denied] is None
    assert {a: (b.kind, b.status, b.source) for a, b in bounces.items()} == {
        unknown: (BounceKind.hard, "5.1.1", "smtp"),
        full: (BounceKind.soft, "5.2.2", "smtp"),
        denied: (BounceKind.other, "5.7.1", "smtp"),
    }
    assert bounces[denied].diagnostic == "550 5.7.1 relay denied"
    assert bounces[full].delivery_id == rows[full].id
    assert result.bounces == Counter({"hard": 1, "soft": 1, "other": 1})


def test_a_refusal_without_an_enhanced_code_is_counted_soft(
    engine: Engine, database_url: str, smtp
) -> None:
    """A bare "550 no such user" carries no RFC 3463 code: counted, as a DSN without one is,
    and the address suppressed only after the soft-bounce limit."""
    (address,) = stock(engine, 1)
    smtp.handler.script.rcpt[address] = ["550 no such user here"]
    settings = settings_for(database_url, smtp.port)
    send(engine, settings, approve_edition(engine, settings))
    with Session(engine) as session:
        (bounce,) = session.execute(select(Bounce)).scalars()
        assert suppression_of(session, address_hash(address)) is None
    assert (bounce.kind, bounce.status) == (BounceKind.soft, "")


def test_dropped_connection_is_survived(engine: Engine, database_url: str, smtp) -> None:
    addresses = stock(engine, 6)
    smtp.handler.script.drop[addresses[3]] = 1
    settings = settings_for(database_url, smtp.port)
    send(engine, settings, approve_edition(engine, settings))
    assert smtp.handler.per_recipient() == Counter({address: 1 for address in addresses})
    assert deliveries(engine)[addresses[3]].attempts == 2


def test_pause_resume_and_cancel_take_effect_quickly(
    engine: Engine, database_url: str, smtp
) -> None:
    addresses = stock(engine, 120)
    smtp.handler.script.delay = 0.03
    settings = settings_for(database_url, smtp.port, smtp_pool=2, delivery_batch=10)
    edition_id = approve_edition(engine, settings)
    sender = threading.Thread(target=send, args=(engine, settings, edition_id))
    sender.start()
    smtp.handler.wait_for(lambda: len(smtp.handler.received) >= 10)
    with Session(engine) as session:
        control(session, session.get(Edition, edition_id), Control.pause, "test")
        session.commit()
    paused_at = time.monotonic()
    sender.join(timeout=10)
    assert not sender.is_alive(), "the inline sender returns when its edition is paused"
    assert time.monotonic() - paused_at < 1.5
    settled = len(smtp.handler.received)
    assert 10 <= settled < 120
    assert all(n == 1 for n in smtp.handler.per_recipient().values())

    with Session(engine) as session:
        control(session, session.get(Edition, edition_id), Control.resume)
        session.commit()
    sender = threading.Thread(target=send, args=(engine, settings, edition_id))
    sender.start()
    smtp.handler.wait_for(lambda: len(smtp.handler.received) >= settled + 10)
    with Session(engine) as session:
        control(session, session.get(Edition, edition_id), Control.cancel, "test")
        session.commit()
    sender.join(timeout=10)
    assert not sender.is_alive()
    received = smtp.handler.per_recipient()
    assert all(n == 1 for n in received.values()), "pause and resume duplicated nobody"
    with Session(engine) as session:
        result = report(session, session.get(Edition, edition_id))
    assert result.state == "cancelled"
    assert result.counts["sent"] == len(received)
    assert result.counts["sent"] + result.counts["cancelled"] == len(addresses)


def test_rate_limit_is_kept(engine: Engine, database_url: str, smtp) -> None:
    stock(engine, 40)
    settings = settings_for(database_url, smtp.port, smtp_rate=20.0)
    send(engine, settings, approve_edition(engine, settings))
    times = sorted(at for _, _, at in smtp.handler.received)
    assert len(times) == 40
    observed = (len(times) - 1) / (times[-1] - times[0])
    assert observed <= 20.0 * 1.10, f"{observed:.1f} msg/s exceeds the limit of 20/s by >10 %"
    assert observed >= 20.0 * 0.5, f"{observed:.1f} msg/s: the limiter throttles far too hard"


KILLS = 3
POOL = 8
"""The default pool: a crash may send twice at most this many copies, the ones in flight."""


def test_sender_killed_at_random_moments_sends_twice_at_most_the_copies_in_flight(
    engine: Engine, database_url: str, smtp, tmp_path: Path
) -> None:
    """``kill -9`` of ``publisher worker`` mid-send, three times at seeded random moments,
    then a worker that finishes: nobody is lost, and each kill sends again only copies the
    relay had taken whose outcome was not yet in the ledger, never more than the pool."""
    moments = random.Random(13)
    addresses = stock(engine, 300)
    settings = settings_for(database_url, smtp.port)
    edition_id = approve_edition(engine, settings)
    env = cli_env(
        database_url, smtp.port, PUBLISHER_SMTP_POOL=str(POOL), PUBLISHER_DELIVERY_BATCH="100"
    )
    at_risk: Counter[str] = Counter()
    for _ in range(KILLS):
        before = smtp.handler.per_recipient()
        worker = start_cli("worker", env=env, cwd=tmp_path)
        kill_at = len(smtp.handler.received) + moments.randint(1, 80)
        try:
            smtp.handler.wait_for(lambda n=kill_at: len(smtp.handler.received) >= n, timeout=60)
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        received = smtp.handler.per_recipient()
        assert len(received) < len(addresses), "the worker finished before it was killed"
        rows = deliveries(engine)
        # This run's copies that the ledger does not show as sent: the next run sends them.
        unrecorded = [a for a in received - before if rows[a].status != DeliveryStatus.sent]
        assert len(unrecorded) <= POOL, (
            f"{len(unrecorded)} copies taken by the relay but not in the ledger after the kill"
        )
        assert all(rows[a].status != DeliveryStatus.sent for a in set(addresses) - set(received))
        at_risk.update(unrecorded)

    worker = start_cli("worker", env=env, cwd=tmp_path)
    try:

        def finished() -> bool:
            with Session(engine) as session:
                return report(session, session.get(Edition, edition_id)).state == "sent"

        smtp.handler.wait_for(finished, timeout=90)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    received = smtp.handler.per_recipient()
    assert set(received) == set(addresses), "nobody is lost"
    twice = Counter({address: n - 1 for address, n in received.items() if n > 1})
    assert twice == at_risk, "only the copies in flight at a kill were sent again"
    with Session(engine) as session:
        assert report(session, session.get(Edition, edition_id)).counts["sent"] == 300


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_send_a_row_twice(
    engine: Engine, database_url: str, smtp, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several sender processes need PostgreSQL (SQLite allows one)")
    addresses = stock(engine, 400)
    settings = settings_for(database_url, smtp.port)
    env = cli_env(database_url, smtp.port)
    workers = [start_cli("worker", env=env, cwd=tmp_path) for _ in range(2)]
    try:

        def both_running() -> bool:
            with Session(engine) as session:
                return len(ledger.live_workers(session, timedelta(minutes=1))) == 2

        smtp.handler.wait_for(both_running, timeout=60)
        edition_id = approve_edition(engine, settings)  # both workers share its queue
        smtp.handler.wait_for(lambda: len(smtp.handler.received) >= 400, timeout=120)

        def finished() -> bool:
            with Session(engine) as session:
                return report(session, session.get(Edition, edition_id)).state == "sent"

        smtp.handler.wait_for(finished, timeout=30)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.communicate(timeout=30)
    assert smtp.handler.per_recipient() == Counter({address: 1 for address in addresses})
    assert all(worker.returncode == 0 for worker in workers)
    with Session(engine) as session:
        assert ledger.live_workers(session, timedelta(days=1)) == [], "workers unregistered"


def test_configured_dkim_key_signs_every_copy(
    engine: Engine, database_url: str, smtp, tmp_path: Path
) -> None:
    """RSA-2048, as receivers require, on every copy as it arrives over SMTP: names with
    č, š, ž in encoded words, and a UTF-8 address in a raw UTF-8 To header (SMTPUTF8)."""
    import dkim

    from tests.mail.test_dkim import rsa_keys

    private, record = rsa_keys()
    key_file = tmp_path / "dkim.key"
    key_file.write_bytes(private)
    addresses = stock(engine, 6)
    with session_scope(engine) as session:
        subscribe(
            session,
            "žiga.šušteršič@example.org",
            LIST,
            source=Source.staff,
            name="Žiga „Žiži“ Šušteršič",
            confirmed=True,
        )
    settings = settings_for(
        database_url,
        smtp.port,
        dkim_domain="novomesto.example.org",
        dkim_selector="novice2025",
        dkim_key_path=str(key_file),
    )
    send(engine, settings, approve_edition(engine, settings))
    received = {rcpt: raw for rcpt, raw, _ in smtp.handler.received}
    assert set(received) == {*addresses, "žiga.šušteršič@example.org"}
    for raw in received.values():
        assert raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple;")
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)
    assert "Žiga „Žiži“ Šušteršič".encode() in received["žiga.šušteršič@example.org"]
