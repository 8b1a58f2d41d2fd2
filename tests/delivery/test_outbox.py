"""The one outbox: every kind of mail leaves through it, so every kind is DKIM-signed.

Confirmation mails (over real HTTP, from the subscribe form), test copies and digest copies
are received by a real SMTP server and their signatures verified as a receiver would.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import dkim
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.delivery.runner import Senders
from publisher.digests.editions import approve, plan, send_test
from publisher.digests.periods import parse_period
from publisher.subscribers.lists import get_list
from tests.delivery.sending_support import LIST, PERIOD, SmtpServer, settings_for, stock
from tests.mail.test_dkim import ed25519_keys, rsa_keys
from tests.web.residents_support import subscribe_form, town_with_browser

PACKAGE = Path(__file__).resolve().parents[2] / "publisher"
DOMAIN = "novomesto.example.org"
SELECTOR = "novice2026"


@pytest.fixture(params=["rsa-2048", "ed25519"])
def dkim_key(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, bytes]:
    """A key file and its DNS record: RSA-2048 (what every receiver verifies) or Ed25519."""
    private, record = rsa_keys() if request.param == "rsa-2048" else ed25519_keys()
    path = tmp_path / "dkim.key"
    path.write_bytes(private)
    return path, record


def verified(raw: bytes, record: bytes) -> bool:
    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode()
        return record

    return bool(dkim.verify(raw, dnsfunc=dns))


def dkim_settings(key_path: Path) -> dict[str, str]:
    return {"dkim_domain": DOMAIN, "dkim_selector": SELECTOR, "dkim_key_path": str(key_path)}


def test_a_confirmation_mail_is_dkim_signed_when_dkim_is_configured(
    engine: Engine, database_url: str, dkim_key: tuple[Path, bytes]
) -> None:
    key_path, record = dkim_key
    with town_with_browser(engine, database_url, **dkim_settings(key_path)) as (browser, town):
        assert subscribe_form(browser, "mojca@example.org").status_code == 200
        town.wait_for_mails("mojca@example.org")
        [raw] = [raw for rcpt, raw, _ in town.smtp.handler.received]
    assert raw.startswith(b"DKIM-Signature:")
    assert verified(raw, record)
    assert not verified(raw.replace(b"/confirm/", b"/confirm/x"), record)


@pytest.mark.parametrize("eight_bit", [True, False], ids=["8bitmime", "7bit-relay"])
def test_test_copies_and_digest_copies_are_signed_the_same_way(
    engine: Engine, database_url: str, dkim_key: tuple[Path, bytes], eight_bit: bool
) -> None:
    """Also through a relay without 8BITMIME, where each copy goes out re-encoded in 7 bits:
    the signature must be made over what is sent."""
    key_path, record = dkim_key
    addresses = stock(engine, 3)
    with SmtpServer(eight_bit=eight_bit) as smtp:
        settings = settings_for(database_url, smtp.port, **dkim_settings(key_path))
        with Session(engine) as session:
            mailing_list = get_list(session, LIST)
            planned = plan(session, settings, mailing_list, parse_period(PERIOD))
            outcome = asyncio.run(send_test(settings, planned, "urednica@example.org", "sl"))
            assert outcome.verdict == "sent"
            edition = approve(session, settings, mailing_list, planned.period, approved_by="t")
            session.commit()
            job_id = edition.job_id
        assert job_id is not None
        sending = Senders(engine, settings).start(job_id, by="test")
        assert sending.wait(60) and sending.error is None
        received = {rcpt: raw for rcpt, raw, _ in smtp.handler.received}
    assert sorted(received) == sorted([*addresses, "urednica@example.org"])
    assert all(verified(raw, record) for raw in received.values())
    if not eight_bit:
        assert all(max(raw) < 128 for raw in received.values())


def sources_outside(folder: str) -> dict[Path, str]:
    return {
        path: path.read_text(encoding="utf-8")
        for path in PACKAGE.rglob("*.py")
        if folder not in path.relative_to(PACKAGE).parts
    }


def test_mail_leaves_only_through_the_outbox_and_senders_start_only_in_the_runner() -> None:
    smtp_imports = re.compile(r"^\s*(import|from)\s+(aio)?smtplib\b", re.MULTILINE)
    offenders = [
        path for path, text in sources_outside("delivery").items() if smtp_imports.search(text)
    ]
    assert offenders == [], "SMTP clients imported outside publisher/delivery"
    everything = {path.name: path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py")}
    pools = [name for name, text in everything.items() if "SmtpPool(" in text]
    workers = [name for name, text in everything.items() if "SendWorker(" in text]
    assert pools == ["outbox.py"]
    assert workers == ["runner.py"]
