"""Email addresses: one canonical form per person, validated without DNS, hashed for suppression.

The address is kept as its owner typed it (local part unchanged, domain lower-cased, spaces
trimmed), because a few mail systems do distinguish case in the local part; identity, though,
is case-insensitive, as every mainstream provider treats it, so ``Ana@Example.org `` and
``ana@example.org`` are one subscriber and one suppression entry.

Subscribers and staff accounts both validate addresses, so the rules live here at the
top of the package, below those domains, where each may import them without reaching sideways.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

import idna
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES


class InvalidAddress(ValueError):
    """Not an address mail can be sent to; the message says what is wrong with it."""


@dataclass(frozen=True)
class Address:
    """A validated address: how to write it, how to recognise it, how to suppress it."""

    email: str
    key: str
    hash: str


def normalise(raw: str) -> str:
    """Trim spaces and lower-case the domain, keeping the local part as typed."""
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}" if at else text


def address_key(email: str) -> str:
    """The case-insensitive identity of an address (the unique key of a subscriber)."""
    return normalise(email).lower()


def address_hash(email: str) -> str:
    """SHA-256 (hex) of the address's identity: what a suppression keeps after erasure."""
    try:
        return parse_address(email).hash
    except InvalidAddress:
        return _sha256(address_key(email))


def needs_smtputf8(email: str) -> bool:
    """True when the local part (before the @) is not ASCII, as in ``žiga@example.org``.

    Such a mailbox can only be reached through a relay that offers SMTPUTF8 (RFC 6531); an
    internationalised domain alone needs nothing, it travels as punycode.
    """
    return not email.rpartition("@")[0].isascii()


NO_UTF8_MAILBOXES = (
    "the address has letters such as č, š or ž before the @, and the mail server cannot "
    "deliver to such addresses (it does not offer SMTPUTF8)"
)


def mailbox_unreachable(email: str, relay_offers_smtputf8: bool | None) -> bool:
    """The one rule every way in applies (the subscribe form, the admin's and the CLI's CSV
    import, staff adding an address): an address like ``žiga@example.org`` is refused when the
    relay does not offer SMTPUTF8, since no mail could ever reach it. ``None`` (the relay
    could not be asked just now) lets it in; the sender then fails it in words."""
    return relay_offers_smtputf8 is False and needs_smtputf8(email)


def ascii_domain_address(email: str) -> str:
    """The address with its domain in punycode (``ana@xn--ola-zza.si``): what goes into the
    SMTP envelope and the ``To`` header. The local part is left as it is."""
    local, at, domain = email.rpartition("@")
    if not at or domain.isascii():
        return email
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError:
        return email  # not one email-validator let in; the relay will refuse it by name


def _sha256(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_address(raw: str) -> Address:
    """Validate an address the way email-validator does without DNS, and normalise it.

    email-validator also turns internationalised domains into one form (``ŠOLA.si`` and
    ``šola.si`` are the same), so its normalised form is the one we keep.

    It is the only authority, but most of its time goes into checking the domain, and an
    import of 100,000 residents has a few dozen domains. So an address whose local part is
    plain ASCII dot-atom (letters, digits, ``._+-``: nothing email-validator treats
    specially) has its domain checked once per domain, by email-validator itself, and
    everything else goes through email-validator whole. The two paths agree; the tests
    compare them on awkward addresses.
    """
    text = raw.strip()
    if not text:
        raise InvalidAddress("no address given")
    if "\r" in text or "\n" in text:
        raise InvalidAddress("the address contains a line break")
    local, at, domain = text.rpartition("@")
    if (
        at
        and len(text) <= _SHORT_ENOUGH
        and _PLAIN_LOCAL_PART.fullmatch(local)
        and local.lower() not in CASE_INSENSITIVE_MAILBOX_NAMES
    ):
        email = f"{local}@{_checked_domain(domain)}"
        key = email.lower()
        return Address(email=email, key=key, hash=_sha256(key))
    return _parse_with_email_validator(text)


_PLAIN_LOCAL_PART = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_SHORT_ENOUGH = 64
"""Well under every length limit email-validator applies (64 local, 254 whole address)."""


@functools.lru_cache(maxsize=4096)
def _checked_domain(domain: str) -> str:
    """The domain as email-validator normalises it, or its reason for refusing it."""
    return _parse_with_email_validator(f"a@{domain}").email.rpartition("@")[2]


def _parse_with_email_validator(text: str) -> Address:
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
    email = normalise(result.normalized)
    key = email.lower()
    return Address(email=email, key=key, hash=_sha256(key))
