"""`publisher digest …` as staff use it, over a real SMTP server."""

from __future__ import annotations

import json
from datetime import datetime
from email import message_from_bytes, policy

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from publisher.audit import command_line_actor
from publisher.cli import app
from publisher.db import session_scope
from publisher.delivery.models import Delivery, DeliveryStatus
from publisher.digests.editions import approve
from publisher.digests.models import Edition
from publisher.digests.periods import parse_period
from publisher.subscribers.lists import get_list
from tests.delivery.sending_support import LIST, PERIOD, SmtpServer, settings_for, stock

runner = CliRunner()


@pytest.fixture
def cli_settings(monkeypatch: pytest.MonkeyPatch, database_url: str, smtp: SmtpServer) -> None:
    for key, value in {
        "PUBLISHER_DATABASE_URL": database_url,
        "PUBLISHER_SMTP_PORT": str(smtp.port),
        "PUBLISHER_SMTP_RETRY_BASE": "0.1",
        "PUBLISHER_WORKER_HEARTBEAT": "0.2",
        "PUBLISHER_SMTP_MAX_ATTEMPTS": "2",
    }.items():
        monkeypatch.setenv(key, value)


def digest(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["digest", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_test_copy_goes_to_one_address_and_records_nothing(
    engine: Engine, cli_settings: None, smtp: SmtpServer
) -> None:
    stock(engine, 5)
    code, out = digest(
        "send", "--list", LIST, "--period", PERIOD, "--test-to", "urednik@example.org"
    )
    assert code == 0, out
    [(recipient, raw, _)] = smtp.handler.received
    assert recipient == "urednik@example.org"
    assert message_from_bytes(raw, policy=policy.default)["Subject"].startswith("[POSKUS] ")
    with Session(engine) as session:
        assert session.execute(select(Edition)).first() is None
        assert session.execute(select(Delivery)).first() is None


def test_dry_run_counts_and_creates_nothing(
    engine: Engine, cli_settings: None, smtp: SmtpServer
) -> None:
    stock(engine, 7)
    code, out = digest("send", "--list", LIST, "--period", PERIOD, "--dry-run")
    assert code == 0 and "Recipients: 7" in out and "nothing was created or sent" in out
    assert smtp.handler.received == []
    with Session(engine) as session:
        assert session.execute(select(Edition)).first() is None


def test_send_reports_failures_and_status_shows_the_replies_then_retry(
    engine: Engine, cli_settings: None, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 6)
    smtp.handler.script.rcpt[addresses[1]] = ["451 4.7.1 greylisted"] * 2
    smtp.handler.script.data[addresses[2]] = ["552 5.3.4 message too big"]
    code, out = digest("send", "--list", LIST, "--period", PERIOD, "--yes")
    assert code == 0, out  # individual failures do not fail the command
    assert "Top failure reasons" in out
    assert "451 4.7.1 greylisted" in out and "552 5.3.4 message too big" in out
    with Session(engine) as session:
        rows = {row.email: row for row in session.execute(select(Delivery)).scalars()}
        [edition] = session.execute(select(Edition)).scalars()
    greylisted = rows[addresses[1]]
    assert greylisted.status == DeliveryStatus.failed and greylisted.attempts == 2
    # The admin and the audit log name the approver as every other CLI command does.
    assert edition.approved_by == command_line_actor()

    code, out = digest("status", f"{LIST}/{PERIOD}")
    assert code == 0
    assert addresses[1] in out and "greylisted" in out and addresses[2] in out

    code, out = digest("send", "--list", LIST, "--period", PERIOD, "--yes")
    assert "has been sent completely; nothing is sent twice." in out

    code, out = digest("retry", f"{LIST}/{PERIOD}")
    assert code == 0 and "2 failed recipient(s)" in out
    code, out = digest("send", "--list", LIST, "--period", PERIOD, "--yes")
    assert code == 0, out
    received = smtp.handler.per_recipient()
    assert received[addresses[1]] == 1 and received[addresses[2]] == 1
    assert sum(received.values()) == 6


def test_status_as_json_gives_each_edition_and_one_editions_failed_recipients(
    engine: Engine, cli_settings: None, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 3)
    smtp.handler.script.data[addresses[2]] = ["552 5.3.4 message too big"]
    assert digest("send", "--list", LIST, "--period", PERIOD, "--yes")[0] == 0

    listed = runner.invoke(app, ["digest", "status", "--json"])
    [edition] = json.loads(listed.stdout)
    assert edition["edition"] == f"{LIST}/{PERIOD}" and edition["state"] == "sent"
    assert (edition["recipients"], edition["sent"], edition["failed"]) == (3, 2, 1)
    assert datetime.fromisoformat(edition["approved_at"]).utcoffset() is not None

    one = runner.invoke(app, ["digest", "status", f"{LIST}/{PERIOD}", "--json"])
    [detail] = json.loads(one.stdout)
    assert {key: detail[key] for key in edition} == edition
    assert [(p["recipient"], p["status"], p["reply"]) for p in detail["problems"]] == [
        (addresses[2], "failed", "552 5.3.4 message too big")
    ]


def test_week_without_news_sends_nothing_and_says_so(
    engine: Engine, cli_settings: None, smtp: SmtpServer
) -> None:
    stock(engine, 3)
    code, out = digest("send", "--list", LIST, "--period", "2025-W40", "--yes")
    assert code == 0 and "nothing sent" in out
    assert smtp.handler.received == []


def test_smtp_replies_with_terminal_escapes_are_shown_never_obeyed(
    engine: Engine, cli_settings: None, smtp: SmtpServer
) -> None:
    """A relay (or whoever answers in its place) must not recolour the terminal or retitle it."""
    addresses = stock(engine, 3)
    smtp.handler.script.rcpt[addresses[1]] = ["550 5.1.1 \x1b[31mno such user\x1b]0;pwned\x07"]
    code, out = digest("send", "--list", LIST, "--period", PERIOD, "--yes")
    assert code == 0, out
    with Session(engine) as session:
        failed = session.execute(
            select(Delivery).where(Delivery.email == addresses[1])
        ).scalar_one()
    assert "\x1b" in (failed.last_reply or "")  # recorded as the server said it
    for args in (("status", f"{LIST}/{PERIOD}"), ("status",), ("status", "--list", LIST)):
        code, shown = digest(*args)
        assert code == 0, shown
        assert "\x1b" not in shown and "\x07" not in shown, args
    code, shown = digest("status", f"{LIST}/{PERIOD}")
    assert r"\x1b[31mno such user\x1b]0;pwned\x07" in shown
    assert "\x1b" not in out and "\x07" not in out  # the send's own failure summary


def test_a_sent_edition_cannot_be_paused_resumed_or_cancelled_and_each_refusal_is_a_sentence(
    engine: Engine, cli_settings: None, smtp: SmtpServer
) -> None:
    stock(engine, 3)
    code, out = digest("send", "--list", LIST, "--period", PERIOD, "--yes")
    assert code == 0, out
    name = f"{LIST}/{PERIOD}"
    for action, verb in (("pause", "paused"), ("resume", "resumed"), ("cancel", "cancelled")):
        code, out = digest(action, name)
        assert code == 1
        assert f"Sending cannot be {verb} because the edition has been sent completely." in out
    code, out = digest("retry", name)
    assert code == 1 and "No recipient of the edition has failed" in out
    code, out = digest("status")
    [row] = [line.split("\t") for line in out.splitlines() if line.startswith("1\t")]
    assert row[2] == "sent" and "cancelled" not in out
    code, out = digest("send", "--list", LIST, "--period", PERIOD, "--yes")
    assert f"Edition {name} has been sent completely; nothing is sent twice." in out


def test_pause_and_cancel_say_what_they_did_in_sentences(
    engine: Engine, database_url: str, cli_settings: None, smtp: SmtpServer
) -> None:
    stock(engine, 4)
    with session_scope(engine) as session:
        mailing_list, period = get_list(session, LIST), parse_period(PERIOD)
        settings = settings_for(database_url, smtp.port)
        approve(session, settings, mailing_list, period, approved_by="urednica")
    name = f"{LIST}/{PERIOD}"
    code, out = digest("pause", name)
    assert code == 0 and f"Sending of {name} is paused" in out
    code, out = digest("pause", name)
    assert code == 1 and "Sending cannot be paused because it is paused already." in out
    code, out = digest("cancel", name)
    assert code == 0 and f"The rest of {name} is cancelled: 4 recipient(s)" in out
    code, out = digest("status", name)
    assert "cancelled by " in out and "(command line)" in out
    for action in ("resume", "cancel", "retry"):
        code, out = digest(action, name)
        assert code == 1 and "because the edition has been cancelled." in out, out
    code, out = digest("send", "--list", LIST, "--period", PERIOD, "--yes")
    assert f"Edition {name} has been cancelled; nothing is sent twice." in out
    assert smtp.handler.received == []
    every = out + "".join(digest(*args)[1] for args in (("status",), ("status", name)))
    for leftover in ("canceld", "nothing to ", "pause by", "is already no"):
        assert leftover not in every
