"""Signed, purpose-scoped tokens for the links in mails: confirm, unsubscribe, preferences.

A token names the subscriber by ``Subscriber.token_uid``, 128 random bits made with the row,
never by the database id or the address (the list, where it matters, by its id: lists are few
and public). It is signed with ``PUBLISHER_SECRET_KEY`` by itsdangerous with one salt per
purpose, so a token made for one purpose is worthless for another.

Why a random uid and not the sequential id (or an encrypted one): the signature alone stops
forgery only while the key stays secret. Were the key leaked or left at a known value, ids
1, 2, 3… would let anyone sign a preferences link for every resident and download or erase
their data; encrypting the id with the same key changes nothing, as the attacker has it. A
uid is not derivable from any key: forging a link needs the uid of that very person, which
only their own mails carry. Tokens signed before uids existed carry the id; they are still
read for unsubscribing only (RFC 8058 links in mails already sent must keep working, and the
worst a forger could do with one is unsubscribe), never for preferences or confirmation.

Confirmation links expire (``confirm_token_days``, default 7); unsubscribe and preference
links never do, because RFC 8058 one-click unsubscribe links in mails sent years ago must keep
working.

A token that verifies proves only that we issued it: whether its subscriber still exists is
the register's question (after erasure it does not, and the caller gets "not found").
The web layer turns :class:`InvalidToken` into a 400 page and :class:`ExpiredToken` into a
"this link has expired, subscribe again" page.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadData, SignatureExpired, Signer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin

from publisher.clock import timestamp
from publisher.config import Settings

Clock = Callable[[], float]
"""Seconds since the epoch; tests pass a fixed one instead of sleeping."""


class Purpose(enum.StrEnum):
    """What a token may be used for. (Staff web sessions will add ``session``.)"""

    confirm = "confirm"
    unsubscribe = "unsubscribe"
    preferences = "preferences"
    bounce = "bounce"
    """A delivery's id in its envelope sender (VERP), read back from its bounces; a short
    :meth:`Tokens.tag`, not a link."""


NEEDS_LIST = frozenset({Purpose.confirm})
"""Purposes that only make sense for one list (an unsubscribe without one means all lists)."""


class InvalidToken(Exception):
    """Tampered with, truncated, signed with another key or made for another purpose."""


class ExpiredToken(InvalidToken):
    """Genuine, but older than its purpose allows (a confirmation link after 7 days)."""


@dataclass(frozen=True)
class TokenClaims:
    purpose: Purpose
    subscriber_uid: str
    """The subscriber's ``token_uid``; "" in an old unsubscribe token, which has the id."""
    list_id: int | None
    issued_at: datetime
    subscriber_id: int = 0
    """Filled in by whoever looked the uid up (0: nobody has it); an old token's own id."""


