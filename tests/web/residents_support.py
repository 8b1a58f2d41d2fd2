"""A town with newsletters, a real SMTP server, and helpers to act as a resident would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from publisher.config import Settings
from publisher.db import session_scope
from publisher.subscribers.lists import create_list
from publisher.subscribers.models import Subscriber
from publisher.topics import Topic
from publisher.web.app import create_app
from tests.delivery.sending_support import SmtpServer
from tests.feeds.helpers import make_settings

SECRET = "test-secret-for-residents-pages"
WEEKLY = "tedenske-novice"
ROADS = "zapore-cest"
INTERNAL = "interno"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CONFIRM = re.compile(r"https?://\S+?(/confirm/[A-Za-z0-9._-]+)")


def stock_town(engine: Engine) -> None:
    """Two public lists (one with topics), one internal list nobody may pick on the form."""
    with session_scope(engine) as session:
        session.add(Topic(slug="promet", name="Promet"))
        session.add(Topic(slug="kultura", name="Kultura"))
        session.add(Topic(slug="sport", name="Šport"))
        session.flush()
        create_list(
            session,
            WEEKLY,
            "Tedenske novice",
            description="Vsak petek povzetek tedna.",
            topics=["promet", "kultura", "sport"],
        )
        create_list(session, ROADS, "Zapore cest", topics=["promet"])
        create_list(session, INTERNAL, "Interno obvestilo", public=False)


def residents_settings(database_url: str, smtp_port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "base_url": "http://testserver",
        "secret_key": SECRET,
        "smtp_port": smtp_port,
        "subscribe_limit_ip": "1000/hour",
        "subscribe_limit_address": "1000/hour",
    }
    values.update(overrides)
    return make_settings(database_url, **values)


def token_uid(engine: Engine, subscriber_id: int) -> str:
    """The random reference a subscriber's links carry (``Subscriber.token_uid``)."""
    with session_scope(engine) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        assert subscriber is not None
        return subscriber.token_uid


def csrf_from(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "the page has no CSRF field"
    return match.group(1)


def subscribe_form(
    client: httpx.Client, email: str, *, lists: tuple[str, ...] = (WEEKLY,), **fields: Any
) -> httpx.Response:
    """Open the form, then send it as a browser would (cookie and hidden field included)."""
    page = client.get("/subscribe")
    assert page.status_code == 200
    data: dict[str, Any] = {
        "csrf_token": csrf_from(page.text),
        "email": email,
        "lists": list(lists),
        "language": "sl",
    }
    data.update(fields)
    return client.post("/subscribe", data=data)


def parse_mail(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def confirm_path(message: EmailMessage) -> str:
    match = _CONFIRM.search(text_of(message))
    assert match, "no confirmation link in the mail"
    return match.group(1)


@dataclass
class Town:
    """The app, its database and the SMTP server its confirmation mails go to."""

    app: FastAPI
    engine: Engine
    settings: Settings
    smtp: SmtpServer

    def mails_to(self, address: str) -> list[EmailMessage]:
        with self.smtp.handler.lock:
            return [
                parse_mail(raw) for rcpt, raw, _ in self.smtp.handler.received if rcpt == address
            ]

    def wait_for_mails(self, address: str, count: int = 1) -> list[EmailMessage]:
        self.smtp.handler.wait_for(lambda: len(self.mails_to(address)) >= count, timeout=10)
        return self.mails_to(address)


@contextmanager
def live_town(
    engine: Engine, database_url: str, *, smtputf8: bool = True, **overrides: Any
) -> Iterator[tuple[str, Town]]:
    """The real app under uvicorn on 127.0.0.1 (its base URL the one it is served at), with
    a real SMTP server catching its mail (announcing SMTPUTF8 when ``smtputf8``)."""
    from tests.web.conftest import serve

    stock_town(engine)
    with SmtpServer(smtputf8=smtputf8) as smtp:
        towns: list[Town] = []

        def make_app(url: str) -> FastAPI:
            settings = residents_settings(database_url, smtp.port, base_url=url, **overrides)
            towns.append(Town(create_app(settings, engine), engine, settings, smtp))
            return towns[0].app

        with serve(make_app) as (url, _app):
            yield url, towns[0]


@contextmanager
def town_with_browser(
    engine: Engine, database_url: str, **options: Any
) -> Iterator[tuple[httpx.Client, Town]]:
    """:func:`live_town` (``options`` as there) and an HTTP client at its address that keeps
    cookies between requests, as a resident's browser does."""
    with (
        live_town(engine, database_url, **options) as (url, town),
        httpx.Client(base_url=url, timeout=10) as browser,
    ):
        yield browser, town
