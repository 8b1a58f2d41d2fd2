"""Reading what came back: a DSN, a feedback report, an auto-reply, or something else.

Pure functions over message bytes; nothing here touches the database. Delivery status
notifications (RFC 3464) and abuse feedback reports (RFC 5965) are read field by field with
the standard library's ``email`` package; the bounces real servers still send in other shapes
are left to ``flufl.bounce`` (Mailman's detectors), never to patterns of our own.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, message_from_string
from email import policy as email_policy
from email.message import Message
from email.utils import getaddresses

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
"""An RFC 3463 enhanced status code, e.g. 5.1.1."""
_MESSAGE_ID = re.compile(r"^Message-ID:\s*<([^<>\s]{1,250})>", re.IGNORECASE | re.MULTILINE)
_ADDRESS_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
"""Where a bounce names the address it was sent to, when the envelope is not at hand."""
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})
"""RFC 5965 feedback types that are a resident's complaint (not ``auth-failure``, a DMARC
report, nor ``not-spam``)."""
SEVERITY = {"failed": 3, "delayed": 2}


class Shape(enum.StrEnum):
    """What a message turned out to be."""

    dsn = "dsn"
    """An RFC 3464 delivery status notification."""
    feedback = "feedback"
    """An RFC 5965 abuse feedback report (a complaint)."""
    detected = "detected"
    """A bounce in another shape, recognised by flufl.bounce."""
    auto_reply = "auto_reply"
    """An out-of-office or other automatic answer (RFC 3834): not a bounce."""
    other = "other"
    """Not a bounce at all (a person's reply, a newsletter, spam)."""


@dataclass(frozen=True)
class Reading:
    """What one message says, before anyone looks it up."""

    shape: Shape
    action: str = ""
    """``failed``, ``delayed``, ``delivered`` …; ``complaint`` for a feedback report."""
    status: str = ""
    diagnostic: str = ""
    final_recipient: str = ""
    addresses: tuple[str, ...] = ()
    """Addresses the report may have been sent to: VERP candidates, best first."""
    message_ids: tuple[str, ...] = ()
    """Message-IDs of the original message it quotes, without angle brackets."""
    fingerprint: str = ""
    detail: str = ""
    """Why it was read as it was, in words (a feedback type, what flufl.bounce found)."""
    recipients: tuple[str, ...] = field(default=())
    """Every recipient the report names (Final-Recipient, or what flufl.bounce found)."""


def parse_message(raw: bytes, envelope_recipients: Sequence[str] = ()) -> Reading:
    """Read one message as it came in; never raises for odd or broken input."""
    message = message_from_bytes(raw, policy=email_policy.compat32)
    addresses = [*envelope_recipients, *_header_addresses(message)]
    fingerprint = _fingerprint(message, raw)
    report_type = (message.get_param("report-type") or "") if _is_report(message) else ""
    if isinstance(report_type, tuple):  # an RFC 2231 value
        report_type = str(report_type[2])
    report_type = str(report_type).lower()
    if report_type == "delivery-status":
        reading = _read_dsn(message)
    elif report_type == "feedback-report":
        reading = _read_feedback(message)
    else:
        reading = None
    if reading is None:
        reading = _read_other(message)
    return Reading(
        shape=reading.shape,
        action=reading.action,
        status=reading.status,
        diagnostic=reading.diagnostic,
        final_recipient=reading.final_recipient,
        addresses=tuple(dict.fromkeys(a for a in [*addresses, *reading.addresses] if a)),
        message_ids=tuple(dict.fromkeys(_original_message_ids(message))),
        fingerprint=fingerprint,
        detail=reading.detail,
        recipients=reading.recipients,
    )


def _is_report(message: Message) -> bool:
    return message.get_content_type() == "multipart/report"


def _read_dsn(message: Message) -> Reading | None:
    """The per-recipient fields of a DSN; the most severe block when there are several."""
    blocks = _status_blocks(message)
    if not blocks:
        return None
    per_message, recipients = blocks[0], blocks[1:] or blocks[:1]
    chosen = max(recipients, key=lambda b: SEVERITY.get(_field(b, "Action").lower(), 0))
    action = _field(chosen, "Action").lower()
    diagnostic = _field(chosen, "Diagnostic-Code")
    status = enhanced_status(_field(chosen, "Status")) or enhanced_status(diagnostic)
    final = _typed_address(_field(chosen, "Final-Recipient"))
    envelope_id = _field(per_message, "Original-Envelope-Id")
    return Reading(
        shape=Shape.dsn,
        action=action,
        status=status,
        diagnostic=_diagnostic_text(diagnostic),
        final_recipient=final,
        addresses=(envelope_id,) if envelope_id else (),
        detail=f"delivery status notification: {action or 'no action'} {status}".strip(),
        recipients=tuple(
            r for r in (_typed_address(_field(b, "Final-Recipient")) for b in recipients) if r
        ),
    )


def _status_blocks(message: Message) -> list[Message]:
    for part in message.walk():
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            payload = part.get_payload()
            if isinstance(payload, list):
                return [block for block in payload if isinstance(block, Message)]
            if isinstance(payload, str):  # not split into blocks by the parser
                return [message_from_string(b) for b in re.split(r"\r?\n\r?\n", payload) if b]
    return []


def _read_feedback(message: Message) -> Reading | None:
    fields = _feedback_fields(message)
    if fields is None:
        return None
    feedback_type = _field(fields, "Feedback-Type").lower() or "abuse"
    original_from = _typed_address(_field(fields, "Original-Mail-From"))
    rcpt = _typed_address(_field(fields, "Original-Rcpt-To"))
    if feedback_type not in COMPLAINT_TYPES:
        return Reading(shape=Shape.other, detail=f"a feedback report of type {feedback_type}")
    return Reading(
        shape=Shape.feedback,
        action="complaint",
        diagnostic=f"Feedback-Type: {feedback_type}; User-Agent: {_field(fields, 'User-Agent')}",
        final_recipient=rcpt,
        addresses=(original_from,) if original_from else (),
        detail=f"feedback report ({feedback_type})",
        recipients=(rcpt,) if rcpt else (),
    )


def _feedback_fields(message: Message) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            if isinstance(payload, str):
                return message_from_string(payload.lstrip())
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                return message_from_string(raw.decode("utf-8", "replace").lstrip())
    return None


def _read_other(message: Message) -> Reading:
    """Non-standard bounces (flufl.bounce), auto-replies, and everything else."""
    if _strong_auto_reply(message):
        return Reading(shape=Shape.auto_reply, detail=_auto_reply_reason(message))
    from flufl.bounce import all_failures  # here: the web app imports this module, rarely this

    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector that trips over a broken message has found nothing
        temporary, permanent = frozenset(), frozenset()
    if permanent or temporary:
        found = sorted(_text(a) for a in (permanent or temporary))
        status = enhanced_status(_body_text(message))
        return Reading(
            shape=Shape.detected,
            action="failed" if permanent else "delayed",
            status=status,
            diagnostic=_diagnostic_text(_body_text(message))[:1000],
            final_recipient=found[0],
            detail=f"a non-standard bounce ({'permanent' if permanent else 'temporary'})",
            recipients=tuple(found),
        )
    if _auto_submitted(message):
        return Reading(shape=Shape.auto_reply, detail=_auto_reply_reason(message))
    return Reading(shape=Shape.other, detail="neither a delivery report nor a bounce")


def _strong_auto_reply(message: Message) -> bool:
    """Headers only auto-responders set (never a mail server's bounce)."""
    precedence = str(message.get("Precedence", "")).strip().lower()
    return bool(
        message.get("X-Autoreply") or message.get("X-Autorespond") or precedence == "auto_reply"
    )


def _auto_submitted(message: Message) -> bool:
    """RFC 3834: anything but ``Auto-Submitted: no`` was sent by a program, not a person."""
    value = str(message.get("Auto-Submitted", "")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (bool(value) and not value.startswith("no")) or precedence in ("bulk", "junk")


def _auto_reply_reason(message: Message) -> str:
    for header in ("Auto-Submitted", "X-Autoreply", "X-Autorespond", "Precedence"):
        if message.get(header):
            return f"an automatic reply ({header}: {_text(message.get(header, ''))[:60]})"
    return "an automatic reply"


def _original_message_ids(message: Message) -> Iterator[str]:
    """The Message-IDs of the quoted original: returned headers first, then quoted text."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message) and inner.get("Message-ID"):
                yield _text(inner["Message-ID"]).strip().strip("<>")
        elif content_type in ("text/rfc822-headers", "message/global-headers"):
            headers = message_from_string(_part_text(part).lstrip())
            if headers.get("Message-ID"):
                yield _text(headers["Message-ID"]).strip().strip("<>")
    yield from _MESSAGE_ID.findall(_body_text(message))


def _header_addresses(message: Message) -> list[str]:
    found: list[str] = []
    for header in _ADDRESS_HEADERS:
        values = [_text(v) for v in message.get_all(header, [])]
        found += [address for _, address in getaddresses(values) if "@" in address]
    # A feedback report's quoted original carries our envelope sender as its Return-Path.
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if not isinstance(inner, Message):
                inner = message_from_string(_part_text(part).lstrip())
            return_path = _text(inner.get("Return-Path", "")).strip().strip("<>")
            if "@" in return_path:
                found.append(return_path)
    return found


def _fingerprint(message: Message, raw: bytes) -> str:
    """The same report however often it arrives: its own Message-ID, else its body (headers
    added on the way, such as Received, do not change it)."""
    own_id = _text(message.get("Message-ID", "")).strip()
    if own_id:
        basis = b"id:" + own_id.encode("utf-8", "replace")
    else:
        _, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        basis = b"body:" + body
    return hashlib.sha256(basis).hexdigest()


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return " ".join(_text(value).split()) if value is not None else ""


def _typed_address(value: str) -> str:
    """``rfc822; ana@example.org`` → ``ana@example.org``."""
    address = value.partition(";")[2] if ";" in value else value
    return address.strip().strip("<>")


def enhanced_status(text: str) -> str:
    """The first RFC 3463 code in ``text`` (``550 5.1.1 no such user`` → ``5.1.1``), or ``""``."""
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else ""


def _diagnostic_text(value: str) -> str:
    """``smtp; 550 5.1.1 …`` → ``550 5.1.1 …``, control characters as spaces."""
    kind, sep, rest = value.partition(";")
    text = rest if sep and kind.strip().isalpha() and len(kind.strip()) < 16 else value
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, "replace")
        except LookupError:
            return payload.decode("utf-8", "replace")
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _body_text(message: Message) -> str:
    """The text parts of the message, for a status code or a quoted Message-ID."""
    texts = [
        _part_text(part)
        for part in message.walk()
        if part.get_content_maintype() == "text" and not part.is_multipart()
    ]
    return "\n".join(texts)[:200_000]