class _PlainSerializer(URLSafeTimedSerializer):
    """Never tries zlib: a payload of one or two ids never compresses, and the sender signs two
    links for every message. Reading is unchanged (a compressed token would still load)."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(super(URLSafeSerializerMixin, self).dump_payload(obj))


class Tokens:
    """Makes and reads tokens with one secret; one instance serves the whole app."""

    def __init__(
        self,
        secret_key: str,
        *,
        confirm_max_age: timedelta = timedelta(days=7),
        clock: Clock = timestamp,
    ) -> None:
        if not secret_key:
            raise ValueError("tokens need a secret key (PUBLISHER_SECRET_KEY)")
        self._secret_key = secret_key
        self._clock = clock
        self._serializers: dict[Purpose, URLSafeTimedSerializer] = {}
        self.max_age: dict[Purpose, timedelta | None] = {
            Purpose.confirm: confirm_max_age,
            Purpose.unsubscribe: None,
            Purpose.preferences: None,
            Purpose.bounce: None,
        }
        self._tag_keys: dict[Purpose, bytes] = {}

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = timestamp) -> Tokens:
        return cls(
            settings.secret,
            confirm_max_age=timedelta(days=settings.confirm_token_days),
            clock=clock,
        )

    def _serializer(self, purpose: Purpose) -> URLSafeTimedSerializer:
        """One serializer per purpose, made once: the sender signs two links per message."""
        serializer = self._serializers.get(purpose)
        if serializer is None:
            clock = self._clock

            class ClockedSigner(TimestampSigner):
                def get_timestamp(self) -> int:
                    return int(clock())

            serializer = _PlainSerializer(
                self._secret_key, salt=f"publisher.{purpose.value}", signer=ClockedSigner
            )
            self._serializers[purpose] = serializer
        return serializer

    def make(self, purpose: Purpose, subscriber_uid: str, list_id: int | None = None) -> str:
        """A URL-safe token for ``purpose``, bound to the subscriber's uid (and the list)."""
        if purpose in NEEDS_LIST and list_id is None:
            raise ValueError(f"a {purpose} token needs a list")
        if not isinstance(subscriber_uid, str) or not subscriber_uid:
            raise ValueError("a token names a subscriber by its token_uid")
        payload: list[str | int] = (
            [subscriber_uid] if list_id is None else [subscriber_uid, list_id]
        )
        return str(self._serializer(purpose).dumps(payload))

    def tag(self, purpose: Purpose, number: int) -> str:
        """``number`` and 80 bits of its signature, e.g. ``4711-k3j5xq2mz7vb4ndr``.

        Short and in lowercase letters and digits, so it fits in the local part of an address
        (at most 64 characters) and survives mail servers that change the case of one.
        """
        if not _is_id(number) or number < 0:
            raise ValueError("a tag signs a whole number")
        return f"{number}-{self._tag_signature(purpose, number)}"

    def read_tag(self, tag: str, purpose: Purpose) -> int:
        """The number in a genuine tag of this purpose, else :class:`InvalidToken`."""
        number, _, signature = tag.strip().lower().partition("-")
        if not number.isascii() or not number.isdigit() or len(number) > 18:
            raise InvalidToken(f"not a valid {purpose} tag")
        if not hmac.compare_digest(signature, self._tag_signature(purpose, int(number))):
            raise InvalidToken(f"not a valid {purpose} tag")
        return int(number)

    def _tag_signature(self, purpose: Purpose, number: int) -> str:
        key = self._tag_keys.get(purpose)
        if key is None:  # the secret, derived for this purpose as itsdangerous derives it
            key = Signer(self._secret_key, salt=f"publisher.{purpose.value}").derive_key()
            self._tag_keys[purpose] = key
        mac = hmac.new(key, str(number).encode("ascii"), hashlib.sha256).digest()[:10]
        return base64.b32encode(mac).decode("ascii").lower()

    def read(self, token: str, purpose: Purpose) -> TokenClaims:
        """The claims of a genuine token of this purpose, else :class:`InvalidToken`."""
        max_age = self.max_age[purpose]
        try:
            payload, signed_at = self._serializer(purpose).loads(
                token,
                max_age=None if max_age is None else int(max_age.total_seconds()),
                return_timestamp=True,
            )
        except SignatureExpired:
            raise ExpiredToken(f"this {purpose} link has expired") from None
        except BadData:
            raise InvalidToken(f"not a valid {purpose} link") from None
        subscriber, list_id = _payload(payload, purpose)
        issued = signed_at.astimezone(UTC)
        if isinstance(subscriber, int):  # an old token, from before uids
            return TokenClaims(purpose, "", list_id, issued, subscriber_id=subscriber)
        return TokenClaims(purpose, subscriber, list_id, issued)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _payload(payload: Any, purpose: Purpose) -> tuple[str | int, int | None]:
    """Check the payload's shape: a genuine token of ours always passes."""
    if isinstance(payload, list) and len(payload) in (1, 2):
        subscriber = payload[0]
        list_id = payload[1] if len(payload) == 2 else None
        uid = isinstance(subscriber, str) and 0 < len(subscriber) <= 64
        legacy = _is_id(subscriber) and purpose is Purpose.unsubscribe
        if (
            (uid or legacy)
            and (list_id is None or _is_id(list_id))
            and (list_id is not None or purpose not in NEEDS_LIST)
        ):
            return subscriber, list_id
    raise InvalidToken(f"not a valid {purpose} link")
