"""A confirmation mail stays within SMTP's 998-octet lines once its links are filled in, even
on a long site address (a relay answers a longer line with 500 and the resident gets nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from publisher.config import load_settings
from publisher.links import SubscriberLinks
from publisher.mail.compose import Branding
from publisher.mail.confirmation import ConfirmationLinks, confirmation_message
from publisher.subscribers.models import new_token_uid


@pytest.mark.parametrize(
    "base_url", ["http://localhost:8000", "https://obvestila.mestna-obcina-novo-mesto.example.org"]
)
def test_every_line_of_a_confirmation_mail_fits_smtp(base_url: str) -> None:
    settings = load_settings(base_url=base_url)
    links = SubscriberLinks(settings)
    uid = new_token_uid()
    confirm_url = links.confirm(uid, 1)  # once: the token carries the second it was made
    data = confirmation_message(
        Branding.from_settings(settings),
        language="sl",
        list_names=["Tedenske novice", "Zapore cest"],
        days=7,
        email="ana.novak@example.org",
        subscriber_id=1,
        links=ConfirmationLinks(confirm_url=confirm_url, unsubscribe_url=links.unsubscribe(uid, 1)),
        now=datetime(2025, 3, 20, tzinfo=UTC),
    )
    assert confirm_url.encode() in data
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
