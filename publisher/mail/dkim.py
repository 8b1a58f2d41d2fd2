"""DKIM signing, RSA or Ed25519, done per recipient on the filled bytes.

Gmail and Yahoo require bulk senders to sign; the one-click unsubscribe headers must be among
the signed ones (RFC 8058), or a relay could add its own. RSA-2048 is what every receiver
verifies (not all the large mailbox providers verify Ed25519).

dkimpy parses, canonicalises (relaxed headers, simple body) and hashes, as it does when it
signs by itself; only the private-key step is OpenSSL's, through ``cryptography``: dkimpy
signs RSA in pure Python, about 9 ms a message, OpenSSL in about 0.3 ms, which is what lets
a signing sender keep up with an unsigned one. The tests verify every signature with dkimpy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from publisher.clock import timestamp
from publisher.config import Settings

SIGNED_HEADERS: tuple[bytes, ...] = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)

CANONICALIZATION = b"relaxed/simple"
"""Relaxed headers survive a relay that refolds them; a simple body is what the bytes say."""

MIN_RSA_BITS = 1024
"""Receivers ignore shorter RSA keys (RFC 8301); 2048 bits is what they expect today."""

SIGNATURE_HEADER = b"DKIM-Signature"

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class DkimKeyError(ValueError):
    """The configured DKIM key cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class DkimSigner:
    domain: str
    selector: str
    key: PrivateKey
    """An RSA key (a PEM file) or an Ed25519 key (base64 of its 32-byte seed, RFC 8463)."""

    @property
    def algorithm(self) -> str:
        return "rsa-sha256" if isinstance(self.key, rsa.RSAPrivateKey) else "ed25519-sha256"

    @property
    def record_name(self) -> str:
        """Where receivers look up the public key: ``<selector>._domainkey.<domain>``."""
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def public_key(self) -> str:
        """The ``p=`` of the DNS record: base64 of the RSA key's SubjectPublicKeyInfo, or of
        the Ed25519 key's 32 bytes (RFC 8463)."""
        public = self.key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            data = public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        else:
            data = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(data).decode("ascii")

    @property
    def dns_record(self) -> str:
        """The TXT record to publish at :attr:`record_name`."""
        kind = "rsa" if isinstance(self.key, rsa.RSAPrivateKey) else "ed25519"
        return f"v=DKIM1; k={kind}; p={self.public_key}"

    @classmethod
    def from_file(cls, domain: str, selector: str, key_path: Path) -> DkimSigner:
        try:
            key = key_path.read_bytes()
        except OSError as exc:
            raise DkimKeyError(f"cannot read DKIM key {key_path}: {exc.strerror}") from None
        return cls(domain=domain, selector=selector, key=load_key(key, str(key_path)))

    def sign(self, message: bytes) -> bytes:
        """The message with a ``DKIM-Signature`` header in front."""
        # dkimpy and dnspython: loaded only where DKIM is configured.
        from dkim import fold, hash_headers, rfc822_parse
        from dkim.canonicalization import CanonicalizationPolicy

        if message.count(b"\n") == message.count(b"\r\n"):
            # CRLF throughout, as composed: parse the header only (dkimpy would split the
            # whole body into lines to join them again, a third of the signing time).
            head, separator, body = message.partition(b"\r\n\r\n")
            headers, _ = rfc822_parse(head + b"\r\n\r\n")
            if not separator:
                body = b""
        else:
            headers, body = rfc822_parse(message)
        present = {name.lower() for name, _ in headers}
        signed = tuple(name for name in SIGNED_HEADERS if name in present)
        if b"from" not in signed:
            raise ValueError("a message to sign needs a From header")
        policy = CanonicalizationPolicy.from_c_value(CANONICALIZATION)
        body_hash = base64.b64encode(hashlib.sha256(policy.canonicalize_body(body)).digest())
        fields = [
            (b"v", b"1"),
            (b"a", self.algorithm.encode()),
            (b"c", CANONICALIZATION),
            (b"d", self.domain.encode()),
            (b"i", b"@" + self.domain.encode()),
            (b"q", b"dns/txt"),
            (b"s", self.selector.encode()),
            (b"t", str(int(timestamp())).encode()),
            (b"h", b" : ".join(signed)),
            (b"bh", body_hash),
            # A placeholder as long as a signature folds b= onto a line of its own (dkimpy's way).
            (b"b", b"0" * 60),
        ]
        unsigned = fold(_joined(fields), namelen=len(SIGNATURE_HEADER), linesep=b"\r\n")
        hasher = hashlib.sha256()
        hash_headers(
            hasher,
            policy,
            # Only the signed ones are canonicalised; the selection among them is dkimpy's.
            policy.canonicalize_headers([h for h in headers if h[0].lower() in signed]),
            signed,
            (SIGNATURE_HEADER, b" " + unsigned),  # hash_headers leaves b= empty
            {},
        )
        fields[-1] = (b"b", base64.b64encode(self._sign_digest(hasher.digest())))
        value = fold(_joined(fields) + b"\r\n", namelen=len(SIGNATURE_HEADER), linesep=b"\r\n")
        return SIGNATURE_HEADER + b": " + value + message

    def _sign_digest(self, digest: bytes) -> bytes:
        """The private-key step, OpenSSL's."""
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        return self.key.sign(digest)  # RFC 8463: Ed25519 signs the SHA-256 of the headers


def _joined(fields: list[tuple[bytes, bytes]]) -> bytes:
    return b"; ".join(name + b"=" + value for name, value in fields)


def load_key(data: bytes, source: str) -> PrivateKey:
    """The private key in ``data`` (a PEM file, or the base64 of an Ed25519 seed); ``source``
    names it in the error, which says what to do."""
    data = data.strip()
    if data.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except TypeError:
            raise DkimKeyError(
                f"DKIM key {source} is protected by a passphrase: store it without one, "
                "readable only by the publisher's user"
            ) from None
        except (ValueError, UnsupportedAlgorithm):
            raise DkimKeyError(
                f"DKIM key {source} is not a readable PEM private key "
                "(make one with: openssl genrsa -out dkim.key 2048)"
            ) from None
        if isinstance(key, rsa.RSAPrivateKey):
            if key.key_size < MIN_RSA_BITS:
                raise DkimKeyError(
                    f"DKIM key {source} is an RSA key of {key.key_size} bits; receivers ignore "
                    f"keys under {MIN_RSA_BITS} bits: make a 2048-bit key"
                )
            return key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key
        raise DkimKeyError(
            f"DKIM key {source} is neither an RSA nor an Ed25519 key; DKIM signs with "
            "an RSA key (PEM, 2048 bits) or an Ed25519 key (base64 of its 32-byte seed)"
        )
    try:
        seed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) != 32:
        raise DkimKeyError(
            f"DKIM key {source} is neither a PEM private key nor the base64 of a 32-byte "
            "Ed25519 seed"
        )
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def dkim_signer(settings: Settings) -> DkimSigner | None:
    """The signer the settings ask for, or None when DKIM is not configured."""
    if not (settings.dkim_domain and settings.dkim_selector and settings.dkim_key_path):
        return None
    return DkimSigner.from_file(
        settings.dkim_domain, settings.dkim_selector, settings.dkim_key_path
    )
