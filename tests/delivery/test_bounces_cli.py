"""`publisher bounces process` over saved files and `bounces listen` over real SMTP and LMTP."""

from __future__ import annotations

import json
import mailbox
import smtplib
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from publisher.addresses import address_hash
from publisher.cli import app
from publisher.delivery.bounces.listener import bounce_listener
from publisher.delivery.models import Bounce
from publisher.subscribers.models import SuppressionReason
from tests.delivery.bounce_support import (
    BOUNCE_DOMAIN,
    dsn,
    exim_bounce,
    feedback_report,
    out_of_office,
    suppressed,
)
from tests.delivery.sending_support import LIST, PERIOD, free_port

runner = CliRunner()


@pytest.fixture
def cli_sent(sent, database_url: str, monkeypatch: pytest.MonkeyPatch):
    """The edition sent, and the CLI set to its database and bounce domain."""
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLISHER_BOUNCE_DOMAIN", BOUNCE_DOMAIN)
    return sent


def test_process_reads_eml_mbox_and_maildir_and_a_bad_file_stops_nothing(
    engine: Engine, cli_sent, tmp_path: Path
) -> None:
    _, senders = cli_sent
    a, b, c, d = (f"obcan000{n}@example.org" for n in (1, 2, 3, 4))
    eml = tmp_path / "odboj.eml"
    eml.write_bytes(dsn(senders[a], a))
    box = mailbox.mbox(tmp_path / "odboji.mbox")
    box.add(exim_bounce(senders[b], b))
    box.add(out_of_office(senders[b], b))
    box.flush()
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    key = maildir.add(feedback_report(original_mail_from=senders[c], recipient=c))
    folder = tmp_path / "mapa"
    folder.mkdir()
    (folder / "hvala.eml").write_bytes(b"From: ana@example.org\r\n\r\nHvala za novice!\r\n")
    (folder / "polno.eml").write_bytes(dsn(senders[d], d, status="5.2.2"))
    missing = tmp_path / "ni.eml"

    result = runner.invoke(
        app,
        [
            "bounces",
            "process",
            str(missing),
            str(eml),
            str(tmp_path / "odboji.mbox"),
            str(tmp_path / "Maildir"),
            str(folder),
        ],
    )
    out = result.output
    assert result.exit_code == 1, out
    assert f"{missing}: error" in out.replace("\n", " ") or "ni.eml: error" in out
    assert f"{eml}: recorded hard 5.1.1 {a}" in out
    assert f"odboji.mbox#1: recorded soft {b}" in out
    assert "odboji.mbox#2: ignored" in out and "automatic reply" in out
    assert f"Maildir:{key}: recorded complaint {c}" in out
    assert "hvala.eml: not_ours" in out
    assert f"polno.eml: recorded soft 5.2.2 {d}" in out
    assert "7 message(s)" in out
    assert suppressed(engine, a) is SuppressionReason.hard_bounce
    assert suppressed(engine, c) is SuppressionReason.complaint
    assert suppressed(engine, b) is None and suppressed(engine, d) is None


def test_the_listener_takes_bounces_for_its_domain_only_and_caps_their_size(
    engine: Engine, sent
) -> None:
    settings, senders = sent
    settings = settings.model_copy(update={"bounce_max_bytes": 50_000})
    address = "obcan0001@example.org"
    port = free_port()
    heard: list[tuple[str, str]] = []
    server = bounce_listener(
        engine,
        settings,
        host="127.0.0.1",
        port=port,
        on_handled=lambda rcpt, handled: heard.append((rcpt, handled.disposition.value)),
    )
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.ehlo()
            client.mail("<>")
            code, reply = client.rcpt("postmaster@example.org")
            assert code == 550 and BOUNCE_DOMAIN.encode() in reply
            client.rset()
            client.sendmail("", [senders[address]], dsn(senders[address], address))
            client.sendmail("", [f"bounces@{BOUNCE_DOMAIN}"], b"Subject: hi\r\n\r\nhello\r\n")
            with pytest.raises(smtplib.SMTPException) as too_big:
                client.sendmail("", [senders[address]], b"Subject: x\r\n\r\n" + b"x" * 60_000)
            assert "552" in str(too_big.value)
    finally:
        server.stop()
    assert heard == [(senders[address], "recorded"), (f"bounces@{BOUNCE_DOMAIN}", "not_ours")]
    assert suppressed(engine, address) is SuppressionReason.hard_bounce


