"""VERP: each digest copy's envelope sender names its delivery row, signed, and maps back."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from publisher.config import load_settings
from publisher.delivery.outbox import bounce_address, delivery_of_address, verp_address
from publisher.tokens import Tokens
from tests.conftest import TEST_SECRET
from tests.delivery.sending_support import SmtpServer, settings_for, stock
from tests.delivery.test_sending import approve_edition, deliveries, send


def test_each_copy_carries_its_own_signed_envelope_sender_that_maps_back(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 6)
    settings = settings_for(database_url, smtp.port, bounce_domain="bounces.example.org")
    send(engine, settings, approve_edition(engine, settings))
    rows = deliveries(engine)
    tokens = Tokens.from_settings(settings)
    senders = smtp.handler.envelope_senders
    assert set(senders) == set(addresses)
    for address in addresses:
        sender = senders[address]
        local, _, domain = sender.partition("@")
        assert domain == "bounces.example.org" and local.startswith("bounces+")
        assert len(local) <= 64  # what an address's local part may hold
        assert delivery_of_address(sender, tokens) == rows[address].id
        # Mail servers may change the case of a local part: the tag survives it.
        assert delivery_of_address(sender.upper(), tokens) == rows[address].id
    assert len(set(senders.values())) == len(addresses)


def test_the_bounce_domain_defaults_to_the_from_domain() -> None:
    settings = load_settings(from_address="Občina <novice@novomesto.example.org>")
    assert bounce_address(settings) == "bounces@novomesto.example.org"
    assert load_settings(bounce_domain="Odboji.Example.org.").bounce_domain == "odboji.example.org"


@pytest.mark.parametrize("bad", ["not a domain", "bounces@example.org", "-x.example.org"])
def test_a_bounce_domain_that_is_no_domain_is_refused(bad: str) -> None:
    from publisher.config import SettingsError

    with pytest.raises(SettingsError, match="bounce_domain"):
        load_settings(bounce_domain=bad)


def test_forged_or_altered_envelope_senders_map_to_nothing() -> None:
    tokens = Tokens(TEST_SECRET)
    genuine = verp_address("bounces@bounces.example.org", 4711, tokens)
    assert delivery_of_address(genuine, tokens) == 4711
    local, _, domain = genuine.partition("@")
    number, _, signature = local.removeprefix("bounces+").partition("-")
    forged = [
        f"bounces+4712-{signature}@{domain}",  # another delivery, the same signature
        f"bounces+{number}-{signature[:-1]}{'a' if signature[-1] != 'a' else 'b'}@{domain}",
        f"bounces+{number}@{domain}",  # no signature
        f"bounces+{number}-@{domain}",
        f"bounces@{domain}",
        "bounces+-abc@x.org",
        "",
        verp_address("bounces@bounces.example.org", 4711, Tokens("another-secret-key-" * 3)),
    ]
    for address in forged:
        assert delivery_of_address(address, tokens) is None, address
