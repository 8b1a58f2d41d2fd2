"""DKIM signatures that receivers verify, with the one-click unsubscribe headers signed.

Every signature here is checked by dkimpy's verifier, as a receiver would check it; RSA is
signed by OpenSSL, so the tests also prove the result byte for byte what dkimpy's own
(pure Python) signer makes of the same message at the same moment.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import dkim
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from publisher.mail.compose import Branding, Digest, compose_digest
from publisher.mail.dkim import SIGNED_HEADERS, DkimKeyError, DkimSigner
from publisher.mail.message import Recipient

NOW = datetime(2025, 3, 10, 7, 0, tzinfo=UTC)
DOMAIN = "novomesto.example.org"
SELECTOR = "novice2025"


@cache
def _rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def rsa_keys(bits: int = 2048) -> tuple[bytes, bytes]:
    """A PEM private key (the traditional ``BEGIN RSA PRIVATE KEY`` kind) and its DNS record."""
    key = _rsa_key(bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def rsa_1024_keys() -> tuple[bytes, bytes]:
    return rsa_keys(1024)


def rsa_pkcs8_keys() -> tuple[bytes, bytes]:
    """The same kind of key as ``openssl genpkey`` writes (``BEGIN PRIVATE KEY``)."""
    key = _rsa_key(2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private, rsa_keys(2048)[1]


def ed25519_keys() -> tuple[bytes, bytes]:
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(seed), b"v=DKIM1; k=ed25519; p=" + base64.b64encode(public)


KEYS = pytest.mark.parametrize(
    "make_keys",
    [rsa_keys, rsa_1024_keys, rsa_pkcs8_keys, ed25519_keys],
    ids=["rsa-2048", "rsa-1024", "rsa-2048-pkcs8", "ed25519"],
)


def filled(digest: Digest, branding: Branding) -> bytes:
    recipient = Recipient(
        email="ana@example.org",
        name="Ana Žagar",
        unsubscribe_url="https://novice.example.org/unsubscribe/abc",
        preferences_url="https://novice.example.org/preferences/abc",
        message_id="tedenske-novice.2025-W10.1.abc@novomesto.example.org",
    )
    return compose_digest(digest, "sl", branding).template.fill(recipient, now=NOW)


def signer_for(private: bytes, tmp_path: Path) -> DkimSigner:
    key_file = tmp_path / "dkim.key"
    key_file.write_bytes(private)
    return DkimSigner.from_file(DOMAIN, SELECTOR, key_file)


def verifies(message: bytes, record: bytes) -> bool:
    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode()
        return record

    return bool(dkim.verify(message, dnsfunc=dns))


def signed_fields(message: bytes) -> set[str]:
    header = message.split(b"\r\n\r\n", 1)[0].decode()
    names = header.split("h=", 1)[1].split(";", 1)[0].replace("\r\n", "").replace(" ", "")
    return set(names.lower().split(":"))


@KEYS
def test_signature_verifies_and_covers_unsubscribe_headers(
    make_keys, digest: Digest, branding: Branding, tmp_path: Path
) -> None:
    private, record = make_keys()
    signed = signer_for(private, tmp_path).sign(filled(digest, branding))

    assert verifies(signed, record)
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= signed_fields(signed)
    assert not verifies(signed.replace(b"unsubscribe/abc", b"unsubscribe/xyz"), record)
    assert not verifies(signed.replace(b"Ana ", b"Ama "), record), "the body is signed too"


# A message as a person would write it in an SMTPUTF8 world: raw UTF-8 in the headers,
# encoded words too, a subject folded over three lines, a long List-Unsubscribe, and a body
# with trailing blank lines and spaces (which the simple body canonicalisation keeps).
UNICODE_MESSAGE = (
    "From: =?utf-8?q?Mestna_ob=C4=8Dina?= Novo mesto <novice@novomesto.example.org>\r\n"
    "To: Žiga Šušteršič <žiga@example.org>\r\n"
    "Subject: Občinske novice: „Noč knjige“ v knjižnici, čiščenje Krke in\r\n"
    " zapora Seidlove ceste zaradi obnove pločnikov med Glavnim trgom\r\n"
    "\tin Kandijskim mostom, ki bo trajala do konca meseca\r\n"
    "Date: Mon, 10 Mar 2025 07:00:00 +0000\r\n"
    "Message-ID: <tedenske-novice.2025-W10.7.abc@novomesto.example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "List-Unsubscribe: <https://novice.example.org/unsubscribe/"
    + "x"
    * 120
    + ">,\r\n  <mailto:odjava@novomesto.example.org?subject=odjava>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Spoštovani Žiga,   \r\n"
    "\r\n"
    "v knjižnici bo „Noč knjige“ do polnoči.\r\n"
    "\r\n"
    "\r\n"
).encode()


@KEYS
def test_non_ascii_and_long_folded_headers_verify(make_keys, tmp_path: Path) -> None:
    private, record = make_keys()
    signed = signer_for(private, tmp_path).sign(UNICODE_MESSAGE)

    assert verifies(signed, record)
    assert {"to", "subject", "list-unsubscribe"} <= signed_fields(signed)
    changed = signed.replace("„Noč knjige“".encode(), "„Dan knjige“".encode(), 1)
    assert changed != signed and not verifies(changed, record)
    # Relaxed header canonicalisation: a relay that refolds a header keeps the signature.
    refolded = signed.replace(b" zapora Seidlove", b"   zapora Seidlove")
    assert verifies(refolded, record)


@pytest.mark.parametrize("make_keys", [rsa_keys, ed25519_keys], ids=["rsa-2048", "ed25519"])
def test_signature_is_the_one_dkimpy_itself_makes(
    make_keys, digest: Digest, branding: Branding, tmp_path: Path
) -> None:
    """RSA (PKCS#1 v1.5) and Ed25519 signatures are deterministic, so OpenSSL and dkimpy's
    own signer must write the same header for the same message at the same second."""
    private, _ = make_keys()
    signer = signer_for(private, tmp_path)
    for message in (filled(digest, branding), UNICODE_MESSAGE):
        with time_machine.travel(NOW, tick=False):
            ours = signer.sign(message)
            theirs = dkim.sign(
                message,
                SELECTOR.encode(),
                DOMAIN.encode(),
                private,
                signature_algorithm=signer.algorithm.encode(),
                include_headers=[h for h in SIGNED_HEADERS if h.decode() in signed_fields(ours)],
                linesep=b"\r\n",
            )
        assert ours == theirs + message


def test_a_message_with_bare_line_feeds_is_signed_as_it_will_travel(tmp_path: Path) -> None:
    """SMTP turns bare LFs into CRLF on the way; the signature covers what arrives."""
    private, record = rsa_keys()
    message = UNICODE_MESSAGE.replace(b"\r\n", b"\n")
    signed = signer_for(private, tmp_path).sign(message)
    assert verifies(signed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), record)


def test_unreadable_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DkimKeyError, match="cannot read DKIM key"):
        DkimSigner.from_file("example.org", "s1", tmp_path / "missing.key")


def _pem(key: object, encryption: serialization.KeySerializationEncryption) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n", "PEM"),
        (b"not a key at all", "neither a PEM private key nor"),
        (base64.b64encode(b"x" * 16), "32-byte Ed25519 seed"),
        (
            _pem(_rsa_key(2048), serialization.BestAvailableEncryption(b"geslo")),
            "passphrase",
        ),
        (
            _pem(ec.generate_private_key(ec.SECP256R1()), serialization.NoEncryption()),
            "neither an RSA nor an Ed25519 key",
        ),
    ],
    ids=["broken-pem", "garbage", "short-seed", "passphrase", "ec-key"],
)
def test_a_key_that_cannot_sign_is_refused_when_loaded_saying_which_file(
    content: bytes, says: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "dkim.key"
    key_file.write_bytes(content)
    with pytest.raises(DkimKeyError, match=says) as refused:
        DkimSigner.from_file(DOMAIN, SELECTOR, key_file)
    assert str(key_file) in str(refused.value)
