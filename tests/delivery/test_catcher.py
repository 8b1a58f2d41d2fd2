"""The development mail catcher over real SMTP: what is sent is kept, byte for byte, for good."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import aiosmtplib
import pytest

from publisher.delivery.catcher import CatcherError, MailCatcher, MailStore, check_loopback
from tests.delivery.catcher_support import free_port, send, utf8_message

SENDER = "novice@novomesto.example.org"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore(tmp_path / "mailcatcher.db") as store:
        yield store


@pytest.fixture
def catcher(store: MailStore) -> Iterator[MailCatcher]:
    with MailCatcher(store, "127.0.0.1", free_port()) as catcher:
        yield catcher


def test_catcher_advertises_8bitmime_and_smtputf8(catcher: MailCatcher) -> None:
    async def extensions() -> set[str]:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=catcher.port) as smtp:
            return set(smtp.esmtp_extensions)

    assert {"8bitmime", "smtputf8"} <= asyncio.run(extensions())


def test_8bit_utf8_message_arrives_byte_for_byte(catcher: MailCatcher, store: MailStore) -> None:
    data = utf8_message("Tedenske novice: čšž ČŠŽ, 3.–9. marec 2025")
    assert b"\xc4\x8d" in data and b"Content-Transfer-Encoding: 8bit" in data  # really 8-bit
    before = datetime.now(UTC)

    send(catcher.port, [(SENDER, ["ana@example.org"], data)])

    [summary] = store.list()
    assert summary.subject == "Tedenske novice: čšž ČŠŽ, 3.–9. marec 2025"
    assert summary.from_header == "Mestna občina Novo mesto <novice@novomesto.example.org>"
    assert summary.rcpt_to == ("ana@example.org",)
    kept = store.get(summary.id)
    assert kept is not None
    assert kept.raw == data
    assert kept.mail_from == SENDER
    assert before - timedelta(seconds=1) <= kept.received_at <= datetime.now(UTC)
    shown = kept.read()
    assert shown.text is not None and "čšž ČŠŽ – obnova ceste v Šmihelu." in shown.text


def test_any_recipient_is_accepted_including_utf8_addresses(
    catcher: MailCatcher, store: MailStore
) -> None:
    recipients = ["ana@example.org", "nobody@nowhere.invalid", "žan.šmid@primer.si"]

    async def deliver() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=catcher.port) as smtp:
            errors, _ = await smtp.sendmail(
                SENDER, recipients, utf8_message("Za vse"), mail_options=["SMTPUTF8"]
            )
            assert errors == {}

    asyncio.run(deliver())
    [summary] = store.list()
    assert summary.rcpt_to == tuple(recipients)


def test_caught_messages_survive_a_restart_of_the_catcher(tmp_path: Path) -> None:
    path = tmp_path / "mailcatcher.db"
    port = free_port()
    first = [utf8_message(f"Sporočilo {n} – čšž") for n in range(3)]
    with MailStore(path) as store, MailCatcher(store, "127.0.0.1", port):
        send(port, [(SENDER, ["ana@example.org"], data) for data in first])

    with MailStore(path) as store, MailCatcher(store, "127.0.0.1", port):
        assert store.count() == 3
        assert [store.get(s.id).raw for s in reversed(store.list())] == first  # type: ignore[union-attr]
        send(port, [(SENDER, ["ana@example.org"], utf8_message("Po ponovnem zagonu"))])
        newest = store.list(limit=1)[0]
        assert newest.subject == "Po ponovnem zagonu"
        assert newest.id == 4


def test_list_is_newest_first_with_paging_and_recipient_search(store: MailStore) -> None:
    start = datetime(2025, 3, 10, 8, tzinfo=UTC)
    for n in range(7):
        to = "ana@example.org" if n % 2 else "bojan_100%@example.org"
        store.add(SENDER, [to], utf8_message(f"Št. {n}", to=to), start + timedelta(minutes=n))

    assert [m.subject for m in store.list(limit=3)] == ["Št. 6", "Št. 5", "Št. 4"]
    assert [m.subject for m in store.list(limit=3, offset=6)] == ["Št. 0"]
    assert store.count() == 7
    assert store.count("ANA@example") == 3  # any part of the address, any case
    assert [m.subject for m in store.list(recipient="ana@")] == ["Št. 5", "Št. 3", "Št. 1"]
    # LIKE wildcards in the search are literal characters, not patterns.
    assert store.count("_100%") == 4
    assert store.count("a_a") == 0
    assert store.get(999) is None


def test_clear_forgets_everything_and_ids_are_never_reused(store: MailStore) -> None:
    for n in range(3):
        store.add(SENDER, ["ana@example.org"], utf8_message(f"Št. {n}"))
    assert store.clear() == 3
    assert store.count() == 0 and store.list() == []
    assert store.add(SENDER, ["ana@example.org"], utf8_message("Nova")) == 4


def test_many_messages_over_parallel_connections_are_all_kept(
    catcher: MailCatcher, store: MailStore
) -> None:
    messages = [
        (
            SENDER,
            [f"prejemnik{n}@example.org"],
            utf8_message(f"Št. {n}", f"prejemnik{n}@example.org"),
        )
        for n in range(400)
    ]
    send(catcher.port, messages, connections=8)
    assert store.count() == 400
    assert {m.rcpt_to[0] for m in store.list(limit=1000)} == {m[1][0] for m in messages}


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "smtp.example.org", ""])
def test_catcher_refuses_to_listen_beyond_loopback(store: MailStore, host: str) -> None:
    with pytest.raises(CatcherError, match="loopback") as refused:
        MailCatcher(store, host, free_port())
    assert "PUBLISHER_SMTP_HOST=127.0.0.1" in str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_addresses_are_allowed(host: str) -> None:
    assert check_loopback(host) == host.strip("[]")


def test_busy_port_is_a_clear_error(catcher: MailCatcher, store: MailStore) -> None:
    with pytest.raises(CatcherError, match=f"cannot listen on 127.0.0.1:{catcher.port}"):
        MailCatcher(store, "127.0.0.1", catcher.port).start()


def test_html_text_and_attachments_are_read_with_the_stdlib_parser(store: MailStore) -> None:
    message = message_from_bytes(
        utf8_message("Z vsem", html="<p>Živjo, <b>čšž</b></p>"), policy=policy.default
    )
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="ž.pdf")
    message_id = store.add(SENDER, ["ana@example.org"], message.as_bytes())

    caught = store.get(message_id)
    assert caught is not None
    shown = caught.read()
    assert shown.html is not None and "<b>čšž</b>" in shown.html
    assert shown.text is not None and "\r" not in shown.text
    assert [(a.filename, a.content_type, a.size) for a in shown.attachments] == [
        ("ž.pdf", "application/pdf", 8)
    ]
    assert caught.header_block.startswith("From: Mestna =?utf-8?q?ob=C4=8Dina?= Novo mesto")
    assert "Subject: Z vsem" in caught.header_block and "Živjo" not in caught.header_block
