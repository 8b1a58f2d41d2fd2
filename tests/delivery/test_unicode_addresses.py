"""Addresses beyond ASCII through a real digest send: ``ana@šola.si`` goes out as punycode,
``žiga@example.org`` with SMTPUTF8 when the relay offers it and, when it does not, is marked
failed with a reason staff can read (never a Python error)."""

from __future__ import annotations

from email import message_from_bytes, message_from_string, policy

import pytest
from sqlalchemy.engine import Engine

from publisher.db import session_scope
from publisher.delivery.models import DeliveryStatus
from publisher.delivery.smtp import NO_SMTPUTF8
from publisher.subscribers.models import Source
from publisher.subscribers.subscriptions import subscribe
from tests.delivery.sending_support import LIST, SmtpServer, settings_for, stock
from tests.delivery.test_sending import approve_edition, deliveries, send

IDN = "ana@šola.si"
UTF8_LOCAL = "žiga@example.org"


def stock_unicode(engine: Engine) -> list[str]:
    addresses = stock(engine, 2)
    with session_scope(engine) as session:
        for address in (IDN, UTF8_LOCAL):
            subscribe(
                session, address, LIST, source=Source.staff, name="Žiga Čebular", confirmed=True
            )
    return addresses


def test_digest_reaches_idn_and_utf8_addresses_through_a_relay_with_smtputf8(
    engine: Engine, database_url: str
) -> None:
    addresses = stock_unicode(engine)
    with SmtpServer(smtputf8=True) as smtp:
        settings = settings_for(database_url, smtp.port)
        send(engine, settings, approve_edition(engine, settings))
        received = {rcpt: raw for rcpt, raw, _ in smtp.handler.received}
    assert set(received) == {*addresses, "ana@xn--ola-zza.si", UTF8_LOCAL}
    assert {row.status for row in deliveries(engine).values()} == {DeliveryStatus.sent}
    to_idn = message_from_bytes(received["ana@xn--ola-zza.si"], policy=policy.default)
    assert to_idn["To"].addresses[0].addr_spec == "ana@xn--ola-zza.si"
    assert to_idn["To"].addresses[0].display_name == "Žiga Čebular"
    # RFC 6532: the header is UTF-8 itself, which is read as text.
    to_utf8 = message_from_string(received[UTF8_LOCAL].decode(), policy=policy.default)
    assert to_utf8["To"].addresses[0].addr_spec == UTF8_LOCAL


def test_digest_marks_a_utf8_mailbox_failed_in_words_when_the_relay_lacks_smtputf8(
    engine: Engine, database_url: str
) -> None:
    addresses = stock_unicode(engine)
    with SmtpServer(smtputf8=False) as smtp:
        settings = settings_for(database_url, smtp.port)
        send(engine, settings, approve_edition(engine, settings))
        received = [rcpt for rcpt, _, _ in smtp.handler.received]
    assert sorted(received) == sorted([*addresses, "ana@xn--ola-zza.si"])
    rows = deliveries(engine)
    failed = rows[UTF8_LOCAL]
    assert failed.status == DeliveryStatus.failed
    assert failed.last_reply == NO_SMTPUTF8
    for word in ("Error", "codec", "Traceback"):
        assert word not in failed.last_reply
    assert all(
        row.status == DeliveryStatus.sent for email, row in rows.items() if email != UTF8_LOCAL
    )


@pytest.mark.parametrize("smtputf8", [True, False])
def test_the_connection_stays_usable_after_a_utf8_mailbox(
    engine: Engine, database_url: str, smtputf8: bool
) -> None:
    """Refused or sent, the address never breaks the pooled connection for the next copy."""
    stock_unicode(engine)
    with SmtpServer(smtputf8=smtputf8) as smtp:
        settings = settings_for(database_url, smtp.port, smtp_pool=1)
        send(engine, settings, approve_edition(engine, settings))
        count = len(smtp.handler.received)
    assert count == (4 if smtputf8 else 3)
