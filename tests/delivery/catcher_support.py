"""What the catcher's tests share: free ports, a running catcher, its page over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from zoneinfo import ZoneInfo

import aiosmtplib
from fastapi import FastAPI

from tests.web.conftest import serve

LJUBLJANA = ZoneInfo("Europe/Ljubljana")


def free_port() -> int:
    """A port that was free a moment ago (aiosmtpd's Controller cannot be given port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def utf8_message(subject: str, to: str = "ana@example.org", html: str | None = None) -> bytes:
    """A digest-like message in 8-bit UTF-8 (no base64, no quoted-printable), CRLF lines."""
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = "Mestna občina Novo mesto <novice@novomesto.example.org>"
    message["To"] = f"Ana Žagar <{to}>"
    message["Subject"] = subject
    message["Date"] = "Mon, 10 Mar 2025 08:00:00 +0100"
    message.set_content("Pozdravljeni, Ana Žagar!\nčšž ČŠŽ – obnova ceste v Šmihelu.\n", cte="8bit")
    if html is not None:
        message.add_alternative(html, subtype="html", cte="8bit")
    return message.as_bytes()


def send(
    port: int, messages: Sequence[tuple[str, Sequence[str], bytes]], connections: int = 1
) -> None:
    """Send ``(from, [to...], bytes)`` over real SMTP, spread over ``connections`` sessions."""

    async def one_session(share: Sequence[tuple[str, Sequence[str], bytes]]) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10) as smtp:
            for sender, recipients, data in share:
                await smtp.sendmail(sender, list(recipients), data)

    async def all_sessions() -> None:
        shares = [messages[n::connections] for n in range(connections)]
        await asyncio.gather(*(one_session(share) for share in shares if share))

    asyncio.run(all_sessions())


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn in a thread on 127.0.0.1; yields its base URL."""
    with serve(lambda _url: app) as (url, _app):
        yield url
