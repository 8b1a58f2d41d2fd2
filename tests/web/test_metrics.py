"""``/metrics`` over real HTTP after real sends to aiosmtpd: the figures are the ledger's, by
list; off by default, and 404 to an address ``metrics_allow`` does not name (also behind a
trusted proxy); ``publisher worker`` answers on its own port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import time_machine
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.clock import utcnow
from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery import ledger
from publisher.delivery.bounces import handle_event
from publisher.delivery.models import BounceKind, DeliveryStatus
from publisher.delivery.runner import Senders
from publisher.digests.editions import approve
from publisher.digests.models import Edition
from publisher.digests.periods import parse_period
from publisher.subscribers.lists import create_list, get_list
from publisher.subscribers.models import Source
from publisher.subscribers.subscriptions import subscribe
from publisher.web.app import create_app
from tests.delivery.sending_support import (
    LIST,
    PERIOD,
    SmtpServer,
    cli_env,
    free_port,
    settings_for,
    start_cli,
    stock,
)
from tests.web.conftest import serve

OTHER = "obvestila"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@contextmanager
def site(engine: Engine, settings: Settings, **overrides: Any) -> Iterator[str]:
    def make_app(url: str) -> Any:
        return create_app(settings.model_copy(update={"base_url": url, **overrides}), engine)

    with serve(make_app) as (url, _app):
        yield url


def approve_edition(engine: Engine, settings: Settings, slug: str) -> int:
    """The list's edition of :data:`PERIOD`, approved: its send job."""
    with session_scope(engine) as session:
        edition = approve(
            session, settings, get_list(session, slug), parse_period(PERIOD), approved_by="test"
        )
        edition_id = edition.id
    with Session(engine) as session:
        return int(session.get(Edition, edition_id).job_id)  # type: ignore[union-attr]


def settled(engine: Engine, job_ids: list[int]) -> None:
    """Until no copy of the jobs is queued or in a sender's hands (bounded)."""
    give_up = time.monotonic() + 60
    while True:
        with Session(engine) as session:
            counts = [ledger.counts(session, job_id) for job_id in job_ids]
        if all(not c[DeliveryStatus.queued] and not c[DeliveryStatus.sending] for c in counts):
            return
        assert time.monotonic() < give_up, counts
        time.sleep(0.05)


