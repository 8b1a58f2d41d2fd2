"""The circuit breaker: too many hard bounces or complaints pause a sending edition, once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.db import session_scope
from publisher.delivery import ledger
from publisher.delivery.bounces import handle_event
from publisher.delivery.models import BounceKind, DeliveryStatus, JobState, SendJob
from publisher.delivery.reasons import reason_in
from publisher.delivery.runner import Senders, Sending
from publisher.digests.editions import Control, approve, control
from publisher.digests.models import Edition
from publisher.digests.periods import parse_period
from publisher.subscribers.lists import get_list
from tests.delivery.bounce_support import BOUNCE_DOMAIN, copies
from tests.delivery.sending_support import LIST, PERIOD, SmtpServer, settings_for, stock

CAP = 510
"""Copies the day's cap lets out: the edition (520) stays active, waiting for tomorrow."""


@pytest.fixture
def waiting(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> Iterator[tuple[int, int, list[int]]]:
    """An edition of 520 that has sent 510 and waits: (edition id, job id, sent delivery ids)."""
    stock(engine, 520)
    settings = settings_for(
        database_url,
        smtp.port,
        bounce_domain=BOUNCE_DOMAIN,
        smtp_daily_cap=CAP,
        delivery_batch=100,
        smtp_pool=8,
    )
    with Session(engine) as session:
        edition = approve(
            session, settings, get_list(session, LIST), parse_period(PERIOD), approved_by="test"
        )
        session.commit()
        edition_id, job_id = int(edition.id or 0), int(edition.job_id or 0)
    sending: Sending = Senders(engine, settings).start(job_id, by="test")
    try:
        deadline = time.monotonic() + 120
        while _sent(engine, job_id) < CAP:
            assert time.monotonic() < deadline, "the sender did not reach the day's cap"
            time.sleep(0.1)
        sent = [r.id for r in copies(engine, job_id).values() if r.status == "sent"]
        yield edition_id, job_id, [int(i or 0) for i in sent]
    finally:
        sending.worker.request_stop()
        assert sending.wait(60)


def _sent(engine: Engine, job_id: int) -> int:
    with Session(engine) as session:
        return ledger.counts(session, job_id)[DeliveryStatus.sent.value]


def _job(engine: Engine, job_id: int) -> SendJob:
    with Session(engine) as session:
        job = session.get(SendJob, job_id)
        assert job is not None
        return job


def _report(engine: Engine, database_url: str, delivery_id: int, kind: BounceKind) -> str:
    settings = settings_for(database_url, 25, bounce_domain=BOUNCE_DOMAIN)
    with session_scope(engine) as session:
        return handle_event(
            session,
            settings,
            source="test",
            delivery_id=delivery_id,
            kind=kind,
            event_id=f"{kind}-{delivery_id}",
        ).reason


def test_hard_bounces_past_five_percent_pause_the_edition_until_staff_resume(
    engine: Engine, database_url: str, waiting
) -> None:
    edition_id, job_id, sent = waiting
    for delivery_id in sent[:25]:  # 25 of 510: 4.9 %
        _report(engine, database_url, delivery_id, BounceKind.hard)
    assert _job(engine, job_id).state == JobState.active
    reason = _report(engine, database_url, sent[25], BounceKind.hard)  # 26: 5.1 %
    job = _job(engine, job_id)
    assert job.state == JobState.paused
    assert "circuit breaker" in job.state_reason and "26 hard bounces" in job.state_reason
    assert "510 copies" in job.state_reason and "circuit breaker" in reason
    assert reason_in(job.state_reason, "sl") == (  # as the admin shows it
        "ustavila varovalka: 26 trajnih zavrnitev (5.1 %, meja 5.0 %) med 510 poslanimi "
        "izvodi; preden nadaljujete, preglejte zavrnitve"
    )

    with session_scope(engine) as session:
        control(session, session.get(Edition, edition_id), Control.resume)  # staff looked
    _report(engine, database_url, sent[26], BounceKind.hard)
    assert _job(engine, job_id).state == JobState.active  # it trips once per edition


def test_complaints_past_three_in_a_thousand_pause_the_edition(
    engine: Engine, database_url: str, waiting
) -> None:
    _, job_id, sent = waiting
    _report(engine, database_url, sent[0], BounceKind.complaint)  # 1 of 510: 0.2 %
    for delivery_id in sent[1:5]:
        _report(engine, database_url, delivery_id, BounceKind.soft)  # soft ones never trip it
    assert _job(engine, job_id).state == JobState.active
    _report(engine, database_url, sent[1], BounceKind.complaint)  # 2 of 510: 0.39 %
    job = _job(engine, job_id)
    assert job.state == JobState.paused and "2 complaints" in job.state_reason
