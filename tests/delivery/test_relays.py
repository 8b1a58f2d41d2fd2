"""Relays as they are, over real SMTP: greylisting, mailboxes that keep deferring, a relay that
refuses everything, 421s and timeouts, a relay down for an hour, a daily cap per relay and a
sending window. Backoff and the next morning come by moving the clock (time-machine), never by
sleeping: the retries read :mod:`publisher.clock`."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import httpx
import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.clock import utcnow
from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery import ledger, limits
from publisher.delivery.limits import HoldCause
from publisher.delivery.models import Delivery, DeliveryStatus, JobState, SendJob
from publisher.delivery.runner import Senders, Sending
from publisher.delivery.worker import SendWorker
from publisher.digests.editions import approve, report
from publisher.digests.models import Edition
from publisher.digests.periods import parse_period
from publisher.subscribers.lists import get_list
from tests.delivery.sending_support import (
    LIST,
    LJUBLJANA,
    PERIOD,
    SmtpServer,
    settings_for,
    stock,
)

MORNING = datetime(2026, 3, 5, 10, 0, tzinfo=LJUBLJANA)
delivery = Delivery.__table__  # type: ignore[attr-defined]


def approved_job(engine: Engine, settings: Settings) -> int:
    with Session(engine) as session:
        edition = approve(
            session, settings, get_list(session, LIST), parse_period(PERIOD), approved_by="test"
        )
        session.commit()
        assert edition.job_id is not None
        return edition.job_id


def rows(engine: Engine) -> dict[str, Delivery]:
    with Session(engine) as session:
        return {row.email: row for row in session.execute(select(Delivery)).scalars()}


def counts(engine: Engine, job_id: int) -> Counter[str]:
    with Session(engine) as session:
        return ledger.counts(session, job_id)


def job(engine: Engine, job_id: int) -> SendJob:
    with Session(engine) as session:
        return ledger.get_job(session, job_id)


def quiet(engine: Engine, job_id: int) -> bool:
    """Nothing queued or in hand, and no deferred row due: the sender waits for the clock."""
    with Session(engine) as session:
        busy = session.execute(
            select(func.count()).where(
                delivery.c.job_id == job_id,
                (delivery.c.status.in_(["queued", "sending"]))
                | ((delivery.c.status == "deferred") & (delivery.c.next_attempt_at <= utcnow())),
            )
        ).scalar_one()
    return busy == 0


def retry_until_done(
    engine: Engine, smtp: SmtpServer, job_id: int, sending: Sending, clock, step: timedelta
) -> None:
    """Let the sender make every attempt it can, then move the clock past the backoff; again,
    until the edition is finished (bounded)."""
    for _ in range(12):
        smtp.handler.wait_for(lambda: quiet(engine, job_id) or not sending.running)
        if not sending.running or not counts(engine, job_id)["deferred"]:
            return
        clock.shift(step)
    left = {(r.status, r.attempts, str(r.next_attempt_at)) for r in rows(engine).values()}
    raise AssertionError(f"not finished after 12 rounds of retries: {left}, now {utcnow()}")


def test_greylisted_first_tries_are_delivered_after_the_retry(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 300)
    greylisted = addresses[::33]  # 10 of 300: about 3 %
    for address in greylisted:
        smtp.handler.script.rcpt[address] = ["451 4.7.1 Greylisted, please try again later"]
    settings = settings_for(database_url, smtp.port, smtp_retry_base=60, delivery_batch=50)
    with time_machine.travel(MORNING, tick=True) as clock:
        job_id = approved_job(engine, settings)
        sending = Senders(engine, settings).start(job_id, by="test")
        smtp.handler.wait_for(lambda: quiet(engine, job_id))
        assert counts(engine, job_id) == Counter(sent=290, deferred=10)
        assert sending.running, "it waits for the retries rather than stopping"
        clock.shift(timedelta(minutes=2))  # past the first backoff (60 s ± 25 %)
        assert sending.wait(60) and sending.error is None
    assert smtp.handler.per_recipient() == Counter({address: 1 for address in addresses})
    assert job(engine, job_id).state == JobState.done
    found = rows(engine)
    assert all(found[address].attempts == 2 for address in greylisted)


def test_mailboxes_that_keep_deferring_fail_soft_and_the_edition_ends_by_itself(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 300)
    full = addresses[::33]
    for address in full:
        smtp.handler.script.rcpt[address] = ["452 4.2.2 Mailbox full"] * 20
    settings = settings_for(
        database_url,
        smtp.port,
        smtp_retry_base=60,
        smtp_max_attempts=4,
        delivery_batch=50,
        pause_window=20,  # a retry batch holds only the full mailboxes: that must not pause
    )
    with time_machine.travel(MORNING, tick=True) as clock:
        job_id = approved_job(engine, settings)
        sending = Senders(engine, settings).start(job_id, by="test")
        retry_until_done(engine, smtp, job_id, sending, clock, timedelta(hours=1))
        assert sending.wait(60) and sending.error is None
    assert counts(engine, job_id) == Counter(sent=290, failed=10)
    finished = job(engine, job_id)
    assert finished.state == JobState.done and finished.state_reason == ""
    found = rows(engine)
    for address in full:
        assert found[address].status == DeliveryStatus.failed
        assert found[address].attempts == 4 and found[address].last_code == 452
    received = smtp.handler.per_recipient()
    assert set(received) == set(addresses) - set(full) and set(received.values()) == {1}


def test_a_relay_that_refuses_everything_pauses_after_the_window_with_the_reason(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 200)
    for address in addresses:
        smtp.handler.script.rcpt[address] = ["451 4.7.1 Sender temporarily blocked"] * 5
    settings = settings_for(database_url, smtp.port, pause_window=20, delivery_batch=50)
    job_id = approved_job(engine, settings)
    sending = Senders(engine, settings).start(job_id, by="test")
    assert sending.wait(60) and sending.error is None
    paused = job(engine, job_id)
    assert paused.state == JobState.paused
    assert "20 of the last 20 first attempts failed" in paused.state_reason
    assert "451 4.7.1 Sender temporarily blocked" in paused.state_reason
    tried = counts(engine, job_id)
    assert tried["sent"] == 0
    assert 20 <= tried["deferred"] <= 20 + settings.smtp_pool, "it stopped at once"


def test_a_job_the_stop_rule_paused_stays_halted_when_a_state_read_before_the_pause_comes_in(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    """The watch reads job states on its own; a read begun before this worker committed its
    pause still says "active" and must not set the paused job sending again."""
    stock(engine, 3)
    settings = settings_for(database_url, smtp.port)
    job_id = approved_job(engine, settings)
    worker = SendWorker(engine, settings, job_ids=(job_id,))
    worker._pausing[job_id] = "paused: test"
    with session_scope(engine) as session:
        worker._pause_halted(session)
    worker._take_states({job_id: JobState.active})  # the stale read
    assert job_id in worker._halted
    worker._take_states({job_id: JobState.paused})  # the pause read back
    worker._take_states({job_id: JobState.active})  # staff resumed it
    assert job_id not in worker._halted
    assert job(engine, job_id).state == JobState.paused


def test_421_and_timeouts_are_retried_without_counting_against_recipients(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 60)
    for address in addresses[5:9]:
        smtp.handler.script.rcpt[address] = ["421 4.7.0 Too many connections, slow down"] * 2
    smtp.handler.script.stall[addresses[20]] = 1
    smtp.handler.script.stall_for = 2.0
    # Four 421s among five first attempts would pause the edition if they counted.
    settings = settings_for(database_url, smtp.port, smtp_timeout=0.5, pause_window=5)
    job_id = approved_job(engine, settings)
    sending = Senders(engine, settings).start(job_id, by="test")
    assert sending.wait(60) and sending.error is None
    assert smtp.handler.per_recipient() == Counter({address: 1 for address in addresses})
    assert counts(engine, job_id) == Counter(sent=60)
    found = rows(engine)
    assert {found[a].attempts for a in [*addresses[5:9], addresses[20]]} == {1}
    assert sending.tally.relay_troubles >= 2 and sending.tally.failed == 0


def test_a_relay_down_for_an_hour_loses_nobody_and_sends_nobody_twice(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 200)
    smtp.handler.script.delay = 0.01
    settings = settings_for(
        database_url,
        smtp.port,
        smtp_reconnect_base=60,
        smtp_reconnect_max=600,
        smtp_max_attempts=2,
        smtp_timeout=2,
        delivery_batch=25,
    )
    handler = smtp.handler

    def nothing_in_hand() -> bool:
        return counts(engine, job_id)["sending"] == 0

    with time_machine.travel(MORNING, tick=True) as clock:
        job_id = approved_job(engine, settings)
        sending = Senders(engine, settings).start(job_id, by="test")
        handler.wait_for(lambda: len(handler.received) >= 50)
        # Every connection waits at RCPT, none is in DATA: the relay goes down between copies.
        handler.script.park = True
        handler.wait_for(lambda: handler.parked >= settings.smtp_pool and handler.in_data == 0)
        smtp.stop()
        handler.wait_for(lambda: sending.tally.relay_troubles >= 1 and nothing_in_hand())
        clock.shift(timedelta(hours=1))
        handler.wait_for(lambda: sending.tally.relay_troubles >= 2 and nothing_in_hand())
        waiting = counts(engine, job_id)
        assert waiting["failed"] == waiting["deferred"] == 0, "nobody is held responsible"
        assert waiting["queued"] > 0 and job(engine, job_id).state == JobState.active
        assert sending.running
        smtp.start()
        clock.shift(timedelta(minutes=15))  # past the next, doubled wait
        assert sending.wait(60) and sending.error is None
    assert handler.per_recipient() == Counter({address: 1 for address in addresses})
    assert counts(engine, job_id) == Counter(sent=200)


def test_the_daily_cap_is_kept_per_relay_and_the_edition_continues_the_next_morning(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 120)
    settings = settings_for(
        database_url, smtp.port, smtp_daily_cap=50, sending_window="07:00-21:00"
    )
    afternoon = datetime(2026, 3, 5, 15, 0, tzinfo=LJUBLJANA)
    with time_machine.travel(afternoon, tick=True) as clock:
        job_id = approved_job(engine, settings)
        senders = Senders(engine, settings)
        first = senders.start(job_id, by="test")
        assert first.wait(60) and first.error is None, "the sender hands the rest back"
        assert len(smtp.handler.received) == 50
        with Session(engine) as session:
            edition = session.execute(select(Edition)).scalars().one()
            held = report(session, edition, settings).held
        assert held is not None and held.cause is HoldCause.cap
        assert held.until == datetime(2026, 3, 6, 7, 0, tzinfo=LJUBLJANA)
        assert limits.describe(held, settings, "en").endswith("continues tomorrow at 7:00")
        assert limits.describe(held, settings, "sl").endswith("se nadaljuje jutri ob 7.00")
        assert senders.resume_waiting() == []

        clock.shift(timedelta(minutes=1))  # the first sender's last record is not recent
        with SmtpServer() as other:  # another relay has a cap of its own
            elsewhere = Senders(
                engine,
                settings_for(
                    database_url, other.port, smtp_daily_cap=50, sending_window="07:00-21:00"
                ),
            )
            assert elsewhere.resume_waiting() == [job_id]
            through = elsewhere.get(job_id)
            assert through is not None and through.wait(60) and through.error is None
            through_other = set(other.handler.per_recipient())
            assert len(through_other) == 50

        clock.move_to(datetime(2026, 3, 6, 6, 59, tzinfo=LJUBLJANA))
        assert senders.resume_waiting() == [], "a new day, but the window is not open yet"
        clock.move_to(datetime(2026, 3, 6, 7, 0, 1, tzinfo=LJUBLJANA))
        assert senders.resume_waiting() == [job_id]
        second = senders.get(job_id)
        assert second is not None and second.wait(60) and second.error is None
    received = smtp.handler.per_recipient()
    assert len(received) == 70 and not set(received) & through_other
    assert set(received) | through_other == set(addresses)
    assert set(received.values()) == {1}
    assert job(engine, job_id).state == JobState.done


def test_an_edition_that_leaves_the_sending_window_waits_until_it_opens(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 300)
    smtp.handler.script.delay = 0.05
    settings = settings_for(
        database_url, smtp.port, smtp_pool=2, delivery_batch=10, sending_window="07:00-21:00"
    )
    with time_machine.travel(
        datetime(2026, 3, 5, 20, 59, 57, tzinfo=LJUBLJANA), tick=True
    ) as clock:
        job_id = approved_job(engine, settings)
        senders = Senders(engine, settings)
        evening = senders.start(job_id, by="test")
        assert evening.wait(60) and evening.error is None
        by_night = len(smtp.handler.received)
        assert 0 < by_night < 300
        assert counts(engine, job_id)["queued"] == 300 - by_night
        with Session(engine) as session:
            edition = session.execute(select(Edition)).scalars().one()
            held = report(session, edition, settings).held
        assert held is not None and held.cause is HoldCause.window
        assert limits.describe(held, settings, "en") == (
            "outside the sending window (07:00–21:00); continues tomorrow at 7:00"
        )
        clock.shift(timedelta(hours=9))  # 6:00: still night
        assert senders.resume_waiting() == []
        clock.move_to(datetime(2026, 3, 6, 7, 0, tzinfo=LJUBLJANA))
        assert senders.resume_waiting() == [job_id]
        morning = senders.get(job_id)
        assert morning is not None and morning.wait(60) and morning.error is None
    assert smtp.handler.per_recipient() == Counter({address: 1 for address in addresses})


def test_the_admin_digest_status_and_the_api_say_when_a_waiting_edition_continues(
    engine: Engine, database_url: str, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from publisher.cli import app as cli_app
    from publisher.db import session_scope
    from publisher.staff.accounts import add_staff
    from publisher.staff.api_tokens import create_token
    from publisher.staff.models import Role
    from publisher.web.app import create_app
    from tests.conftest import TEST_SECRET
    from tests.web.admin_support import STAFF_EMAIL, STAFF_PASSWORD, login
    from tests.web.conftest import serve

    stock(engine, 12)
    with session_scope(engine) as session:
        add_staff(session, STAFF_EMAIL, STAFF_PASSWORD, "Urednica Ana", Role.approver)
        _, token = create_token(session, "cms", Role.approver)
    window = "07:00-21:00"
    with time_machine.travel(datetime(2026, 3, 5, 22, 15, tzinfo=LJUBLJANA), tick=True):
        settings = settings_for(database_url, smtp.port, sending_window=window)
        job_id = approved_job(engine, settings)
        Senders(engine, settings).start(job_id, by="test").wait(60)
        assert len(smtp.handler.received) == 0, "nothing goes out at night"
        with Session(engine) as session:
            edition_id = session.execute(select(Edition.id)).scalar_one()

        def make_app(url: str):  # type: ignore[no-untyped-def]
            return create_app(settings_for(database_url, smtp.port, sending_window=window), engine)

        with serve(make_app) as (url, app), httpx.Client(base_url=url, timeout=30) as client:
            assert login(client).status_code == 303
            page = client.get(f"/admin/editions/{edition_id}")
            assert page.status_code == 200
            assert (
                "Pošiljanje čaka: zunaj časa pošiljanja (07:00–21:00); se nadaljuje jutri ob 7.00."
                in page.text
            )
            answer = client.get(
                f"/api/editions/{edition_id}", headers={"Authorization": f"Bearer {token}"}
            ).json()
            app.state.senders.stop_all()
        assert answer["state"] == "sending"
        resumes = datetime.fromisoformat(answer["resumes_at"])
        assert resumes == datetime(2026, 3, 6, 7, 0, tzinfo=LJUBLJANA)
        assert answer["waiting"].endswith("continues tomorrow at 7:00")

        for key, value in {
            "PUBLISHER_DATABASE_URL": database_url,
            "PUBLISHER_SECRET_KEY": TEST_SECRET,
            "PUBLISHER_SMTP_PORT": str(smtp.port),
            "PUBLISHER_SENDING_WINDOW": window,
            "COLUMNS": "200",
        }.items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(cli_app, ["digest", "status", str(edition_id)])
    assert result.exit_code == 0, result.output
    assert "Waiting: outside the sending window (07:00–21:00); continues tomorrow at 7:00." in (
        result.output
    )


def test_a_window_across_midnight_holds_editions_by_day() -> None:
    settings = settings_for("sqlite://", 25, sending_window="21:00-06:00")
    noon = datetime(2026, 3, 5, 12, 0, tzinfo=LJUBLJANA)
    hold = limits.window_hold(settings, noon)
    assert hold is not None and hold.until == datetime(2026, 3, 5, 21, 0, tzinfo=LJUBLJANA)
    assert limits.window_hold(settings, datetime(2026, 3, 5, 23, 0, tzinfo=LJUBLJANA)) is None
    assert limits.window_hold(settings, datetime(2026, 3, 6, 5, 59, tzinfo=LJUBLJANA)) is None
    capped = limits.cap_hold(settings, datetime(2026, 3, 5, 23, 0, tzinfo=LJUBLJANA))
    assert capped.until == datetime(2026, 3, 6, 0, 0, tzinfo=LJUBLJANA), "inside the window"