def test_metrics_match_the_ledger_by_list_after_a_real_send(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    stock(engine, 6)
    with session_scope(engine) as session:
        create_list(session, OTHER, "Obvestila")
    with session_scope(engine) as session:
        for n in range(3):
            subscribe(session, f"bralec{n}@example.org", OTHER, source=Source.staff, confirmed=True)
    smtp.handler.script.rcpt["obcan0001@example.org"] = ["550 5.1.1 No such user"]
    smtp.handler.script.rcpt["bralec1@example.org"] = ["451 4.3.0 Try again later"]
    settings = settings_for(database_url, smtp.port, smtp_retry_base=3600.0, metrics_enabled=True)
    jobs = {slug: approve_edition(engine, settings, slug) for slug in (LIST, OTHER)}
    senders = Senders(engine, settings)
    try:
        for job_id in jobs.values():
            senders.start(job_id, by="test")
        settled(engine, list(jobs.values()))
        with session_scope(engine) as session:
            complaint = BounceKind.complaint
            handle_event(
                session, settings, source="test", kind=complaint, address="obcan0002@example.org"
            )
        with site(engine, settings) as url:
            answer = httpx.get(f"{url}/metrics")
    finally:
        senders.stop_all()
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    found = samples(answer.text)
    assert value(found, "publisher_ledger_up") == 1
    with Session(engine) as session:
        ledger_counts = {slug: ledger.counts(session, job_id) for slug, job_id in jobs.items()}
    for slug, counts in ledger_counts.items():
        for status in DeliveryStatus:
            assert value(found, "publisher_copies", list=slug, status=status) == counts[status]
    assert ledger_counts[LIST][DeliveryStatus.sent] == 5  # the figures are not all zero
    assert ledger_counts[LIST][DeliveryStatus.failed] == 1
    assert ledger_counts[OTHER][DeliveryStatus.sent] == 2
    assert ledger_counts[OTHER][DeliveryStatus.deferred] == 1
    assert value(found, "publisher_bounces", list=LIST, kind="hard") == 1  # the 550 at RCPT
    assert value(found, "publisher_bounces", list=LIST, kind="complaint") == 1
    assert value(found, "publisher_bounces", list=OTHER, kind="hard") == 0
    assert value(found, "publisher_queue_depth") == 0
    sent = sum(counts[DeliveryStatus.sent] for counts in ledger_counts.values())
    assert round(value(found, "publisher_send_rate_per_second", window="1m") * 60) == sent
    assert round(value(found, "publisher_send_rate_per_second", window="5m") * 300) == sent


def test_the_oldest_queued_copy_ages_with_the_clock(engine: Engine, database_url: str) -> None:
    stock(engine, 4)
    settings = settings_for(database_url, free_port(), metrics_enabled=True)
    approve_edition(engine, settings, LIST)  # approved; nobody sends it
    later = utcnow() + timedelta(minutes=10)
    with site(engine, settings) as url, time_machine.travel(later, tick=True):
        found = samples(httpx.get(f"{url}/metrics").text)
    assert value(found, "publisher_queue_depth") == 4
    assert 600 <= value(found, "publisher_oldest_queued_seconds") < 660
    assert value(found, "publisher_send_rate_per_second", window="1m") == 0


def test_web_requests_are_counted_by_route_template_not_path(
    engine: Engine, database_url: str
) -> None:
    settings = settings_for(database_url, free_port(), metrics_enabled=True)
    with site(engine, settings) as url:
        for slug in ("prva-novica", "druga-novica"):
            assert httpx.get(f"{url}/articles/{slug}").status_code == 404
        assert httpx.get(f"{url}/no/such/page/x1").status_code == 404
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.get(f"{url}/static/admin.css").status_code == 200
        text = httpx.get(f"{url}/metrics").text
    found = samples(text)
    counted = "publisher_http_requests_total"
    assert value(found, counted, route="/articles/{slug}", method="GET", status="404") == 2
    assert value(found, counted, route="unmatched", method="GET", status="404") == 1
    assert value(found, counted, route="/healthz", method="GET", status="200") == 1
    assert value(found, counted, route="/static/{path}", method="GET", status="200") == 1
    assert "prva-novica" not in text and "x1" not in text


def test_metrics_are_off_unless_turned_on(engine: Engine, database_url: str) -> None:
    settings = settings_for(database_url, free_port())
    with site(engine, settings) as url:
        answer = httpx.get(f"{url}/metrics")
    assert answer.status_code == 404
    assert answer.text == "Te strani ni.\n"  # as any page that is not there


def test_metrics_answer_only_the_allowed_addresses_behind_a_trusted_proxy(
    engine: Engine, database_url: str
) -> None:
    settings = settings_for(
        database_url,
        free_port(),
        metrics_enabled=True,
        trusted_proxies=("127.0.0.1",),
        metrics_allow=("10.0.0.0/8",),
    )
    with site(engine, settings) as url:
        outsider = httpx.get(f"{url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        # The client typed the left end; the proxy added the right one: that is who asks.
        forged = httpx.get(f"{url}/metrics", headers={"X-Forwarded-For": "10.1.2.3, 203.0.113.9"})
        monitor = httpx.get(f"{url}/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
        direct = httpx.get(f"{url}/metrics")  # loopback itself is not in metrics_allow here
    assert outsider.status_code == 404 and outsider.text == "Te strani ni.\n"
    assert forged.status_code == 404
    assert direct.status_code == 404
    assert monitor.status_code == 200
    assert "publisher_queue_depth" in monitor.text


def test_the_worker_serves_the_delivery_metrics_on_its_own_port(
    engine: Engine, database_url: str, smtp: SmtpServer, tmp_path: Any
) -> None:
    stock(engine, 3)
    settings = settings_for(database_url, smtp.port)
    job_id = approve_edition(engine, settings, LIST)
    port = free_port()
    env = cli_env(database_url, smtp.port, PUBLISHER_WORKER_METRICS_PORT=str(port))
    worker = start_cli("worker", env=env, cwd=tmp_path)
    try:
        settled(engine, [job_id])
        give_up = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
                break
            except httpx.TransportError:
                assert worker.poll() is None, worker.communicate()
                assert time.monotonic() < give_up, "the worker's metrics port did not answer"
                time.sleep(0.05)
        elsewhere = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    finally:
        worker.terminate()
        out, _ = worker.communicate(timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    found = samples(answer.text)
    assert value(found, "publisher_copies", list=LIST, status="sent") == 3
    assert value(found, "publisher_queue_depth") == 0
    assert elsewhere.status_code == 404
    assert f"127.0.0.1:{port}/metrics" in out
