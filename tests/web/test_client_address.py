"""Who the client is: a forwarded header counts only from a proxy named in
``trusted_proxies``, so nobody can dodge the rate limits or forge the address a consent
records by typing an ``X-Forwarded-For`` (not even from 127.0.0.1, which uvicorn trusts)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.subscribers.models import Consent
from publisher.subscribers.subscriptions import find_subscriber
from publisher.web.clients import decide_client, trusted_networks
from tests.web.residents_support import confirm_path, live_town, stock_town, subscribe_form
from tests.web.serve_support import publisher_serve


def _consent_addresses(engine: Engine, email: str) -> set[str | None]:
    with Session(engine) as session:
        subscriber = find_subscriber(session, email)
        assert subscriber is not None
        consents = session.exec(select(Consent).where(Consent.subscriber_id == subscriber.id)).all()
    return {consent.ip_address for consent in consents}


def _subscribe_and_confirm(url: str, town_mails, email: str, forwarded: str) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=url, timeout=10, headers={"X-Forwarded-For": forwarded}) as browser:
        assert subscribe_form(browser, email).status_code == 200
        [mail] = town_mails(email)
        assert browser.get(confirm_path(mail)).status_code == 200


def test_a_forged_forwarded_for_is_not_what_the_consent_records(
    engine: Engine, database_url: str
) -> None:
    with live_town(engine, database_url) as (url, town):
        _subscribe_and_confirm(url, town.wait_for_mails, "ana@example.org", "203.0.113.7")
    assert _consent_addresses(engine, "ana@example.org") == {"127.0.0.1"}


def test_behind_a_trusted_proxy_the_consent_records_the_forwarded_address(
    engine: Engine, database_url: str
) -> None:
    with live_town(engine, database_url, trusted_proxies=["127.0.0.1"]) as (url, town):
        _subscribe_and_confirm(
            url, town.wait_for_mails, "ana@example.org", "198.51.100.1, 203.0.113.7"
        )
    # The rightmost hop is the one the proxy added; the left end is whatever the client typed.
    assert _consent_addresses(engine, "ana@example.org") == {"203.0.113.7"}


def _three_subscriptions(url: str, forwarded: list[str]) -> list[int]:
    statuses = []
    with httpx.Client(base_url=url, timeout=10) as browser:
        for n, address in enumerate(forwarded):
            browser.headers["X-Forwarded-For"] = address
            statuses.append(subscribe_form(browser, f"oseba{n}@example.org").status_code)
    return statuses


def test_publisher_serve_ignores_a_rotated_forwarded_for_when_no_proxy_is_trusted(
    engine: Engine, database_url: str
) -> None:
    stock_town(engine)
    with publisher_serve(
        database_url, subscribe_limit_ip="2/hour", subscribe_limit_address="100/hour"
    ) as served:
        statuses = _three_subscriptions(served.url, ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
    assert statuses == [200, 200, 429]


def test_publisher_serve_counts_the_forwarded_address_from_a_trusted_proxy(
    engine: Engine, database_url: str
) -> None:
    stock_town(engine)
    with publisher_serve(
        database_url,
        subscribe_limit_ip="2/hour",
        subscribe_limit_address="100/hour",
        trusted_proxies="127.0.0.1, 10.0.0.0/8",
    ) as served:
        rotated = _three_subscriptions(served.url, ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
        same = _three_subscriptions(served.url, ["192.0.2.9, 10.0.0.4"] * 3)
    assert rotated == [200, 200, 200]  # three residents behind the proxy, one each
    assert same == [200, 200, 429]  # one resident, through two trusted proxies


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("127.0.0.1", "203.0.113.7", "127.0.0.1"),  # not trusted: the header is ignored
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.5", "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # the left end is the client's
        ("10.0.0.5", "203.0.113.7, 10.0.0.6", "203.0.113.7"),  # past a second trusted hop
        ("10.0.0.5", "nonsense", "10.0.0.5"),
        ("10.0.0.5", "", "10.0.0.5"),
        ("::ffff:10.0.0.5", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_the_client_is_decided_from_the_right_past_trusted_proxies(
    peer: str, header: str, client: str
) -> None:
    assert decide_client(peer, header, trusted_networks(["10.0.0.0/24"])) == client


def test_a_trusted_proxy_that_is_not_an_address_is_refused_naming_the_setting() -> None:
    from publisher.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="trusted_proxies"):
        load_settings(trusted_proxies="10.0.0.1, proxy.example.org")
