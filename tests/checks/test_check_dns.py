"""``publisher check``'s DNS lines against a real DNS server: Debian's dnsmasq on a loopback
port serving the test's SPF, DKIM, DMARC, MX and A records (the ``dns_resolver`` setting
points at it), first correct, then broken one record at a time."""

from __future__ import annotations

import asyncio

import pytest

from publisher.checks.domain import domain_checks, organisational_domain
from publisher.checks.results import Check, Status
from tests.checks.check_support import (
    DOMAIN,
    SELECTOR,
    Pki,
    dnsmasq,
    good_records,
    other_dkim_record,
    txt,
)
from tests.checks.conftest import Configure

SPF = txt(DOMAIN, "v=spf1 ip4:127.0.0.1 -all")


def run(settings: object) -> dict[str, Check]:
    return {check.name: check for check in asyncio.run(domain_checks(settings))}  # type: ignore[arg-type]


def replaced(records: list[str], old_prefix: str, *new: str) -> list[str]:
    kept = [record for record in records if not record.startswith(old_prefix)]
    assert len(kept) < len(records), f"no record starts with {old_prefix}"
    return kept + list(new)


def test_a_correct_domain_passes_every_line_with_what_was_found(
    pki: Pki, configure: Configure
) -> None:
    with dnsmasq(good_records(pki.dkim_record)) as resolver:
        found = run(configure(dns_resolver=resolver))
    assert {name: check.status for name, check in found.items()} == {
        "From domain": Status.ok,
        f"SPF {DOMAIN}": Status.ok,
        "DKIM": Status.ok,
        "DMARC": Status.ok,
        f"MX {DOMAIN}": Status.ok,
    }, found
    assert "pass for 127.0.0.1" in found[f"SPF {DOMAIN}"].detail
    assert "v=spf1 ip4:127.0.0.1 -all" in found[f"SPF {DOMAIN}"].detail
    assert "matches dkim_key_path" in found["DKIM"].detail
    assert "policy quarantine" in found["DMARC"].detail
    assert f"mx.{DOMAIN} (10)" in found[f"MX {DOMAIN}"].detail


def test_a_2048_bit_dkim_key_published_in_several_strings_is_read_whole(pki: Pki) -> None:
    """The p= of a 2048-bit key is about 400 characters; one TXT string holds 255."""
    assert len(pki.dkim_record) > 255
    assert txt("x", pki.dkim_record).count(",") >= 2


def test_spf_missing_fails_and_says_which_record_to_publish(pki: Pki, configure: Configure) -> None:
    records = replaced(good_records(pki.dkim_record), SPF)
    with dnsmasq(records) as resolver:
        check = run(configure(dns_resolver=resolver))[f"SPF {DOMAIN}"]
    assert check.status is Status.fail
    assert "publishes no SPF record" in check.detail
    assert f'TXT record at {DOMAIN}: "v=spf1 ip4:127.0.0.1 -all"' in check.fix


def test_spf_that_ends_in_minus_all_without_the_relay_fails(pki: Pki, configure: Configure) -> None:
    wrong = txt(DOMAIN, "v=spf1 ip4:192.0.2.0/24 include:spf.provider.test -all")
    provider = txt("spf.provider.test", "v=spf1 ip4:198.51.100.7 ~all")
    records = replaced(good_records(pki.dkim_record), SPF, wrong, provider)
    with dnsmasq(records) as resolver:
        check = run(configure(dns_resolver=resolver))[f"SPF {DOMAIN}"]
    assert check.status is Status.fail
    assert check.detail.startswith("fail for 127.0.0.1")
    assert "ip4:127.0.0.1" in check.fix


def test_spf_through_include_and_a_mechanisms_passes(pki: Pki, configure: Configure) -> None:
    spf = txt(DOMAIN, "v=spf1 a:out.provider.test include:spf.provider.test -all")
    provider = txt("spf.provider.test", "v=spf1 ip6:2001:db8::/32 mx:provider.test -all")
    records = replaced(
        good_records(pki.dkim_record),
        SPF,
        spf,
        provider,
        "--host-record=out.provider.test,192.0.2.25",
        "--mx-host=provider.test,mx.provider.test,5",
        "--host-record=mx.provider.test,198.51.100.7",
    )
    with dnsmasq(records) as resolver:
        found = asyncio.run(
            domain_checks(configure(dns_resolver=resolver, check_sending_ips=["198.51.100.7"]))
        )
        by_a = asyncio.run(
            domain_checks(configure(dns_resolver=resolver, check_sending_ips=["192.0.2.25"]))
        )
    assert [c.status for c in found if c.name.startswith("SPF")] == [Status.ok]
    assert [c.status for c in by_a if c.name.startswith("SPF")] == [Status.ok]


def test_the_sending_addresses_are_the_relay_hosts_a_records_by_default(
    pki: Pki, configure: Configure
) -> None:
    records = [*good_records(pki.dkim_record), "--host-record=relay.obcina.test,192.0.2.25"]
    with dnsmasq(records) as resolver:
        check = run(
            configure(dns_resolver=resolver, smtp_host="relay.obcina.test", check_sending_ips=[])
        )[f"SPF {DOMAIN}"]
    assert check.status is Status.fail
    assert "fail for 192.0.2.25" in check.detail


