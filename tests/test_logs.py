"""The logs: one line per event, as text or JSON, with no token or password in them even when
an event carries one, and no line forged by a subject with ESC or a line break; the events
of a real send (approved, started, finished) are each logged once."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.runner import Senders
from publisher.digests.editions import Control, approve, control
from publisher.digests.periods import parse_period
from publisher.digests.workflow import Finished, send_or_resume
from publisher.links import SubscriberLinks
from publisher.logs import PublisherHandler, configure, event
from publisher.subscribers.lists import get_list
from tests.conftest import TEST_SECRET
from tests.delivery.sending_support import LIST, PERIOD, SmtpServer, settings_for, stock
from tests.web.serve_support import publisher_serve

SMTP_PASSWORD = "relay-password-Zq81!"
log = logging.getLogger("publisher.digests.test")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(
        f"sqlite:///{tmp_path / 'publisher.db'}",
        2525,
        smtp_username="novice",
        smtp_password=SecretStr(SMTP_PASSWORD),
        log_format="json",
    )


def logged(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_json_lines_parse_and_hold_no_token_nor_password(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(settings, service=True)
    unsubscribe = SubscriberLinks(settings).unsubscribe("a-random-uid-7", 1)
    token = unsubscribe.rsplit("/", 1)[1]
    event(log, "edition approved", edition="tedenske-novice/2025-W10", link=unsubscribe)
    log.warning("relay said no to %s with password %s", "novice", SMTP_PASSWORD)
    event(log, "fetched", url="https://example.org/feed?token=abc123secret&page=2")
    log.info("secret key %s in a message", TEST_SECRET)
    out = logged(capsys)
    assert len(out) == 4
    records = [json.loads(line) for line in out]
    assert {r["logger"] for r in records} == {"publisher.digests.test"}
    assert [r["level"] for r in records] == ["info", "warning", "info", "info"]
    assert records[0]["event"] == "edition approved"
    assert records[0]["edition"] == "tedenske-novice/2025-W10"
    assert records[0]["link"].endswith("/unsubscribe/…")
    assert records[0]["time"].endswith("+00:00")
    assert records[2]["url"] == "https://example.org/feed?token=…&page=2"
    text = "\n".join(out)
    for secret in (token, SMTP_PASSWORD, TEST_SECRET, "abc123secret"):
        assert secret not in text
    assert "********" in records[1]["event"] and "********" in records[3]["event"]


def test_a_subject_with_esc_and_a_line_break_forges_no_line(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = "Novice\n2025-03-07T12:00:00.000+00:00 INFO publisher.audit: staff_added\x1b[31m"
    for log_format in ("text", "json"):
        configure(settings.model_copy(update={"log_format": log_format}), service=True)
        event(log, f"subject {forged}", subject=forged)
        out = logged(capsys)
        assert len(out) == 1, out
        assert "\x1b" not in out[0]
        assert "\\x1b[31m" in out[0] and "\\x0a2025-03-07" in out[0]


def test_a_traceback_stays_inside_its_event(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(settings.model_copy(update={"log_format": "text"}), service=True)
    try:
        raise RuntimeError(f"login failed for novice:{SMTP_PASSWORD}")
    except RuntimeError:
        log.exception("sender stopped")
    out = logged(capsys)
    assert out[0].endswith("ERROR publisher.digests.test: sender stopped")
    assert all(line.startswith("    ") for line in out[1:]) and len(out) > 2
    assert SMTP_PASSWORD not in "\n".join(out)


def test_configuring_twice_keeps_one_handler_and_other_commands_log_only_warnings(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(settings, service=True)
    configure(settings)
    mine = [h for h in logging.getLogger().handlers if isinstance(h, PublisherHandler)]
    assert len(mine) == 1
    event(log, "edition approved")
    log.warning("the relay is slow")
    out = logged(capsys)
    assert [json.loads(line)["event"] for line in out] == ["the relay is slow"]


def test_a_real_send_logs_approved_started_and_finished_once_each(
    engine: Engine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    stock(engine, 3)
    with SmtpServer() as smtp:
        settings = settings_for(database_url, smtp.port)
        with Session(engine) as session:
            mailing_list = get_list(session, LIST)
        with caplog.at_level(logging.INFO, logger="publisher"):
            events = list(
                send_or_resume(
                    engine,
                    settings,
                    Senders(engine, settings),
                    mailing_list,
                    parse_period(PERIOD),
                    by="test",
                    wait=True,
                )
            )
    assert isinstance(events[-1], Finished)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("publisher.")]
    for message in ("edition approved", "sending started", "sending finished"):
        assert messages.count(message) == 1, messages
    finished = next(r for r in caplog.records if r.getMessage() == "sending finished")
    assert finished.publisher_fields == {  # type: ignore[attr-defined]
        "job": finished.publisher_fields["job"],  # type: ignore[attr-defined]
        "edition": f"{LIST}/{PERIOD}",
        "sent": 3,
        "failed": 0,
    }


def test_serve_logs_its_requests_as_json_with_tokens_redacted(
    engine: Engine, database_url: str
) -> None:
    links = SubscriberLinks(settings_for(database_url, 2525, secret_key=SecretStr(TEST_SECRET)))
    token = links.preferences("a-random-uid-7").rsplit("/", 1)[1]
    with publisher_serve(database_url, log_format="json") as served:
        httpx.get(f"{served.url}/preferences/{token}")
        httpx.get(f"{served.url}/healthz")
        output = served.output()
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any("/healthz" in r["event"] for r in access), output
    assert any("/preferences/…" in r["event"] for r in access), output
    assert token not in output
    assert all(not line.startswith("INFO:") for line in output.splitlines())  # uvicorn's own


def test_pausing_and_resuming_an_edition_are_logged_with_the_reason(
    engine: Engine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    stock(engine, 2)
    settings = settings_for(database_url, 2525)
    with session_scope(engine) as session:
        edition = approve(
            session, settings, get_list(session, LIST), parse_period(PERIOD), approved_by="test"
        )
    with caplog.at_level(logging.INFO, logger="publisher"), session_scope(engine) as session:
        control(session, edition, Control.pause, "the relay refuses everything")
        control(session, edition, Control.resume)
        control(session, edition, Control.resume)  # no change, no line
    lines = [
        (r.getMessage(), r.publisher_fields.get("reason"))  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "publisher.delivery.ledger"
    ]
    assert lines == [
        ("sending paused", "the relay refuses everything"),
        ("sending resumed", None),
    ]
