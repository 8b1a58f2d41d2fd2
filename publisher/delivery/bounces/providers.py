"""Bounces and complaints as sending providers post them (Amazon SES through SNS, Postmark,
Mailgun, SendGrid): each authenticated its own way, read into events for the one handler.

A provider is off until its secret is set (``bounce_ses_topic_arns``,
``bounce_postmark_credentials``, ``bounce_mailgun_signing_key``,
``bounce_sendgrid_public_key``). What can be checked from the headers alone is checked
before the body is read (:func:`check_headers`: Postmark's Basic auth, SES's topic, the
presence and age of SendGrid's signature); the rest once the size-limited body is in
(:func:`read_events`: SNS's certificate signature, Mailgun's HMAC, SendGrid's ECDSA). Nothing
unauthenticated reaches :func:`~publisher.delivery.bounces.handle_event`.

How each provider's words map to a bounce kind is this module's; what a kind does to an
address is the handler's policy, the same for every way a bounce arrives.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from publisher.clock import timestamp
from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.bounces import sns
from publisher.delivery.bounces.handler import handle_event
from publisher.delivery.bounces.policy import Handled
from publisher.delivery.models import BounceKind
from publisher.delivery.outbox import delivery_of_address
from publisher.tokens import Tokens

PROVIDERS = ("ses", "postmark", "mailgun", "sendgrid")
MAX_AGE = 15 * 60
"""Seconds a signed timestamp (Mailgun, SendGrid) may be off our clock: older is a replay."""
SENDGRID_SIGNATURE = "x-twilio-email-event-webhook-signature"
SENDGRID_TIMESTAMP = "x-twilio-email-event-webhook-timestamp"
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


class WebhookRefused(Exception):
    """Not authenticated: 401, and nothing changes."""


class WebhookInvalid(Exception):
    """Authenticated, but not a body this provider sends: 400."""


class WebhookUnavailable(Exception):
    """Something it needs could not be reached just now (SNS's certificate): 503, so the
    provider tries again later."""


@dataclass(frozen=True)
class ProviderEvent:
    """One bounce, complaint or other event, as :func:`handle_event` takes it."""

    kind: BounceKind | None
    address: str | None = None
    verp: str | None = None
    """The envelope sender of the copy, as the provider reports it (a VERP address of ours
    names the copy exactly)."""
    message_id: str | None = None
    action: str = ""
    status: str = ""
    diagnostic: str = ""
    event_id: str | None = None
    raw: bytes = b""


@dataclass
class WebhookResult:
    """What one post did: each event's handling, and whether a subscription was confirmed."""

    handled: list[Handled] = field(default_factory=list)
    confirmed: bool = False


def enabled(settings: Settings, provider: str) -> bool:
    """True when ``provider``'s webhook is on (its secret is configured)."""
    return {
        "ses": bool(settings.bounce_ses_topic_arns),
        "postmark": settings.bounce_postmark_credentials is not None,
        "mailgun": settings.bounce_mailgun_signing_key is not None,
        "sendgrid": bool(settings.bounce_sendgrid_public_key),
    }.get(provider, False)


def check_headers(settings: Settings, provider: str, headers: Mapping[str, str]) -> None:
    """What the headers alone decide, before a byte of the body is read."""
    if provider == "postmark":
        _check_basic_auth(settings, headers.get("authorization", ""))
    elif provider == "ses":
        topic = headers.get("x-amz-sns-topic-arn", "")
        if topic not in settings.bounce_ses_topic_arns:
            raise WebhookRefused("not a topic of ours (x-amz-sns-topic-arn)")
    elif provider == "sendgrid":
        if not headers.get(SENDGRID_SIGNATURE):
            raise WebhookRefused("no signature")
        _check_age(headers.get(SENDGRID_TIMESTAMP, ""))


def process_webhook(
    engine: Engine,
    settings: Settings,
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    certificates: sns.Certificates,
) -> WebhookResult:
    """Authenticate one post, then hand each of its events to the handler (a transaction
    each). :class:`WebhookRefused` and :class:`WebhookInvalid` are raised before anything
    changes; :class:`WebhookUnavailable` when the database fails midway (the provider posts
    again, and the events already recorded count once, by their ids)."""
    check_headers(settings, provider, headers)
    result = WebhookResult()
    if provider == "ses":
        message = _sns_message(settings, certificates, _signed_json(body))
        if message.get("Type") == "SubscriptionConfirmation":
            try:
                sns.confirm_subscription(settings, message)
            except sns.SnsRefused as exc:
                raise WebhookRefused(str(exc)) from None
            except sns.SnsUnavailable as exc:
                raise WebhookUnavailable(str(exc)) from None
            result.confirmed = True
            return result
        if message.get("Type") != "Notification":
            return result  # an unsubscribe confirmation: nothing to do
        events = list(_ses_events(message, body))
    elif provider == "postmark":
        events = list(_postmark_events(_json(body), body))
    elif provider == "mailgun":
        document = _signed_json(body)
        _check_mailgun_signature(settings, document)
        events = list(_mailgun_events(document, body))
    elif provider == "sendgrid":
        _check_sendgrid_signature(settings, headers, body)
        events = list(_sendgrid_events(_json(body), body))
    else:
        raise WebhookInvalid(f"unknown provider {provider!r}")
    tokens = Tokens.from_settings(settings)
    try:
        for event in events:
            result.handled.append(_handle(engine, settings, provider, event, tokens))
    except SQLAlchemyError as exc:  # the database is away: the provider posts again later
        raise WebhookUnavailable(f"the database could not record it: {exc}") from None
    return result


def _handle(
    engine: Engine, settings: Settings, provider: str, event: ProviderEvent, tokens: Tokens
) -> Handled:
    """One event in a transaction of its own."""
    with session_scope(engine) as session:
        return handle_event(
            session,
            settings,
            source=provider,
            kind=event.kind,
            address=event.address,
            delivery_id=delivery_of_address(event.verp, tokens) if event.verp else None,
            message_id=event.message_id,
            action=event.action,
            status=event.status,
            diagnostic=event.diagnostic,
            raw=event.raw,
            event_id=event.event_id,
        )


# --- reading the bodies ----------------------------------------------------------------------


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise WebhookInvalid("the body is not JSON") from None


def _signed_json(body: bytes) -> Any:
    """A body that carries its own signature: one that cannot be read cannot be believed."""
    try:
        return _json(body)
    except WebhookInvalid:
        raise WebhookRefused("the body is not JSON, so not signed") from None


def _text(value: object, limit: int = 1000) -> str:
    """A string field, control characters as spaces, cut to ``limit``; else empty."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return ""
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", str(value)).split())[:limit]


def _address(value: object) -> str | None:
    text = _text(value, 320).strip("<>")
    return text if "@" in text else None


def _message_id(value: object) -> str | None:
    text = _text(value, 300).strip().strip("<>")
    return text or None


def _status(*texts: str) -> str:
    for text in texts:
        match = _STATUS.search(text)
        if match:
            return match[1]
    return ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


# --- Amazon SES through SNS ------------------------------------------------------------------


def _sns_message(
    settings: Settings, certificates: sns.Certificates, document: Any
) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise WebhookRefused("not an SNS message")
    try:
        sns.verify(settings, certificates, document)
    except sns.SnsRefused as exc:
        raise WebhookRefused(str(exc)) from None
    except sns.SnsUnavailable as exc:
        raise WebhookUnavailable(str(exc)) from None
    if document.get("TopicArn") not in settings.bounce_ses_topic_arns:
        raise WebhookRefused("not a topic of ours")
    return document


SES_KINDS = {
    ("Permanent", "MailboxFull"): BounceKind.soft,
    ("Permanent", "MessageTooLarge"): BounceKind.other,
    ("Permanent", "ContentRejected"): BounceKind.other,
    ("Permanent", "AttachmentRejected"): BounceKind.other,
    ("Transient", "MessageTooLarge"): BounceKind.other,
    ("Transient", "ContentRejected"): BounceKind.other,
    ("Transient", "AttachmentRejected"): BounceKind.other,
}
"""SES bounce (type, subtype) pairs that are not what their type says: a full mailbox is
soft; a message refused for its size or content says nothing about the address."""
SES_TYPES = {"Permanent": BounceKind.hard, "Transient": BounceKind.soft}


def _ses_events(message: Mapping[str, Any], raw: bytes) -> Iterator[ProviderEvent]:
    try:
        notification = json.loads(str(message.get("Message", "")))
    except (json.JSONDecodeError, RecursionError):
        raise WebhookInvalid("the SNS Message is not an SES notification") from None
    notification = _dict(notification)
    kind_name = notification.get("notificationType") or notification.get("eventType")
    mail = _dict(notification.get("mail"))
    headers = {
        _text(h.get("name")).lower(): h.get("value")
        for h in _list(mail.get("headers"))
        if isinstance(h, dict)
    }
    common = {
        "message_id": _message_id(
            headers.get("message-id") or _dict(mail.get("commonHeaders")).get("messageId")
        ),
        "raw": raw,
    }
    verp_source = mail.get("source")
    if kind_name == "Bounce":
        bounce = _dict(notification.get("bounce"))
        bounce_type, subtype = _text(bounce.get("bounceType")), _text(bounce.get("bounceSubType"))
        kind = SES_KINDS.get((bounce_type, subtype), SES_TYPES.get(bounce_type, BounceKind.other))
        for recipient in _list(bounce.get("bouncedRecipients")):
            recipient = _dict(recipient)
            diagnostic = _text(recipient.get("diagnosticCode"))
            yield ProviderEvent(
                kind=kind,
                address=_address(recipient.get("emailAddress")),
                verp=_address(verp_source),
                action=_text(recipient.get("action"), 32) or "failed",
                status=_status(_text(recipient.get("status")), diagnostic),
                diagnostic=diagnostic or f"SES {bounce_type} bounce ({subtype})",
                event_id=f"{_text(bounce.get('feedbackId'))}:{_text(recipient.get('emailAddress'))}",
                **common,  # type: ignore[arg-type]
            )
    elif kind_name == "Complaint":
        complaint = _dict(notification.get("complaint"))
        feedback_type = _text(complaint.get("complaintFeedbackType")) or "abuse"
        if feedback_type == "not-spam":
            return
        for recipient in _list(complaint.get("complainedRecipients")):
            recipient = _dict(recipient)
            yield ProviderEvent(
                kind=BounceKind.complaint,
                address=_address(recipient.get("emailAddress")),
                verp=_address(verp_source),
                diagnostic=f"SES complaint ({feedback_type})",
                event_id=f"{_text(complaint.get('feedbackId'))}:{_text(recipient.get('emailAddress'))}",
                **common,  # type: ignore[arg-type]
            )


# --- Postmark --------------------------------------------------------------------------------


def _check_basic_auth(settings: Settings, header: str) -> None:
    expected = settings.bounce_postmark_credentials
    assert expected is not None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise WebhookRefused("Basic authentication required")
    try:
        given = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRefused("Basic authentication required") from None
    if not hmac.compare_digest(given, expected.get_secret_value().encode("utf-8")):
        raise WebhookRefused("wrong user or password")


POSTMARK_TYPES = {
    "HardBounce": BounceKind.hard,
    "BadEmailAddress": BounceKind.hard,
    "SoftBounce": BounceKind.soft,
    "DnsError": BounceKind.soft,
    "Transient": BounceKind.delayed,
    "SpamComplaint": BounceKind.complaint,
    "Blocked": BounceKind.other,
    "SpamNotification": BounceKind.other,
    "VirusNotification": BounceKind.other,
    "ChallengeVerification": BounceKind.other,
}
"""Postmark's bounce ``Type``; the others (an auto-responder, a subscribe request, an
address change) are no failure."""


def _postmark_events(document: Any, raw: bytes) -> Iterator[ProviderEvent]:
    document = _dict(document)
    if document.get("RecordType") not in ("Bounce", "SpamComplaint"):
        if "RecordType" not in document:
            raise WebhookInvalid("not a Postmark bounce or spam complaint")
        return  # a delivery, an open, a click: nothing about a failure
    kind = POSTMARK_TYPES.get(_text(document.get("Type")))
    if document.get("RecordType") == "SpamComplaint":
        kind = BounceKind.complaint
    details = _text(document.get("Details"))
    yield ProviderEvent(
        kind=kind,
        address=_address(document.get("Email")),
        action="failed" if kind in (BounceKind.hard, BounceKind.soft) else "",
        status=_status(details),
        diagnostic=details or _text(document.get("Description")),
        event_id=_text(document.get("ID"), 100) or None,
        raw=raw,
    )


# --- Mailgun ---------------------------------------------------------------------------------


def _check_age(value: object) -> None:
    text = _text(value, 20)
    if not text.isdigit() or abs(timestamp() - int(text)) > MAX_AGE:
        raise WebhookRefused("the signed timestamp is missing or too old")


def _check_mailgun_signature(settings: Settings, document: Any) -> None:
    key = settings.bounce_mailgun_signing_key
    assert key is not None
    signature = _dict(_dict(document).get("signature"))
    token, stamp, given = (
        _text(signature.get(name), 200) for name in ("token", "timestamp", "signature")
    )
    if not token or not given:
        raise WebhookRefused("no signature")
    expected = hmac.new(
        key.get_secret_value().encode("utf-8"), (stamp + token).encode("utf-8"), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, given.lower()):
        raise WebhookRefused("the signature does not match")
    _check_age(stamp)


def _mailgun_events(document: Any, raw: bytes) -> Iterator[ProviderEvent]:
    data = _dict(_dict(document).get("event-data"))
    if not data:
        raise WebhookInvalid("no event-data")
    event = _text(data.get("event"))
    status_block = _dict(data.get("delivery-status"))
    description = _text(status_block.get("description")) or _text(status_block.get("message"))
    kind: BounceKind | None = None
    if event == "failed":
        kind = BounceKind.hard if data.get("severity") == "permanent" else BounceKind.soft
    elif event == "complained":
        kind = BounceKind.complaint
    yield ProviderEvent(
        kind=kind,
        address=_address(data.get("recipient")),
        verp=_address(_dict(data.get("envelope")).get("sender")),
        message_id=_message_id(_dict(_dict(data.get("message")).get("headers")).get("message-id")),
        action="failed" if event == "failed" else "",
        status=_status(_text(status_block.get("enhanced-code")), description),
        diagnostic=description or _text(data.get("reason")),
        event_id=_text(data.get("id"), 100) or None,
        raw=raw,
    )


# --- SendGrid --------------------------------------------------------------------------------


def _sendgrid_key(settings: Settings) -> ec.EllipticCurvePublicKey:
    text = (settings.bounce_sendgrid_public_key or "").strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise WebhookUnavailable(
            "bounce_sendgrid_public_key is not a public key (paste SendGrid's verification key)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise WebhookUnavailable("bounce_sendgrid_public_key is not an ECDSA key")
    return key


def _check_sendgrid_signature(settings: Settings, headers: Mapping[str, str], body: bytes) -> None:
    try:
        signature = base64.b64decode(headers.get(SENDGRID_SIGNATURE, ""), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRefused("the signature is not base64") from None
    signed = headers.get(SENDGRID_TIMESTAMP, "").encode("ascii", "replace") + body
    try:
        _sendgrid_key(settings).verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise WebhookRefused("the signature does not match") from None


SENDGRID_DROPPED = {
    "Bounced Address": BounceKind.hard,
    "Invalid": BounceKind.hard,
    "Spam Reporting Address": BounceKind.complaint,
}
"""Why SendGrid dropped a message without trying: these say something about the address."""


def _sendgrid_events(document: Any, raw: bytes) -> Iterator[ProviderEvent]:
    if not isinstance(document, list):
        raise WebhookInvalid("not a list of SendGrid events")
    for item in document[:1000]:
        item = _dict(item)
        event = _text(item.get("event"))
        reason = _text(item.get("reason"))
        kind: BounceKind | None = None
        if event == "bounce":
            kind = BounceKind.other if item.get("type") == "blocked" else BounceKind.hard
        elif event == "dropped":
            kind = SENDGRID_DROPPED.get(reason, BounceKind.other)
        elif event == "deferred":
            kind = BounceKind.delayed
        elif event == "spamreport":
            kind = BounceKind.complaint
        yield ProviderEvent(
            kind=kind,
            address=_address(item.get("email")),
            message_id=_message_id(item.get("smtp-id")),
            action="failed" if event in ("bounce", "dropped") else "",
            status=_status(_text(item.get("status")), reason),
            diagnostic=reason,
            event_id=_text(item.get("sg_event_id"), 100) or None,
            raw=json.dumps(item, ensure_ascii=False).encode("utf-8"),
        )
