"""One address is one person however it is typed; invalid addresses say why."""

from __future__ import annotations

import hashlib

import pytest

from publisher.addresses import InvalidAddress, address_hash, normalise, parse_address


def test_normalising_trims_and_lowercases_the_domain_but_keeps_the_local_part() -> None:
    assert normalise("  Ana.Novak@Example.ORG \t") == "Ana.Novak@example.org"
    assert parse_address(" Ana@Example.org ").email == "Ana@example.org"


def test_differently_typed_forms_of_one_address_share_key_and_hash() -> None:
    forms = ["Ana@Example.org ", "ana@example.org", "  ANA@EXAMPLE.ORG"]
    parsed = [parse_address(form) for form in forms]
    assert {p.key for p in parsed} == {"ana@example.org"}
    assert {p.hash for p in parsed} == {hashlib.sha256(b"ana@example.org").hexdigest()}
    assert {address_hash(form) for form in forms} == {parsed[0].hash}


def test_international_domains_have_one_form() -> None:
    assert parse_address("Žan@ŠOLA.si").email == "Žan@šola.si"
    assert parse_address("žan@šola.si").key == parse_address("Žan@ŠOLA.si").key


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "no address"),
        ("ana.example.org", "@"),
        ("ana@@example.org", "after the @"),
        ("ana novak@example.org", "SPACE"),
        ("ana@localhost", "period"),
        ("ana@example.org\r\nBcc: x@example.org", "line break"),
    ],
)
def test_invalid_addresses_are_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidAddress, match=reason):
        parse_address(raw)


AWKWARD = [
    "ana@example.org",
    "Ana.Novak+novice@Example.ORG",
    "a_b-c@sub.example.co.uk",
    "-ana@example.org",
    "ana..novak@example.org",
    ".ana@example.org",
    "ana.@example.org",
    "Postmaster@Example.org",
    "ABUSE@example.org",
    "ana@-example.org",
    "ana@example-.org",
    "ana@example..org",
    "ana@example.org.",
    "ana@localhost",
    "ana@example.invalid",
    "ana@printer.local",
    "ana@example.test",
    "ana@1.2.3.4",
    "ana@[193.2.1.66]",
    "ana@x_y.example.org",
    "ana@example.c0m",
    "ana@ŠOLA.si",
    "ana@xn--ola-zza.si",
    "ana@" + "d" * 64 + ".org",
    "a" * 65 + "@example.org",
    "ana@@example.org",
    "ana@",
    "@example.org",
]


@pytest.mark.parametrize("raw", AWKWARD)
def test_the_per_domain_shortcut_agrees_with_email_validator(raw: str) -> None:
    from publisher.addresses import _parse_with_email_validator

    def outcome(parse):  # type: ignore[no-untyped-def]
        try:
            return parse(raw)
        except InvalidAddress as exc:
            return f"invalid: {exc}"

    assert outcome(parse_address) == outcome(_parse_with_email_validator)
