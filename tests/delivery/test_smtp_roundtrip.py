"""The filled bytes go over real SMTP to a real aiosmtpd server and arrive intact."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from publisher.config import load_settings
from publisher.delivery.outbox import Outbox
from publisher.delivery.smtp import Outcome, Verdict
from publisher.mail.compose import Branding, Digest, compose_digest
from publisher.mail.message import Recipient


class Keep:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_filled_message_is_accepted_and_arrives_byte_for_byte(
    digest: Digest, branding: Branding
) -> None:
    handler = Keep()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        recipient = Recipient(
            email="ana@example.org",
            name="Ana Žagar",
            unsubscribe_url="https://novice.example.org/unsubscribe/abc",
            preferences_url="https://novice.example.org/preferences/abc",
            message_id="tedenske-novice.2025-W10.1.abc@novomesto.example.org",
        )
        data = compose_digest(digest, "sl", branding).template.fill(
            recipient, now=datetime(2025, 3, 10, tzinfo=UTC)
        )

        settings = load_settings(
            smtp_host="127.0.0.1", smtp_port=controller.port, from_address=branding.sender
        )

        async def send() -> Outcome:
            async with Outbox(settings) as outbox:
                return await outbox.send("ana@example.org", data)

        outcome = asyncio.run(send())
        assert outcome.verdict is Verdict.sent
    finally:
        controller.stop()
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["ana@example.org"]
    received = message_from_bytes(envelope.original_content, policy=policy.default)
    assert received["Subject"] == "Tedenske novice, 3.–9. marec 2025"
    text = received.get_body(("plain",)).get_content()
    assert "Pozdravljeni, Ana Žagar!" in text
