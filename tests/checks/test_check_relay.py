"""``publisher check`` against a real aiosmtpd relay: STARTTLS, TLS and none; a certificate
of an untrusted CA, trusted through ``smtp_ca_file``; login right and wrong; a relay that
refuses the sender; a relay that is down. Nothing is ever sent (no DATA)."""

from __future__ import annotations

import asyncio

from publisher.checks.relay import relay_checks
from publisher.checks.results import Check, Status
from tests.checks.check_support import DOMAIN, Pki, free_port, relay
from tests.checks.conftest import Configure


def run(settings: object) -> dict[str, Check]:
    return {check.name: check for check in asyncio.run(relay_checks(settings))}  # type: ignore[arg-type]


def statuses(found: dict[str, Check]) -> dict[str, Status]:
    return {name: check.status for name, check in found.items()}


def test_a_relay_with_starttls_a_trusted_certificate_and_the_right_login_passes_everything(
    pki: Pki, configure: Configure
) -> None:
    with relay(pki, tls="starttls") as (port, handler):
        found = run(configure(smtp_port=port))
    assert set(statuses(found).values()) == {Status.ok}, found
    assert "STARTTLS works" in found["TLS"].detail
    assert "logged in as novice" in found["login"].detail
    assert "offered" in found["SMTPUTF8"].detail
    # both envelope senders the sends use were asked about: the From and a VERP address
    assert handler.senders[0] == f"novice@{DOMAIN}"
    assert handler.senders[1].startswith("bounces+0-") and handler.senders[1].endswith(DOMAIN)
    assert handler.data_calls == 0, "the check must never hand a message over"


def test_a_relay_over_tls_from_the_first_byte_passes(pki: Pki, configure: Configure) -> None:
    with relay(pki, tls="tls") as (port, handler):
        found = run(configure(smtp_port=port, smtp_tls="tls"))
    assert set(statuses(found).values()) == {Status.ok}, found
    assert handler.data_calls == 0


def test_a_certificate_of_a_ca_the_system_does_not_trust_fails_until_smtp_ca_file_names_it(
    pki: Pki, configure: Configure
) -> None:
    with relay(pki, tls="starttls") as (port, _):
        found = run(configure(smtp_port=port, smtp_ca_file=None))
        trusted = run(configure(smtp_port=port))
    assert found["TLS"].status is Status.fail
    assert "certificate is not valid" in found["TLS"].detail
    assert "smtp_ca_file" in found["TLS"].fix
    assert "login" not in found, "nothing after the failed handshake is claimed to work"
    assert trusted["TLS"].status is Status.ok


def test_a_relay_that_offers_no_starttls_fails_when_the_settings_ask_for_it(
    pki: Pki, configure: Configure
) -> None:
    with relay(pki, tls="none", auth=False) as (port, _):
        asked = run(configure(smtp_port=port, smtp_username=None, smtp_password=None))
        plain = run(
            configure(smtp_port=port, smtp_tls="none", smtp_username=None, smtp_password=None)
        )
    assert asked["TLS"].status is Status.fail
    assert "does not offer STARTTLS" in asked["TLS"].detail
    # a relay on this machine needs no TLS
    assert set(statuses(plain).values()) == {Status.ok}, plain
    assert "runs on this machine" in plain["TLS"].detail


def test_a_wrong_password_fails_the_login_and_says_which_settings(
    pki: Pki, configure: Configure
) -> None:
    with relay(pki) as (port, handler):
        found = run(configure(smtp_port=port, smtp_password="not-the-password"))
    assert found["relay"].status is Status.ok and found["TLS"].status is Status.ok
    assert found["login"].status is Status.fail
    assert "refuses the login of novice" in found["login"].detail
    assert "smtp_password" in found["login"].fix
    assert "not-the-password" not in repr(found), "a password never shows"
    assert handler.senders == []


def test_a_relay_that_refuses_the_sender_fails_with_its_reply_and_nothing_is_sent(
    pki: Pki, configure: Configure
) -> None:
    with relay(pki, refuse_senders=True) as (port, handler):
        found = run(configure(smtp_port=port))
    check = found["senders"]
    assert check.status is Status.fail
    assert f"MAIL FROM:<novice@{DOMAIN}>" in check.detail
    assert "550 5.7.1 Sender address rejected" in check.detail
    assert "bounce domain" in check.fix
    assert handler.data_calls == 0


def test_a_relay_that_is_down_fails_and_says_where_it_was_looked_for(configure: Configure) -> None:
    port = free_port()
    found = run(configure(smtp_port=port))
    assert list(found) == ["relay"]
    assert found["relay"].status is Status.fail
    assert f"127.0.0.1:{port} cannot be reached" in found["relay"].detail
    assert "smtp_host and smtp_port" in found["relay"].fix
