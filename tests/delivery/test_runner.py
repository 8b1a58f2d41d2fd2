"""The sender runner: one sending per job in a process, restarted cleanly, resumed when nobody
sends a job, and the only place a sender is made."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.db import session_scope
from publisher.delivery import ledger
from publisher.delivery.runner import Senders
from publisher.delivery.worker import AnotherSenderRunning, SendWorker
from publisher.digests.editions import approve
from publisher.digests.periods import parse_period
from publisher.i18n import format_moment
from publisher.subscribers.lists import get_list
from tests.delivery.sending_support import LIST, PERIOD, settings_for, stock


def approved_job(engine: Engine, settings) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        edition = approve(
            session, settings, get_list(session, LIST), parse_period(PERIOD), approved_by="test"
        )
        session.commit()
        assert edition.job_id is not None
        return edition.job_id


def test_asking_again_while_a_job_is_sent_joins_that_sending_and_it_looks_once_more(
    engine: Engine, database_url: str, smtp
) -> None:
    addresses = stock(engine, 30)
    smtp.handler.script.delay = 0.02
    settings = settings_for(database_url, smtp.port)
    job_id = approved_job(engine, settings)
    senders = Senders(engine, settings)
    first = senders.start(job_id, by="admin")
    second = senders.start(job_id, by="API")  # a resume clicked while it finishes
    assert second is first and first.again
    assert first.wait(60) and first.error is None
    assert senders.get(job_id) is first and not first.running
    assert smtp.handler.per_recipient() == Counter({address: 1 for address in addresses})
    assert first.tally.sent == 30


def test_resuming_starts_a_sender_only_for_jobs_nobody_sends(
    engine: Engine, database_url: str, smtp
) -> None:
    addresses = stock(engine, 40)
    smtp.handler.script.delay = 0.02
    settings = settings_for(database_url, smtp.port)
    job_id = approved_job(engine, settings)  # approved, queued, nobody sending
    senders = Senders(engine, settings)
    assert not senders.is_sending(job_id)
    assert senders.resume_waiting() == [job_id]
    assert senders.is_sending(job_id)
    assert senders.resume_waiting() == []  # already in hand
    sending = senders.get(job_id)
    assert sending is not None and sending.started_by == "resumed by the server"
    assert sending.wait(60) and sending.error is None
    assert senders.resume_waiting() == []  # nothing is due any more
    assert sorted(smtp.handler.per_recipient()) == sorted(addresses)


def test_stopping_every_sender_hands_the_rest_back(engine: Engine, database_url: str, smtp) -> None:
    stock(engine, 80)
    smtp.handler.script.delay = 0.05
    settings = settings_for(database_url, smtp.port)
    job_id = approved_job(engine, settings)
    senders = Senders(engine, settings)
    sending = senders.start(job_id, by="test")
    smtp.handler.wait_for(lambda: len(smtp.handler.received) >= 5, timeout=30)
    senders.stop_all()
    assert not sending.running and sending.stopped
    sent = len(smtp.handler.per_recipient())
    assert 5 <= sent < 80
    again = Senders(engine, settings).start(job_id, by="test")  # a later process resumes
    assert again.wait(60) and again.error is None
    assert len(smtp.handler.per_recipient()) == 80


def test_a_second_sender_on_sqlite_is_told_since_when_the_first_runs_in_local_time(
    engine: Engine, database_url: str, smtp
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL lets several senders run")
    settings = settings_for(database_url, smtp.port)
    started = datetime(2026, 12, 3, 16, 52, 13, tzinfo=UTC)  # 17.52 in Novo mesto
    with time_machine.travel(started, tick=False), session_scope(engine) as session:
        ledger.register_worker(session, "first", "strežnik", 4242)
        with pytest.raises(AnotherSenderRunning) as refused:
            SendWorker(engine, settings)._register(session)
    message = str(refused.value)
    assert "(strežnik, pid 4242, since 3\xa0December 2026, 17:52)" in message
    assert format_moment(started, "en", settings.tz) in message and "UTC" not in message