def test_the_lmtp_listener_answers_for_each_recipient(engine: Engine, sent) -> None:
    settings, senders = sent
    a, b = "obcan0002@example.org", "obcan0003@example.org"
    port = free_port()
    server = bounce_listener(engine, settings, host="127.0.0.1", port=port, lmtp=True)
    server.start()
    try:
        with smtplib.LMTP("127.0.0.1", port) as client:
            client.ehlo()  # LHLO
            client.mail("")
            assert client.rcpt(senders[a])[0] == 250
            assert client.rcpt(senders[b])[0] == 250
            assert client.rcpt("postmaster@example.org")[0] == 550
            # LMTP answers DATA once per accepted recipient (smtplib reads only the first).
            first = client.data(dsn(senders[a], a))
            second = client.getreply()
    finally:
        server.stop()
    assert first == (250, b"2.0.0 recorded") and second == (250, b"2.0.0 recorded")
    # The envelope names each recipient's copy: both are recorded, each once.
    assert suppressed(engine, a) is SuppressionReason.hard_bounce
    assert suppressed(engine, b) is SuppressionReason.hard_bounce


def test_digest_status_and_subscribers_show_tell_of_the_bounces(
    engine: Engine, cli_sent, tmp_path: Path
) -> None:
    _, senders = cli_sent
    hard, soft, complaint = (
        "obcan0001@example.org",
        "obcan0002@example.org",
        "obcan0003@example.org",
    )
    files = {
        "a.eml": dsn(senders[hard], hard),
        "b.eml": dsn(
            senders[soft], soft, status="5.2.2", diagnostic="smtp; 552 5.2.2 Mailbox full"
        ),
        "c.eml": feedback_report(original_mail_from=senders[complaint], recipient=complaint),
    }
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)
    assert runner.invoke(app, ["bounces", "process", str(tmp_path)]).exit_code == 0

    status = runner.invoke(app, ["digest", "status", f"{LIST}/{PERIOD}"])
    out = status.output
    assert status.exit_code == 0, out
    assert "bounced (hard/soft)" in out and "complaints" in out
    summary = next(line for line in out.splitlines() if line.startswith("sent\t"))
    assert summary.split("\t")[-2:] == ["1/1", "1"], summary
    assert "hard 5.1.1 550 5.1.1" in out and "soft 5.2.2 552 5.2.2 Mailbox full" in out
    assert "Bounces and complaints" in out and hard in out and complaint in out

    shown = runner.invoke(app, ["subscribers", "show", hard]).output
    assert "Suppressed (hard_bounce)" in shown
    assert f"{LIST}/{PERIOD}" in shown and "5.1.1" in shown and "file" in shown
    clean = runner.invoke(app, ["subscribers", "show", "obcan0005@example.org"]).output
    assert "No bounces or complaints." in clean


def test_subscribers_data_holds_the_persons_bounces_and_erasure_leaves_none(
    engine: Engine, cli_sent, tmp_path: Path
) -> None:
    _, senders = cli_sent
    person, other = "obcan0002@example.org", "obcan0003@example.org"
    files = {
        "polno.eml": dsn(
            senders[person], person, status="5.2.2", diagnostic="smtp; 552 5.2.2 Mailbox full"
        ),
        "drugi.eml": dsn(senders[other], other),
    }
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)
    assert runner.invoke(app, ["bounces", "process", str(tmp_path)]).exit_code == 0

    result = runner.invoke(app, ["subscribers", "data", person])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [d["mailing"] for d in data["deliveries"]] == [f"{LIST}/{PERIOD}"]
    (bounce,) = data["bounces"]
    assert bounce["received_at"].endswith(("+01:00", "+02:00"))  # the town's own time
    del bounce["received_at"]
    assert bounce == {
        "mailing": f"{LIST}/{PERIOD}",
        "kind": "soft",
        "status": "5.2.2",
        "diagnostic": "552 5.2.2 Mailbox full",
    }
    assert "Content-Type" not in result.output  # the bounce's raw message is not in it

    erased = runner.invoke(app, ["subscribers", "erase", person, "--yes"])
    assert erased.exit_code == 0, erased.output
    with Session(engine) as session:
        left = session.execute(select(Bounce.address, Bounce.address_hash)).all()
    assert left == [(other, address_hash(other))]  # the other person's bounce stays