def test_a_bounce_domain_of_its_own_is_checked_for_spf_and_mx(
    pki: Pki, configure: Configure
) -> None:
    bounces = f"odboji.{DOMAIN}"
    records = [*good_records(pki.dkim_record), txt(bounces, "v=spf1 ip4:127.0.0.1 -all")]
    with dnsmasq(records) as resolver:
        found = run(configure(dns_resolver=resolver, bounce_domain=bounces))
    assert found[f"SPF {bounces}"].status is Status.ok
    assert "Return-Path" in found[f"SPF {bounces}"].detail
    assert found[f"MX {bounces}"].status is Status.fail
    assert "bounces of the digests come back nowhere" in found[f"MX {bounces}"].detail
    assert f"MX record for {bounces}" in found[f"MX {bounces}"].fix
    assert found["DMARC"].status is Status.ok, "odboji.obcina.test aligns with obcina.test"


def test_no_mx_for_the_bounce_domain_fails(pki: Pki, configure: Configure) -> None:
    records = replaced(good_records(pki.dkim_record), "--mx-host=")
    with dnsmasq(records) as resolver:
        check = run(configure(dns_resolver=resolver))[f"MX {DOMAIN}"]
    assert check.status is Status.fail


def test_a_missing_dkim_key_fails_with_the_record_to_publish(
    pki: Pki, configure: Configure
) -> None:
    records = replaced(good_records(pki.dkim_record), f"--txt-record={SELECTOR}.")
    with dnsmasq(records) as resolver:
        check = run(configure(dns_resolver=resolver))["DKIM"]
    assert check.status is Status.fail
    assert f"no DKIM key is published at {SELECTOR}._domainkey.{DOMAIN}" in check.detail
    assert pki.dkim_record in check.fix


def test_a_published_key_that_is_not_the_configured_keys_pair_fails(
    pki: Pki, configure: Configure
) -> None:
    records = replaced(
        good_records(pki.dkim_record),
        f"--txt-record={SELECTOR}.",
        txt(f"{SELECTOR}._domainkey.{DOMAIN}", other_dkim_record()),
    )
    with dnsmasq(records) as resolver:
        check = run(configure(dns_resolver=resolver))["DKIM"]
    assert check.status is Status.fail
    assert "not the pair of dkim_key_path" in check.detail
    assert pki.dkim_record in check.fix


def test_dmarc_missing_fails(pki: Pki, configure: Configure) -> None:
    records = replaced(good_records(pki.dkim_record), "--txt-record=_dmarc.")
    with dnsmasq(records) as resolver:
        check = run(configure(dns_resolver=resolver))["DMARC"]
    assert check.status is Status.fail
    assert f"no DMARC record at _dmarc.{DOMAIN}" in check.detail
    assert f"_dmarc.{DOMAIN}" in check.fix


def test_dmarc_of_the_organisational_domain_covers_a_subdomain_sender(
    pki: Pki, configure: Configure
) -> None:
    sender = f"novice.{DOMAIN}"
    records = [
        *good_records(pki.dkim_record),
        txt(sender, "v=spf1 ip4:127.0.0.1 -all"),
        f"--mx-host={sender},mx.{DOMAIN},10",
    ]
    with dnsmasq(records) as resolver:
        found = run(configure(dns_resolver=resolver, from_address=f"Novice <info@{sender}>"))
    assert found["DMARC"].status is Status.ok, found["DMARC"]
    assert f"_dmarc.{DOMAIN}:" in found["DMARC"].detail


def test_dmarc_not_aligned_fails_and_says_which_settings(pki: Pki, configure: Configure) -> None:
    records = [
        *good_records(pki.dkim_record),
        txt("druga.test", "v=spf1 ip4:127.0.0.1 -all"),
        f"--mx-host=druga.test,mx.{DOMAIN},10",
        txt(f"{SELECTOR}._domainkey.druga.test", pki.dkim_record),
    ]
    with dnsmasq(records) as resolver:
        found = run(
            configure(dns_resolver=resolver, dkim_domain="druga.test", bounce_domain="druga.test")
        )
    check = found["DMARC"]
    assert check.status is Status.fail
    assert "neither aligns" in check.detail
    assert "DKIM d=druga.test" in check.detail and "Return-Path domain druga.test" in check.detail
    assert "dkim_domain" in check.fix and "bounce_domain" in check.fix


def test_dmarc_with_policy_none_is_a_warning(pki: Pki, configure: Configure) -> None:
    records = replaced(
        good_records(pki.dkim_record),
        "--txt-record=_dmarc.",
        txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=none"),
    )
    with dnsmasq(records) as resolver:
        check = run(configure(dns_resolver=resolver))["DMARC"]
    assert check.status is Status.warn
    assert "p=quarantine" in check.fix


@pytest.mark.parametrize("address", ["obcina.novomesto@gmail.com", "novice@siol.net"])
def test_a_from_address_at_a_free_mailbox_provider_is_a_warning(
    pki: Pki, configure: Configure, address: str
) -> None:
    with dnsmasq(good_records(pki.dkim_record)) as resolver:
        check = run(configure(dns_resolver=resolver, from_address=f"Občina <{address}>"))[
            "From domain"
        ]
    assert check.status is Status.warn
    assert "Gmail and Yahoo refuse bulk mail" in check.detail


def test_organisational_domains_are_the_last_two_labels_or_three_under_known_suffixes() -> None:
    assert organisational_domain("novice.novomesto.si") == "novomesto.si"
    assert organisational_domain("novomesto.si") == "novomesto.si"
    assert organisational_domain("news.council.gov.uk") == "council.gov.uk"


def test_a_relay_on_this_machine_asks_for_the_sending_addresses(
    pki: Pki, configure: Configure
) -> None:
    with dnsmasq(good_records(pki.dkim_record)) as resolver:
        check = run(configure(dns_resolver=resolver, check_sending_ips=[]))[f"SPF {DOMAIN}"]
    assert check.status is Status.warn
    assert "local address (127.0.0.1)" in check.detail
    assert "check_sending_ips" in check.fix
