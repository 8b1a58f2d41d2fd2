"""DKIM signing with dkimpy, RSA or Ed25519, done per recipient on the filled bytes.

Gmail and Yahoo require bulk senders to sign; the one-click unsubscribe headers must be among
the signed ones (RFC 8058), or a relay could add its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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


class DkimKeyError(ValueError):
    """The configured DKIM key cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class DkimSigner:
    domain: str
    selector: str
    private_key: bytes
    algorithm: str = "rsa-sha256"
    """``rsa-sha256`` (PEM key) or ``ed25519-sha256`` (base64 of the 32-byte seed, RFC 8463)."""

    @classmethod
    def from_file(cls, domain: str, selector: str, key_path: Path) -> DkimSigner:
        try:
            key = key_path.read_bytes().strip()
        except OSError as exc:
            raise DkimKeyError(f"cannot read DKIM key {key_path}: {exc.strerror}") from None
        algorithm = "rsa-sha256" if key.startswith(b"-----BEGIN") else "ed25519-sha256"
        return cls(domain=domain, selector=selector, private_key=key, algorithm=algorithm)

    def sign(self, message: bytes) -> bytes:
        """The message with a ``DKIM-Signature`` header in front."""
        import dkim  # dkimpy and dnspython: loaded only where DKIM is configured

        signature = dkim.sign(
            message,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            include_headers=[h for h in SIGNED_HEADERS if _has_header(message, h)],
            signature_algorithm=self.algorithm.encode(),
            linesep=b"\r\n",
        )
        return signature + message


def dkim_signer(settings: Settings) -> DkimSigner | None:
    """The signer the settings ask for, or None when DKIM is not configured."""
    if not (settings.dkim_domain and settings.dkim_selector and settings.dkim_key_path):
        return None
    return DkimSigner.from_file(
        settings.dkim_domain, settings.dkim_selector, settings.dkim_key_path
    )


def _has_header(message: bytes, name: bytes) -> bool:
    head = message.split(b"\r\n\r\n", 1)[0].lower()
    return head.startswith(name + b":") or b"\r\n" + name + b":" in head
