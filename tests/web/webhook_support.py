"""What the bounce webhook tests need: an edition sent to residents, the app served with every
provider's secret, and each provider's way of signing (SNS's certificate signature served
from a local "Amazon", Mailgun's HMAC, SendGrid's ECDSA, Postmark's Basic auth)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from tests.tls_support import Issued, issue, make_ca

TOPIC = "arn:aws:sns:eu-central-1:123456789012:publisher-bounces"
POSTMARK_USER = "postmark"
POSTMARK_PASSWORD = "postmark-webhook-geslo-2026"
MAILGUN_KEY = "key-mailgun-webhook-signing-key-test"


@dataclass
class FakeAmazon:
    """A local web server in Amazon's place: it serves the signing certificate and records
    the subscription confirmations it is asked for."""

    url: str
    certificate: Issued
    requests: list[str] = field(default_factory=list)

    @property
    def cert_url(self) -> str:
        return f"{self.url}/SimpleNotificationService-0000000000000000000000.pem"


@contextmanager
def fake_amazon() -> Iterator[FakeAmazon]:
    ca = make_ca("Test Amazon CA")
    certificate = issue(ca, "sns.eu-central-1.amazonaws.com")
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            if self.path.endswith(".pem"):
                body, status = certificate.cert_pem, 200
            elif self.path.startswith("/confirm"):
                body, status = b"<ConfirmSubscriptionResponse/>", 200
            else:
                body, status = b"", 404
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeAmazon(f"http://127.0.0.1:{server.server_address[1]}", certificate, seen)
    finally:
        server.shutdown()
        server.server_close()


def sns_signed(message: dict[str, Any], amazon: FakeAmazon, version: str = "1") -> dict[str, Any]:
    """``message`` signed as SNS signs it: the documented fields, each as a name line and a
    value line, in this order, RSA over SHA-1 (version 1) or SHA-256 (version 2)."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    text = "".join(f"{name}\n{message[name]}\n" for name in names if name in message)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = amazon.certificate.key.sign(text.encode(), padding.PKCS1v15(), algorithm)
    return message | {
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode(),
        "SigningCertURL": message.get("SigningCertURL", amazon.cert_url),
    }


def sns_notification(ses: dict[str, Any], **fields: str) -> dict[str, Any]:
    """An SNS Notification carrying an SES notification (as in SNS's documented example)."""
    return {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": json.dumps(ses),
        "Timestamp": "2012-05-02T00:54:06.655Z",
        "UnsubscribeURL": "https://sns.eu-central-1.amazonaws.com/?Action=Unsubscribe",
        **fields,
    }


def ses_bounce(
    source: str,
    recipient: str,
    *,
    bounce_type: str = "Permanent",
    subtype: str = "General",
    status: str = "5.1.1",
) -> dict[str, Any]:
    """SES's documented bounce notification, for our copy (``source``: its envelope sender)."""
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": [
                {
                    "emailAddress": recipient,
                    "action": "failed",
                    "status": status,
                    "diagnosticCode": f"smtp; 550 {status} user unknown",
                }
            ],
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": f"00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-{recipient}",
            "remoteMtaIp": "127.0.2.0",
            "reportingMTA": "dsn; a27-23.smtp-out.us-west-2.amazonses.com",
        },
        "mail": {
            "timestamp": "2016-01-27T14:59:38.237Z",
            "source": source,
            "sourceArn": "arn:aws:ses:us-west-2:888888888888:identity/example.com",
            "sourceIp": "127.0.3.0",
            "sendingAccountId": "123456789012",
            "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
            "destination": [recipient],
        },
    }


def ses_complaint(source: str, recipient: str) -> dict[str, Any]:
    return {
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "AnyCompany Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": recipient}],
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2016-01-27T14:59:38.237Z",
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": f"000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-{recipient}",
        },
        "mail": {
            "timestamp": "2016-01-27T14:59:38.237Z",
            "messageId": "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
            "source": source,
            "destination": [recipient],
        },
    }


def postmark_auth(user: str = POSTMARK_USER, password: str = POSTMARK_PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def postmark_bounce(email: str, kind: str = "HardBounce", record: str = "Bounce") -> bytes:
    """Postmark's documented bounce webhook body."""
    return json.dumps(
        {
            "RecordType": record,
            "MessageStream": "outbound",
            "ID": 4323372036854775807 if kind == "HardBounce" else 42,
            "Type": kind,
            "TypeCode": 1 if kind == "HardBounce" else 512,
            "Name": "Hard bounce" if kind == "HardBounce" else "Spam complaint",
            "Tag": "Test",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Metadata": {"a_key": "a_value", "b_key": "b_value"},
            "ServerID": 23,
            "Description": (
                "The server was unable to deliver your message (ex: unknown user, mailbox "
                "not found)."
            ),
            "Details": "Test bounce details",
            "Email": email,
            "From": "sender@example.com",
            "BouncedAt": "2019-11-05T16:33:54.9070259Z",
            "DumpAvailable": True,
            "Inactive": True,
            "CanActivate": True,
            "Subject": "Test subject",
            "Content": "Return-Path:....",
        }
    ).encode()


def mailgun_body(
    recipient: str,
    *,
    stamp: str,
    event: str = "failed",
    severity: str = "permanent",
    sender: str = "bob@sandbox.mailgun.org",
    key: str = MAILGUN_KEY,
    token: str = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
) -> bytes:
    """Mailgun's documented "failed" webhook, signed: HMAC-SHA256 of timestamp + token."""
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": stamp, "token": token, "signature": signature},
            "event-data": {
                "event": event,
                "id": f"G9Bn5sl1TC6nu79C8C0bwg-{event}-{recipient}",
                "timestamp": float(stamp),
                "log-level": "error",
                "severity": severity,
                "reason": "suppress-bounce",
                "envelope": {"sender": sender, "transport": "smtp", "targets": recipient},
                "recipient": recipient,
                "recipient-domain": recipient.rpartition("@")[2],
                "message": {
                    "headers": {
                        "to": f"Alice <{recipient}>",
                        "message-id": "20130503182626.18666.16540@sandbox.mailgun.org",
                        "from": "Bob <bob@sandbox.mailgun.org>",
                        "subject": "Test permanent_fail webhook",
                    },
                    "attachments": [],
                    "size": 111,
                },
                "delivery-status": {
                    "attempt-no": 1,
                    "message": "",
                    "code": 605,
                    "enhanced-code": "",
                    "description": "Not delivering to previously bounced address",
                    "session-seconds": 0.0,
                },
                "flags": {"is-routed": False, "is-authenticated": True, "is-test-mode": False},
                "tags": ["my_tag_1", "my_tag_2"],
                "campaigns": [],
                "user-variables": {"my_var_1": "Mailgun Variable #1"},
            },
        }
    ).encode()


@dataclass
class SendGridKey:
    private: ec.EllipticCurvePrivateKey

    @classmethod
    def new(cls) -> SendGridKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @property
    def public(self) -> str:
        """As SendGrid shows it: base64 of the DER public key."""
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def headers(self, body: bytes, stamp: str) -> dict[str, str]:
        signature = self.private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "Content-Type": "application/json",
        }


def sendgrid_events(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events).encode()


def sendgrid_event(event: str, email: str, **fields: Any) -> dict[str, Any]:
    """One event as SendGrid's documented examples have it."""
    return {
        "email": email,
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": event,
        "category": "cat facts",
        "sg_event_id": f"6g4ZI7SA-xmRDv57GoPIPw-{event}-{email}",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        **fields,
    }
