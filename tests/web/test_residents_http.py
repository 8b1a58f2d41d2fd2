"""The whole resident's path over real HTTP: uvicorn on 127.0.0.1, a real aiosmtpd server, the
link in the delivered mail followed, and one-click unsubscribe posted the way a mail client
posts it (RFC 8058: no cookie, no page)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.subscribers.models import Consent
from publisher.subscribers.subscriptions import find_subscriber
from tests.web.residents_support import (
    WEEKLY,
    Town,
    confirm_path,
    live_town,
    subscribe_form,
)


@pytest.fixture
def town_online(engine: Engine, database_url: str) -> Iterator[tuple[str, Town]]:
    with live_town(engine, database_url) as online:
        yield online


def test_subscribe_confirm_and_one_click_unsubscribe_over_http(
    town_online: tuple[str, Town],
) -> None:
    url, town = town_online
    with httpx.Client(base_url=url, timeout=10) as browser:
        answer = subscribe_form(browser, "Jure@Example.org", name="Jure Kos")
        assert answer.status_code == 200 and "Preverite e-pošto" in answer.text
        [mail] = town.wait_for_mails("Jure@example.org")
        assert url in mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        confirmed = browser.get(confirm_path(mail))
        assert confirmed.status_code == 200 and "Prijava potrjena" in confirmed.text
        preferences = re.search(r'href="(http[^"]+/preferences/[^"]+)"', confirmed.text)
        assert preferences is not None
        assert browser.get(preferences.group(1)).status_code == 200

    with Session(town.engine) as session:
        subscriber = find_subscriber(session, "jure@example.org")
        assert subscriber is not None
        consents = session.exec(select(Consent).where(Consent.subscriber_id == subscriber.id)).all()
    assert {c.ip_address for c in consents} == {"127.0.0.1"}
    assert len(consents) == 2  # given on the form, confirmed by the link

    # The mail client: the List-Unsubscribe URL, a bare POST, no cookies.
    unsubscribe_url = mail["List-Unsubscribe"].strip("<>")
    assert unsubscribe_url.startswith(f"{url}/unsubscribe/")
    response = httpx.post(
        unsubscribe_url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    with httpx.Client(base_url=url) as browser:
        page = browser.get(confirm_path(mail))
        assert page.status_code == 400  # left since: the old link no longer confirms
        assert WEEKLY not in page.text
