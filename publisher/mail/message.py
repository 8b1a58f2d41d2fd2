"""Message bytes built once per edition and language, filled per recipient by substitution.

Building and serialising a MIME message costs milliseconds; a weekly digest goes to tens of
thousands of people. So the message is serialised once, with placeholders where the
per-recipient values go (To, Message-ID, Date, the unsubscribe and preferences URLs, the
name), and each recipient costs one ``bytes.join``.

Both parts use ``Content-Transfer-Encoding: 8bit`` (UTF-8 text, CRLF, lines of at most 998
octets), so no transfer encoding can split or rewrite a placeholder. Every SMTP server we send
to announces 8BITMIME; for one that does not, :func:`downgrade_to_7bit` re-encodes a filled
message as quoted-printable. Placeholders carry a random nonce per template, so article text
cannot forge one.
"""

from __future__ import annotations

import base64
import html
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import MIMEPart
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache

from publisher.addresses import ascii_domain_address

SMTP_POLICY = policy.SMTP.clone(max_line_length=998)
MAX_LINE = 900
"""Body lines are wrapped below SMTP's 998-octet limit, leaving room for substituted values."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[ \t]*\n\s*")
"""The HTML part goes out as few long lines (wrapped below 998 octets): SMTP libraries
normalise line endings and dot-stuff every message line by line, per recipient, so fewer lines
cost less. A line break is whitespace to HTML; the digest's HTML has no <pre>."""
_SLOT = re.compile(rb"@@([0-9a-f]{16})-([a-z_]+)@@")
_SLOT_TEXT = re.compile(r"@@[0-9a-f]{16}-[a-z_]+@@")
SLOT_ROOM = 250
"""Octets a line keeps free for each slot on it: a link with its signed token, on a long
``base_url``, grows by well over a hundred when filled, and two share a line."""

# Per-recipient slots: where each value goes and how it is escaped there.
HEADER_SLOTS = ("to", "message_id", "date", "list_unsubscribe")
BODY_SLOTS = (
    "salutation_html",
    "salutation_text",
    "unsubscribe_url_html",
    "unsubscribe_url_text",
    "preferences_url_html",
    "preferences_url_text",
)


class HeaderInjection(ValueError):
    """A value meant for a header contained a line break or control character."""


def clean_header_text(value: str) -> str:
    """Collapse control characters (CR, LF, tabs ...) to spaces: a name can never add a header."""
    return " ".join(_CONTROL.sub(" ", value).split())


_ONE_ADDRESS = re.compile(r"[^\s@<>,;:\"()\[\]\\]+@[^\s@<>,;:\"()\[\]\\]+")


def checked_address(value: str) -> str:
    """An address safe to put in a header, or :class:`HeaderInjection`.

    Addresses were validated when they entered the register (email-validator); this is the
    cheap last guard, per recipient, that one value can only ever be one address.
    """
    if _ONE_ADDRESS.fullmatch(value) is None:
        raise HeaderInjection(f"refusing what is not exactly one plain address: {value!r}")
    return value


_NOT_IN_URL = re.compile(r'[\s<>"\x00-\x1f\x7f]')


def checked_url(value: str) -> str:
    if _NOT_IN_URL.search(value):
        raise HeaderInjection(f"refusing URL with spaces, quotes or control characters: {value!r}")
    return value


def mailbox(name: str, address: str) -> str:
    """``Name <address>`` for a header: quoted if ASCII, RFC 2047 encoded words if not.

    ``formataddr`` with a charset does the same through ``email.header`` at several times
    the cost; this runs once per recipient. Encoded words hold at most 45 bytes of UTF-8 so
    each stays within the 75 characters RFC 2047 allows, and never split a character.
    """
    if not name:
        return address
    if name.isascii():
        if address.isascii():
            return formataddr((name, address))
        # formataddr refuses a UTF-8 local part (RFC 6532, sent only with SMTPUTF8).
        return f"{formataddr((name, 'x@x'))[:-5]}<{address}>"
    words, chunk = [], b""
    for char in name:
        encoded = char.encode()
        if len(chunk) + len(encoded) > 45:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    encoded_name = " ".join(f"=?utf-8?b?{base64.b64encode(w).decode()}?=" for w in words)
    return f"{encoded_name} <{address}>"


@dataclass(frozen=True)
class Recipient:
    """What differs from one copy of an edition to the next."""

    email: str
    name: str | None
    unsubscribe_url: str
    preferences_url: str
    message_id: str
    """Without angle brackets, e.g. ``2025-W10.42.x7f3@novice.example.org``."""


