"""`publisher bounces fetch` against a real Dovecot: bounces of ours are acted on and moved to
the Processed folder, everything else stays unread in the inbox, nothing is read twice; and
`publisher serve` reads the mailbox by itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from publisher.cli import app
from publisher.config import Settings, load_settings
from publisher.delivery.runner import Senders
from publisher.jobs import JobRunner
from publisher.subscribers.models import SuppressionReason
from tests.delivery.bounce_support import (
    BOUNCE_DOMAIN,
    dsn,
    feedback_report,
    out_of_office,
    suppressed,
)
from tests.delivery.imap_support import PASSWORD, Dovecot, dovecot
from tests.web.admin_support import wait_until
from tests.web.serve_support import publisher_serve

runner = CliRunner()
QUESTION = (
    "From: Ana Novak <ana@example.org>\r\n"
    "To: bounces@bounces.example.org\r\n"
    "Subject: =?utf-8?q?Vpra=C5=A1anje_o_novicah?=\r\n"
    "Message-ID: <vprasanje-1@example.org>\r\n"
    "\r\n"
    "Ali lahko novice dobivam tudi v angleščini?\r\n"
).encode()


@pytest.fixture
def mailbox() -> Iterator[Dovecot]:
    with dovecot() as server:
        yield server


@pytest.fixture
def fetch_env(
    sent: tuple[Settings, dict[str, str]],
    mailbox: Dovecot,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """The CLI set to the sent edition's database and the mailbox (password in a file)."""
    password_file = tmp_path / "imap-password"
    password_file.write_text(PASSWORD + "\n")
    env = {
        "PUBLISHER_DATABASE_URL": database_url,
        "PUBLISHER_BOUNCE_DOMAIN": BOUNCE_DOMAIN,
        "PUBLISHER_BOUNCE_IMAP_URL": mailbox.url("imap"),
        "PUBLISHER_BOUNCE_IMAP_PASSWORD_FILE": str(password_file),
        "PUBLISHER_BOUNCE_IMAP_CA_FILE": str(mailbox.ca_file),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_fetch_moves_our_bounces_acts_on_them_and_leaves_other_mail_unread(
    engine: Engine, sent, mailbox: Dovecot, fetch_env: dict[str, str]
) -> None:
    _, senders = sent
    hard, full, complained, away = (f"obcan000{n}@example.org" for n in (1, 2, 3, 4))
    mailbox.append(dsn(senders[hard], hard))
    mailbox.append(QUESTION)
    mailbox.append(dsn(senders[full], full, status="5.2.2"))
    mailbox.append(feedback_report(original_mail_from=senders[complained], recipient=complained))
    mailbox.append(out_of_office(senders[away], away))

    first = runner.invoke(app, ["bounces", "fetch"])
    out = first.output
    assert first.exit_code == 0, out
    assert f"UID 1: recorded hard 5.1.1 {hard}" in out and "(moved to Processed)" in out
    assert "UID 2: not_ours" in out
    assert f"UID 3: recorded soft 5.2.2 {full}" in out
    assert f"UID 4: recorded complaint {complained}" in out
    assert "UID 5: ignored" in out and "automatic reply" in out
    assert "5 new message(s)" in out
    assert PASSWORD not in out
    assert suppressed(engine, hard) is SuppressionReason.hard_bounce
    assert suppressed(engine, complained) is SuppressionReason.complaint
    assert suppressed(engine, full) is None and suppressed(engine, away) is None

    inbox = mailbox.messages("INBOX")
    assert [raw for _, raw in inbox] == [QUESTION]
    flags, _ = inbox[0]
    assert "\\Seen" not in flags and "\\Deleted" not in flags and "\\Flagged" not in flags
    assert len(mailbox.messages("Processed")) == 4

    second = runner.invoke(app, ["bounces", "fetch"])
    assert second.exit_code == 0, second.output
    assert "0 new message(s)" in second.output
    assert mailbox.messages("INBOX") == inbox  # still there, still unread
    assert len(mailbox.messages("Processed")) == 4

    # Mail that comes later is read, and only it.
    mailbox.append(dsn(senders[full], full, status="4.2.2", action="failed"))
    third = runner.invoke(app, ["bounces", "fetch"])
    assert third.exit_code == 0, third.output
    assert "UID 6: recorded soft 4.2.2" in third.output and "1 new message(s)" in third.output


def test_fetch_over_tls_leaves_a_message_too_big_to_be_a_bounce_unread(
    engine: Engine,
    sent,
    mailbox: Dovecot,
    fetch_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, senders = sent
    address = "obcan0005@example.org"
    monkeypatch.setenv("PUBLISHER_BOUNCE_IMAP_URL", mailbox.url("imaps"))
    monkeypatch.setenv("PUBLISHER_BOUNCE_MAX_BYTES", "20000")
    big = b"From: ana@example.org\r\nSubject: Slike\r\n\r\n" + b"x" * 40_000 + b"\r\n"
    mailbox.append(big)
    mailbox.append(dsn(senders[address], address))

    result = runner.invoke(app, ["bounces", "fetch"])
    assert result.exit_code == 0, result.output
    assert "UID 1: not_ours" in result.output and "over bounce_max_bytes" in result.output
    assert "UID 2: recorded hard" in result.output
    assert suppressed(engine, address) is SuppressionReason.hard_bounce
    inbox = mailbox.messages("INBOX")
    assert len(inbox) == 1 and "\\Seen" not in inbox[0][0]


def test_fetch_refuses_a_wrong_password_and_a_password_in_the_url(
    sent, mailbox: Dovecot, fetch_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUBLISHER_BOUNCE_IMAP_PASSWORD_FILE")
    monkeypatch.setenv("PUBLISHER_BOUNCE_IMAP_PASSWORD", "napacno-geslo")
    wrong = runner.invoke(app, ["bounces", "fetch"])
    assert wrong.exit_code == 2
    assert "login refused" in wrong.output and "napacno-geslo" not in wrong.output

    monkeypatch.setenv(
        "PUBLISHER_BOUNCE_IMAP_URL", mailbox.url("imap").replace("odboji@", "odboji:skrito@")
    )
    in_url = runner.invoke(app, ["bounces", "fetch"])
    assert in_url.exit_code == 2
    assert "bounce_imap_url" in in_url.output and "skrito" not in in_url.output


def test_serve_reads_the_mailbox_on_a_schedule_only_when_one_is_configured(
    engine: Engine, database_url: str
) -> None:
    without = load_settings(database_url=database_url)
    with_mailbox = load_settings(
        database_url=database_url,
        bounce_imap_url="imaps://odboji@mail.example.org/INBOX",
        bounce_imap_every=120,
    )
    assert (
        JobRunner(engine, without, Senders(engine, without)).scheduler.get_job("fetch-bounces")
        is None
    )
    job = JobRunner(engine, with_mailbox, Senders(engine, with_mailbox)).scheduler.get_job(
        "fetch-bounces"
    )
    assert job is not None and job.trigger.interval.total_seconds() == 120


def test_publisher_serve_reads_the_mailbox_by_itself(
    engine: Engine, sent, mailbox: Dovecot, fetch_env: dict[str, str], database_url: str
) -> None:
    _, senders = sent
    address = "obcan0000@example.org"
    mailbox.append(QUESTION)
    mailbox.append(dsn(senders[address], address))
    settings = {
        key.removeprefix("PUBLISHER_").lower(): value
        for key, value in fetch_env.items()
        if key != "PUBLISHER_DATABASE_URL"
    }
    with publisher_serve(database_url, **settings):
        wait_until(lambda: len(mailbox.messages("Processed")) == 1, 30, "serve to read the mailbox")
    assert suppressed(engine, address) is SuppressionReason.hard_bounce
    assert [raw for _, raw in mailbox.messages("INBOX")] == [QUESTION]
