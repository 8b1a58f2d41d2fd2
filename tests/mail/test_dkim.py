"""DKIM signatures that receivers verify, with the one-click unsubscribe headers signed."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from publisher.mail.compose import Branding, Digest, compose_digest
from publisher.mail.dkim import DkimKeyError, DkimSigner
from publisher.mail.message import Recipient

NOW = datetime(2025, 3, 10, 7, 0, tzinfo=UTC)


def rsa_keys() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def ed25519_keys() -> tuple[bytes, bytes]:
    key = ed25519.Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(seed), b"v=DKIM1; k=ed25519; p=" + base64.b64encode(public)


def filled(digest: Digest, branding: Branding) -> bytes:
    recipient = Recipient(
        email="ana@example.org",
        name="Ana Žagar",
        unsubscribe_url="https://novice.example.org/unsubscribe/abc",
        preferences_url="https://novice.example.org/preferences/abc",
        message_id="tedenske-novice.2025-W10.1.abc@novomesto.example.org",
    )
    return compose_digest(digest, "sl", branding).template.fill(recipient, now=NOW)


@pytest.mark.parametrize("make_keys", [rsa_keys, ed25519_keys], ids=["rsa", "ed25519"])
def test_signature_verifies_and_covers_unsubscribe_headers(
    make_keys, digest: Digest, branding: Branding, tmp_path: Path
) -> None:
    private, record = make_keys()
    key_file = tmp_path / "dkim.key"
    key_file.write_bytes(private)
    signer = DkimSigner.from_file("novomesto.example.org", "novice2025", key_file)
    signed = signer.sign(filled(digest, branding))

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"novice2025._domainkey.novomesto.example.org."
        return record

    assert dkim.verify(signed, dnsfunc=dns)
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    signed_fields = header.split("h=", 1)[1].split(";", 1)[0].replace("\r\n", "").replace(" ", "")
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= set(
        signed_fields.lower().split(":")
    )

    tampered = signed.replace(b"unsubscribe/abc", b"unsubscribe/xyz")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_unreadable_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DkimKeyError, match="cannot read DKIM key"):
        DkimSigner.from_file("example.org", "s1", tmp_path / "missing.key")