@dataclass(frozen=True)
class Slots:
    """The placeholder text for each slot in one template."""

    nonce: str

    def __getattr__(self, slot: str) -> str:
        if slot not in HEADER_SLOTS + BODY_SLOTS:
            raise AttributeError(slot)
        return f"@@{self.nonce}-{slot}@@"

    def as_dict(self) -> dict[str, str]:
        return {slot: getattr(self, slot) for slot in HEADER_SLOTS + BODY_SLOTS}


def new_slots() -> Slots:
    return Slots(nonce=secrets.token_hex(8))


def wrap_long_lines(text: str, limit: int = MAX_LINE) -> str:
    """Break lines longer than ``limit`` at a space; HTML and plain text read the same after.

    Premailer puts long ``style`` attributes and paragraphs on one line; SMTP allows 998
    octets, after the slots are filled (each slot counts :data:`SLOT_ROOM` octets here). A
    newline is whitespace to HTML, both between attributes and in text.
    """
    out: list[str] = []
    for line in text.splitlines():
        while len(line.encode()) + SLOT_ROOM * len(_SLOT_TEXT.findall(line)) > limit:
            cut = line.rfind(" ", 0, limit // 2)
            if cut <= 0:
                cut = line.find(" ", limit // 2)
            if cut <= 0:
                break
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out)


@dataclass(frozen=True)
class MessageTemplate:
    """A serialised message with slots; :meth:`fill` makes one recipient's bytes."""

    segments: tuple[bytes, ...]
    """Literal bytes; between two consecutive segments stands the slot of the same index."""
    slots: tuple[str, ...]

    def fill(self, recipient: Recipient, *, now: datetime) -> bytes:
        values = slot_values(recipient, now=now)
        parts: list[bytes] = [self.segments[0]]
        for slot, segment in zip(self.slots, self.segments[1:], strict=True):
            parts.append(values[slot])
            parts.append(segment)
        return b"".join(parts)

    def serialise(self, slots: Slots) -> bytes:
        """The bytes with their slots written back in, for storing; see :func:`split_template`."""
        parts: list[bytes] = [self.segments[0]]
        names = slots.as_dict()
        for slot, segment in zip(self.slots, self.segments[1:], strict=True):
            parts.append(names[slot].encode("ascii"))
            parts.append(segment)
        return b"".join(parts)


def slot_values(recipient: Recipient, *, now: datetime) -> dict[str, bytes]:
    """Every slot's bytes for one recipient, escaped for where the slot stands."""
    name = clean_header_text(recipient.name or "")
    address = checked_address(ascii_domain_address(recipient.email))
    unsubscribe = checked_url(recipient.unsubscribe_url)
    preferences = checked_url(recipient.preferences_url)
    message_id = checked_url(recipient.message_id)
    return {
        "to": mailbox(name, address).encode(),  # UTF-8 only for a local part needing SMTPUTF8
        "message_id": f"<{message_id}>".encode("ascii"),
        "date": _date_header(now),
        "list_unsubscribe": f"<{unsubscribe}>".encode("ascii"),
        "salutation_html": html.escape(f", {name}" if name else "").encode(),
        "salutation_text": (f", {name}" if name else "").encode(),
        "unsubscribe_url_html": html.escape(unsubscribe).encode(),
        "unsubscribe_url_text": unsubscribe.encode(),
        "preferences_url_html": html.escape(preferences).encode(),
        "preferences_url_text": preferences.encode(),
    }


@lru_cache(maxsize=4)
def _date_header(now: datetime) -> bytes:
    return format_datetime(now).encode("ascii")


_PLAIN_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
"""Atoms separated by spaces (RFC 5322 atext): a phrase that needs neither quotes nor encoding."""
_LIST_ID = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_ENCODED_WORD_BYTES = 45
"""UTF-8 bytes per RFC 2047 word: base64 of 45 bytes plus ``=?utf-8?b??=`` stays under 75."""


def list_id_header(name: str, list_id: str) -> str:
    """The ``List-Id`` line (RFC 2919): the list's name as a phrase, then ``<list-id>``.

    The name is typed by staff and may hold ``<``, quotes or č: as it stands it would be
    read as a second list id or break the header, so it is written as atoms when it can be,
    else as a quoted string, else as RFC 2047 encoded words; never as raw markup.
    """
    if not _LIST_ID.fullmatch(list_id):
        raise HeaderInjection(f"not a list id: {list_id!r}")
    name = clean_header_text(name)
    if not name:
        words = []
    elif _PLAIN_PHRASE.fullmatch(name):
        words = name.split()
    elif name.isascii():
        words = ['"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    else:
        words = _encoded_words(name)
    lines: list[str] = []
    line = "List-Id:"
    for word in [*words, f"<{list_id}>"]:
        if len(line) + 1 + len(word) > 76 and line != "List-Id:":
            lines.append(line)
            line = ""
        line += " " + word
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def _encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 base64 words, split between characters, each at most 75 long."""
    chunks: list[bytes] = [b""]
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunks[-1]) + len(encoded) > _ENCODED_WORD_BYTES:
            chunks.append(b"")
        chunks[-1] += encoded
    return [f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=" for chunk in chunks]


def build_template(
    *,
    subject: str,
    sender: str,
    text: str,
    html_body: str,
    slots: Slots,
    headers: Mapping[str, str],
    list_unsubscribe_mailto: str | None = None,
    list_id: tuple[str, str] | None = None,
) -> MessageTemplate:
    """Serialise the message once; ``text`` and ``html_body`` already contain body slots.

    The header block is written here, not by ``EmailMessage``, because the email package
    rewrites values it cannot parse, and a slot is not a date or an address yet.
    ``list_id`` is the list's (name, id) for the ``List-Id`` header.
    """
    unsubscribe = slots.list_unsubscribe
    if list_unsubscribe_mailto:
        unsubscribe += f", <mailto:{checked_url(list_unsubscribe_mailto)}>"
    lines = [
        _header("From", sender),
        f"To: {slots.to}\r\n",
        _header("Subject", clean_header_text(subject)),
        f"Date: {slots.date}\r\n",
        f"Message-ID: {slots.message_id}\r\n",
        "MIME-Version: 1.0\r\n",
        f"List-Unsubscribe: {unsubscribe}\r\n",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
    ]
    if list_id is not None:
        lines.append(list_id_header(*list_id))
    lines += [_header(key, clean_header_text(value)) for key, value in headers.items()]

    body = MIMEPart(policy=SMTP_POLICY)
    body.make_alternative()
    html_lines = _LINE_BREAKS.sub(" ", html_body)  # see _LINE_BREAKS
    for content, subtype in ((text, "plain"), (html_lines, "html")):
        part = MIMEPart(policy=SMTP_POLICY)
        part.set_content(wrap_long_lines(content), subtype=subtype, charset="utf-8", cte="8bit")
        body.attach(part)
    data = "".join(lines).encode("ascii") + body.as_bytes(policy=SMTP_POLICY)
    return split_template(data, slots)


def _header(name: str, value: str) -> str:
    """One header line, RFC 2047-encoded where it is not ASCII and folded, ending in CRLF."""
    return SMTP_POLICY.header_factory(name, value).fold(policy=SMTP_POLICY)


def split_template(data: bytes, slots: Slots) -> MessageTemplate:
    """Cut serialised bytes at this template's slots (and only this template's)."""
    segments: list[bytes] = []
    names: list[str] = []
    position = 0
    for match in _SLOT.finditer(data):
        if match.group(1).decode() != slots.nonce:
            continue
        segments.append(data[position : match.start()])
        names.append(match.group(2).decode())
        position = match.end()
    segments.append(data[position:])
    unknown = set(names) - set(HEADER_SLOTS + BODY_SLOTS)
    if unknown:
        raise ValueError(f"unknown slots in template: {sorted(unknown)}")
    return MessageTemplate(segments=tuple(segments), slots=tuple(names))


def downgrade_to_7bit(data: bytes) -> bytes:
    """Re-encode a filled 8bit message as quoted-printable, for a server without 8BITMIME."""
    message = message_from_bytes(data, policy=SMTP_POLICY)
    for part in message.walk():
        if part.get_content_maintype() == "text":
            content = part.get_content()
            subtype = part.get_content_subtype()
            del part["Content-Transfer-Encoding"]
            part.set_content(content, subtype=subtype, charset="utf-8", cte="quoted-printable")
    return message.as_bytes(policy=SMTP_POLICY)


def message_id_for(edition_key: str, recipient_key: str | int, domain: str) -> str:
    """A Message-ID unique per copy, on our domain, that names the edition for bounce tracing."""
    edition = re.sub(r"[^A-Za-z0-9.-]+", ".", edition_key).strip(".")
    return f"{edition}.{recipient_key}.{secrets.token_hex(6)}@{domain}"


def sender_domain(sender: str) -> str:
    """The domain of the From address: Message-IDs are minted on it."""
    return parseaddr(sender)[1].rpartition("@")[2].lower()
