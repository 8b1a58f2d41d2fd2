"""Amazon SNS messages (how Amazon SES reports bounces and complaints): their signature checked
against Amazon's own signing certificate, and subscriptions confirmed.

A message is believed only when its signature (``SignatureVersion`` 1: RSA with SHA-1, 2: RSA
with SHA-256, over the fields SNS documents, in its order) verifies with the certificate at
its ``SigningCertURL``, and that URL is ``https://sns.<region>.amazonaws.com/….pem`` (or starts
with one of ``bounce_sns_cert_url_prefixes``, for tests and private endpoints); anyone can
put any URL in a message, so the host is checked before anything is fetched. A
``SubscribeURL`` is visited under the same rule, only for a message whose signature held.
Certificates are fetched once per URL and kept while they are valid.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from publisher.clock import utcnow
from publisher.config import Settings

AMAZON_HOST = re.compile(r"sns\.[a-z]{2}(-[a-z]+)+-\d\.amazonaws\.com(\.cn)?")
"""``sns.eu-central-1.amazonaws.com``: the only hosts a signing certificate comes from."""
FETCH_TIMEOUT = 10.0
MAX_CERT_BYTES = 64 * 1024
_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


class SnsRefused(Exception):
    """The message is not from SNS as far as we can tell (its signature or certificate)."""


class SnsUnavailable(Exception):
    """Amazon's certificate or confirmation URL could not be reached just now; SNS tries again."""


def trusted_url(settings: Settings, url: object) -> bool:
    """An SNS host over https, or a place the operator added: nothing else is fetched."""
    if not isinstance(url, str) or len(url) > 2000 or any(c in url for c in " \r\n\t\\"):
        return False
    if any(url.startswith(prefix) for prefix in settings.bounce_sns_cert_url_prefixes):
        return True
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and parts.username is None
        and port in (None, 443)
        and AMAZON_HOST.fullmatch(parts.hostname or "") is not None
    )


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The fields SNS signs, name and value on lines of their own, in SNS's order."""
    kind = message.get("Type")
    names = _NOTIFICATION_FIELDS if kind == "Notification" else _CONFIRMATION_FIELDS
    lines: list[str] = []
    for name in names:
        value = message.get(name)
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            raise SnsRefused(f"the field {name} is missing")
        lines += [name, value]
    return ("\n".join(lines) + "\n").encode("utf-8")


class Certificates:
    """Signing certificates by URL, fetched once (a handful of URLs in practice)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._known: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> x509.Certificate:
        with self._lock:
            cert = self._known.get(url)
        if cert is None:
            cert = self._fetch(url)
            with self._lock:
                if len(self._known) > 32:
                    self._known.clear()
                self._known[url] = cert
        now = utcnow()
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise SnsRefused("the signing certificate is not valid now")
        return cert

    def _fetch(self, url: str) -> x509.Certificate:
        try:
            with httpx.stream("GET", url, timeout=FETCH_TIMEOUT, follow_redirects=False) as answer:
                if answer.status_code != 200:
                    raise SnsUnavailable(f"the signing certificate answered {answer.status_code}")
                body = b""
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > MAX_CERT_BYTES:
                        raise SnsRefused("the signing certificate is too large")
        except httpx.HTTPError as exc:
            raise SnsUnavailable(f"the signing certificate could not be fetched: {exc}") from None
        try:
            return x509.load_pem_x509_certificate(body)
        except ValueError:
            raise SnsRefused("the signing certificate is not a PEM certificate") from None


def verify(settings: Settings, certificates: Certificates, message: Mapping[str, Any]) -> None:
    """Raise :class:`SnsRefused` unless SNS signed ``message`` (a parsed SNS JSON body)."""
    algorithm = _HASHES.get(str(message.get("SignatureVersion", "")))
    if algorithm is None:
        raise SnsRefused("unknown SignatureVersion (1 and 2 are known)")
    url = message.get("SigningCertURL")
    if not trusted_url(settings, url):
        raise SnsRefused("the signing certificate is not on an Amazon SNS host")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise SnsRefused("the signature is not base64") from None
    signed = string_to_sign(message)
    key = certificates.get(str(url)).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsRefused("the signing certificate holds no RSA key")
    try:
        key.verify(signature, signed, padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise SnsRefused("the signature does not match") from None


def confirm_subscription(settings: Settings, message: Mapping[str, Any]) -> None:
    """Visit the ``SubscribeURL`` of a verified confirmation request, if it is Amazon's."""
    url = message.get("SubscribeURL")
    if not trusted_url(settings, url):
        raise SnsRefused("the SubscribeURL is not on an Amazon SNS host")
    try:
        answer = httpx.get(str(url), timeout=FETCH_TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise SnsUnavailable(f"the subscription could not be confirmed: {exc}") from None
    if answer.status_code != 200:
        raise SnsUnavailable(f"confirming the subscription answered {answer.status_code}")
