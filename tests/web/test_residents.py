"""Residents' pages through the app's HTTP interface, on SQLite and PostgreSQL, with every
confirmation mail delivered to a real aiosmtpd server and its link followed."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.addresses import address_hash
from publisher.clock import utcnow
from publisher.db import session_scope
from publisher.delivery.bounces import handle_event
from publisher.delivery.models import Delivery, DeliveryStatus, SendJob
from publisher.links import SubscriberLinks
from publisher.mail.confirmation import confirmation_template
from publisher.subscribers.confirmation import REQUEST_EVIDENCE
from publisher.subscribers.lists import get_list
from publisher.subscribers.models import (
    Consent,
    Source,
    Subscriber,
    Subscription,
    Suppression,
)
from publisher.subscribers.subscriptions import find_subscriber, subscribe
from publisher.tokens import Purpose, Tokens
from publisher.web.app import create_app
from tests.delivery.sending_support import SmtpServer
from tests.web.residents_support import (
    INTERNAL,
    ROADS,
    SECRET,
    WEEKLY,
    Town,
    confirm_path,
    csrf_from,
    html_of,
    residents_settings,
    stock_town,
    subscribe_form,
    text_of,
    token_uid,
)


def build_town(engine: Engine, database_url: str, smtp: SmtpServer, **overrides: Any) -> Town:
    settings = residents_settings(database_url, smtp.port, **overrides)
    return Town(create_app(settings, engine), engine, settings, smtp)


@pytest.fixture
def town(engine: Engine, database_url: str, smtp: SmtpServer) -> Town:
    stock_town(engine)
    return build_town(engine, database_url, smtp)


@pytest.fixture
def client(town: Town) -> Iterator[TestClient]:
    with TestClient(town.app) as client:
        yield client


def subscription_status(engine: Engine, email: str, slug: str) -> str | None:
    with Session(engine) as session:
        subscriber = find_subscriber(session, email)
        if subscriber is None:
            return None
        row = session.exec(
            select(Subscription).where(
                Subscription.subscriber_id == subscriber.id,
                Subscription.list_id == get_list(session, slug).id,
            )
        ).first()
        return None if row is None else str(row.status)


def confirmed_resident(town: Town, email: str = "mojca@example.org", **extra: Any) -> int:
    with session_scope(town.engine) as session:
        result = subscribe(session, email, WEEKLY, source=Source.staff, confirmed=True, **extra)
        assert result.subscriber.id is not None
        return result.subscriber.id


def links(town: Town) -> SubscriberLinks:
    return SubscriberLinks(town.settings)


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


# The form --------------------------------------------------------------------------------


def test_the_form_offers_public_lists_topics_language_and_consent(client: TestClient) -> None:
    page = client.get("/subscribe")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="sl">' in html
    assert '<input type="email" id="email" name="email"' in html
    assert 'name="lists" value="tedenske-novice"' in html
    assert 'name="lists" value="zapore-cest"' in html
    assert INTERNAL not in html  # not public: not offered
    for topic in ("promet", "kultura", "sport"):
        assert f'name="topics" value="{topic}"' in html
    assert 'name="language" value="sl" checked' in html
    assert 'href="/privacy"' in html
    assert 'name="csrf_token"' in html and "publisher_csrf" in page.cookies
    assert '<label for="email">E-poštni naslov</label>' in html
    assert "<script" not in html
    # Every page carries the security headers.
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_english_on_request_and_the_privacy_notice(client: TestClient, town: Town) -> None:
    page = client.get("/subscribe?lang=en")
    assert '<html lang="en">' in page.text
    assert "Subscribe to the newsletter" in page.text
    assert 'action="/subscribe?lang=en"' in page.text
    assert 'href="/subscribe?lang=sl"' in page.text  # the switch back
    notice = client.get("/privacy")
    assert notice.status_code == 200 and "Varstvo osebnih podatkov" in notice.text
    assert client.get("/unsubscribe").status_code == 200  # the archive's generic link


def test_a_privacy_url_setting_replaces_the_built_in_notice(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    stock_town(engine)
    town = build_town(
        engine, database_url, smtp, privacy_url="https://www.novomesto.example/zasebnost"
    )
    with TestClient(town.app) as client:
        assert 'href="https://www.novomesto.example/zasebnost"' in client.get("/subscribe").text


# Double opt-in -----------------------------------------------------------------------------


def test_subscribing_sends_one_mail_whose_link_confirms(client: TestClient, town: Town) -> None:
    answer = subscribe_form(
        client,
        "Ana.Novak@Example.org",
        lists=(WEEKLY, ROADS),
        name="Ana Novak",
        topics=["promet"],
    )
    assert answer.status_code == 200
    assert "Preverite e-pošto" in answer.text
    [mail] = town.wait_for_mails("Ana.Novak@example.org")
    assert mail["To"] == "Ana.Novak@example.org"  # the name typed on the form stays out
    assert mail["Subject"] == "Potrdite prijavo na novice – Mestna občina Novo mesto"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Tedenske novice" in text_of(mail) and "Zapore cest" in text_of(mail)
    assert "Povezava velja 7 dni." in text_of(mail)
    assert 'style="' in html_of(mail)  # the digest's stylesheet, inlined
    assert subscription_status(town.engine, "ana.novak@example.org", WEEKLY) == "pending"

    with Session(town.engine) as session:
        subscriber = find_subscriber(session, "ana.novak@example.org")
        assert subscriber is not None and subscriber.name == "Ana Novak"
        consents = session.exec(select(Consent).where(Consent.subscriber_id == subscriber.id)).all()
    assert {c.evidence for c in consents} == {REQUEST_EVIDENCE}
    assert {c.ip_address for c in consents} == {"testclient"}
    assert {c.wording_version for c in consents} == {"2025-1/sl"}

    confirmed = client.get(confirm_path(mail))
    assert confirmed.status_code == 200
    assert "Prijava potrjena" in confirmed.text
    assert "Tedenske novice" in confirmed.text and "Zapore cest" in confirmed.text
    assert "/preferences/" in confirmed.text
    assert confirmed.headers["referrer-policy"] == "no-referrer"
    assert confirmed.headers["cache-control"] == "no-store"
    for slug in (WEEKLY, ROADS):
        assert subscription_status(town.engine, "ana.novak@example.org", slug) == "confirmed"
    # Repeating it is harmless.
    again = client.get(confirm_path(mail))
    assert again.status_code == 200 and "Prijava potrjena" in again.text
    with Session(town.engine) as session:
        evidence = session.exec(select(Consent.evidence)).all()
    assert evidence.count("confirmed through the emailed link") == 2  # one per list, once


def test_the_mail_is_in_the_language_chosen(client: TestClient, town: Town) -> None:
    subscribe_form(client, "john@example.org", language="en")
    [mail] = town.wait_for_mails("john@example.org")
    assert mail["Subject"] == "Confirm your subscription – City Municipality of Novo mesto"
    assert mail["Content-Language"] == "en"
    assert "The link is valid for 7 days." in text_of(mail)
    page = client.get(confirm_path(mail))
    assert '<html lang="en">' in page.text and "Subscription confirmed" in page.text


def test_premailer_runs_once_per_language_not_per_mail(client: TestClient, town: Town) -> None:
    confirmation_template.cache_clear()
    for n in range(3):
        subscribe_form(client, f"obcan{n}@example.org")
    town.wait_for_mails("obcan2@example.org")
    info = confirmation_template.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_no_enumeration_and_at_most_one_link_a_day(client: TestClient, town: Town) -> None:
    confirmed_resident(town, "mojca@example.org")

    def answer(email: str) -> tuple[int, str, list[str]]:
        response = subscribe_form(client, email)
        body = response.text.replace(email, "ADDRESS")
        return response.status_code, body, sorted(response.headers.keys())

    new = answer("nova@example.org")
    pending_again = answer("nova@example.org")
    confirmed = answer("mojca@example.org")
    assert new == pending_again == confirmed
    assert len(town.mails_to("nova@example.org")) == 1  # pending: not again the same day
    assert town.mails_to("mojca@example.org") == []  # confirmed: nothing at all

    # A day later the pending address gets its link again.
    with session_scope(town.engine) as session:
        session.execute(
            update(Consent)
            .where(Consent.evidence == REQUEST_EVIDENCE)
            .values(given_at=utcnow() - timedelta(days=1, minutes=1))
        )
    answer("nova@example.org")
    assert len(town.mails_to("nova@example.org")) == 2


def test_a_confirmed_resident_asking_for_another_list_confirms_only_that(
    client: TestClient, town: Town
) -> None:
    confirmed_resident(town, "mojca@example.org", name="Mojca")
    subscribe_form(client, "mojca@example.org", lists=(WEEKLY, ROADS), name="Nekdo Drug")
    [mail] = town.wait_for_mails("mojca@example.org")
    assert "Zapore cest" in text_of(mail) and "Tedenske novice" not in text_of(mail)
    assert "/unsubscribe/" in mail["List-Unsubscribe"]
    with Session(town.engine) as session:
        subscriber = find_subscriber(session, "mojca@example.org")
        assert subscriber is not None and subscriber.name == "Mojca"  # the form cannot rename
    client.get(confirm_path(mail))
    assert subscription_status(town.engine, "mojca@example.org", ROADS) == "confirmed"


def test_a_failed_send_does_not_hold_back_the_next_try(client: TestClient, town: Town) -> None:
    town.smtp.handler.script.data["tina@example.org"] = ["451 4.3.0 try again later"]
    subscribe_form(client, "tina@example.org")
    assert town.mails_to("tina@example.org") == []
    subscribe_form(client, "tina@example.org")
    assert len(town.wait_for_mails("tina@example.org")) == 1


# Form rules --------------------------------------------------------------------------------


def test_errors_are_shown_and_linked_to_their_fields(client: TestClient, town: Town) -> None:
    page = subscribe_form(client, "ni-naslov", lists=())
    assert page.status_code == 400
    html = page.text
    assert 'role="alert"' in html and 'href="#email"' in html and 'href="#lists"' in html
    assert 'aria-describedby="email-namig email-napaka" aria-invalid="true"' in html
    assert 'id="email-napaka"' in html and "ana.novak@primer.si" in html
    assert 'value="ni-naslov"' in html  # what was typed stays
    assert "Označite, katere novice želite prejemati." in html
    assert subscribe_form(client, "a@example.org", lists=(INTERNAL,)).status_code == 400
    assert subscribe_form(client, "a@example.org", topics=["ni-tema"]).status_code == 400
    assert subscribe_form(client, "a@example.org", language="de").status_code == 400
    assert subscribe_form(client, "a@example.org", name="x" * 201).status_code == 400
    assert subscribe_form(client, "a" * 250 + "@example.org").status_code == 400
    assert town.mails_to("a@example.org") == []


def test_hostile_names_are_stored_as_text_and_escaped(client: TestClient, town: Town) -> None:
    hostile = '<script>alert("x")</script>\r\nBcc: zrtev@example.org'
    assert subscribe_form(client, "eva@example.org", name=hostile).status_code == 200
    [mail] = town.wait_for_mails("eva@example.org")
    with Session(town.engine) as session:
        subscriber = find_subscriber(session, "eva@example.org")
        assert subscriber is not None
        assert subscriber.name == '<script>alert("x")</script> Bcc: zrtev@example.org'
    assert mail["Bcc"] is None and "zrtev@example.org" not in town.smtp.handler.per_recipient()
    assert "script" not in html_of(mail) and "script" not in text_of(mail)
    prefs = client.get(path_of(links(town).preferences(subscriber.token_uid)))
    assert "<script>" not in prefs.text


def test_forms_without_our_csrf_token_are_refused(client: TestClient, town: Town) -> None:
    client.get("/subscribe")
    form = {"email": "ivo@example.org", "lists": WEEKLY, "language": "sl"}
    missing = client.post("/subscribe", data=form)
    assert missing.status_code == 403 and "Obrazec pošljite znova" in missing.text
    forged = client.post("/subscribe", data={**form, "csrf_token": "x.y"})
    assert forged.status_code == 403
    with TestClient(town.app) as stranger:  # a token from the page, but no cookie
        token = csrf_from(client.get("/subscribe").text)
        assert stranger.post("/subscribe", data={**form, "csrf_token": token}).status_code == 403
    assert subscription_status(town.engine, "ivo@example.org", WEEKLY) is None


def test_the_honeypot_answers_like_success_and_does_nothing(client: TestClient, town: Town) -> None:
    real = subscribe_form(client, "prava@example.org")
    bot = subscribe_form(client, "bot@example.org", url_check="https://spam.example")
    assert bot.status_code == 200
    assert bot.text.replace("bot@", "X@") == real.text.replace("prava@", "X@")
    assert subscription_status(town.engine, "bot@example.org", WEEKLY) is None
    assert town.mails_to("bot@example.org") == []


def test_too_many_submissions_from_one_ip_get_a_friendly_429(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    stock_town(engine)
    town = build_town(engine, database_url, smtp, subscribe_limit_ip="3/hour")
    with TestClient(town.app) as client:
        statuses = [subscribe_form(client, f"o{n}@example.org").status_code for n in range(4)]
        assert statuses == [200, 200, 200, 429]
        page = subscribe_form(client, "o9@example.org")
        assert page.status_code == 429 and "Preveč poskusov" in page.text
        assert 3000 < int(page.headers["retry-after"]) <= 3600
        assert page.headers["content-security-policy"]


def test_too_many_submissions_for_one_address_get_429(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    stock_town(engine)
    town = build_town(engine, database_url, smtp, subscribe_limit_address="2/hour")
    with TestClient(town.app) as client:
        statuses = [subscribe_form(client, "Ista@Example.org").status_code for _ in range(2)]
        statuses.append(subscribe_form(client, "ista@example.org").status_code)
        assert statuses == [200, 200, 429]
        assert subscribe_form(client, "druga@example.org").status_code == 200


def test_oversized_bodies_are_refused(client: TestClient) -> None:
    token = csrf_from(client.get("/subscribe").text)
    data = {"csrf_token": token, "email": "a@example.org", "lists": WEEKLY, "name": "x" * 40_000}
    assert client.post("/subscribe", data=data).status_code == 413

    def endless() -> Iterator[bytes]:
        for _ in range(100):
            yield b"name=" + b"x" * 1000

    chunked = client.post(
        "/subscribe",
        content=endless(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert chunked.status_code == 413


# Links: tampered, expired, erased ----------------------------------------------------------


def test_bad_links_get_clear_pages_never_500(client: TestClient, town: Town) -> None:
    sid = confirmed_resident(town)
    tokens = Tokens.from_settings(town.settings)
    uid = token_uid(town.engine, sid)
    good = tokens.make(Purpose.preferences, uid)
    for path in (
        f"/confirm/{tokens.make(Purpose.confirm, uid, 1)}x",
        f"/preferences/{good[:-3]}abc",
        f"/unsubscribe/{good}",  # a preferences token is no unsubscribe token
        "/confirm/" + "a" * 1000,
        "/preferences/%00%0a",
    ):
        page = client.get(path)
        assert page.status_code == 400, path
        assert "Povezava ne deluje" in page.text
    assert (
        client.post(f"/unsubscribe/{good}x", data={"List-Unsubscribe": "One-Click"}).status_code
        == 400
    )

    old = Tokens(SECRET, clock=lambda: time.time() - 8 * 86400).make(Purpose.confirm, uid, 1)
    expired = client.get(f"/confirm/{old}")
    assert expired.status_code == 400
    assert "Povezava je potekla" in expired.text and 'href="/subscribe"' in expired.text

    missing = tokens.make(Purpose.preferences, "nobody-has-this-uid")
    gone = client.get(f"/preferences/{missing}")
    assert gone.status_code == 404 and "Prijave ni mogoče najti" in gone.text


# Unsubscribe --------------------------------------------------------------------------------


def test_one_click_unsubscribe_needs_no_cookie_and_answers_200(town: Town) -> None:
    sid = confirmed_resident(town)
    url = path_of(links(town).unsubscribe(token_uid(town.engine, sid), None))
    with TestClient(town.app) as mail_client:  # RFC 8058: a bare POST, no cookie, no page
        response = mail_client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        assert not mail_client.cookies
        again = mail_client.post(url, data={"List-Unsubscribe": "One-Click"})
        assert again.status_code == 200
    assert subscription_status(town.engine, "mojca@example.org", WEEKLY) == "unsubscribed"
    with Session(town.engine) as session:
        assert session.get(Suppression, address_hash("mojca@example.org")) is not None


def test_one_click_from_a_list_mail_leaves_only_that_list(client: TestClient, town: Town) -> None:
    sid = confirmed_resident(town)
    with session_scope(town.engine) as session:
        subscribe(session, "mojca@example.org", ROADS, source=Source.staff, confirmed=True)
        weekly_id = get_list(session, WEEKLY).id
    url = path_of(links(town).unsubscribe(token_uid(town.engine, sid), weekly_id))
    page = client.get(url)
    assert "Tedenske novice" in page.text and page.text.count("<form") == 1
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert subscription_status(town.engine, "mojca@example.org", WEEKLY) == "unsubscribed"
    assert subscription_status(town.engine, "mojca@example.org", ROADS) == "confirmed"


def test_the_unsubscribe_page_button_is_csrf_checked(client: TestClient, town: Town) -> None:
    sid = confirmed_resident(town)
    url = path_of(links(town).unsubscribe(token_uid(town.engine, sid), None))
    page = client.get(url)
    assert page.status_code == 200 and "Da, odjavite me" in page.text
    assert client.post(url, data={}).status_code == 403
    assert subscription_status(town.engine, "mojca@example.org", WEEKLY) == "confirmed"
    done = client.post(url, data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 200 and "Odjavljeni ste" in done.text
    assert subscription_status(town.engine, "mojca@example.org", WEEKLY) == "unsubscribed"


# Preferences -------------------------------------------------------------------------------


def test_preferences_change_lists_topics_and_language(client: TestClient, town: Town) -> None:
    sid = confirmed_resident(town)
    url = path_of(links(town).preferences(token_uid(town.engine, sid)))
    page = client.get(url)
    assert page.status_code == 200 and "mojca@example.org" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    saved = client.post(
        url,
        data={
            "csrf_token": csrf_from(page.text),
            "lists": [ROADS],
            "topics": ["promet", "kultura"],
            "language": "en",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    shown = client.get(saved.headers["location"])
    assert '<html lang="en">' in shown.text and "Your preferences are saved." in shown.text
    assert 'value="kultura" checked' in shown.text and 'value="sport" checked' not in shown.text
    assert subscription_status(town.engine, "mojca@example.org", WEEKLY) == "unsubscribed"
    assert subscription_status(town.engine, "mojca@example.org", ROADS) == "confirmed"
    with Session(town.engine) as session:
        subscriber = session.get(Subscriber, sid)
        assert subscriber is not None and subscriber.language == "en"
        evidence = session.exec(select(Consent.evidence).where(Consent.subscriber_id == sid)).all()
    assert "preferences page (link from an email)" in evidence
    refused = client.post(url, data={"lists": [ROADS], "language": "sl"})
    assert refused.status_code == 403  # no CSRF field
    bad = client.post(
        url, data={"csrf_token": csrf_from(page.text), "lists": [INTERNAL], "language": "sl"}
    )
    assert bad.status_code == 400


def test_preferences_unsubscribe_from_everything(client: TestClient, town: Town) -> None:
    sid = confirmed_resident(town)
    url = path_of(links(town).preferences(token_uid(town.engine, sid)))
    token = csrf_from(client.get(url).text)
    done = client.post(url + "/unsubscribe", data={"csrf_token": token})
    assert done.status_code == 200 and "Ne bomo vam več pošiljali novic." in done.text
    assert subscription_status(town.engine, "mojca@example.org", WEEKLY) == "unsubscribed"


def test_download_holds_subscriber_consents_subscriptions_deliveries_and_bounces(
    client: TestClient, town: Town
) -> None:
    sid = confirmed_resident(town, name="Mojca Kranjc")
    with session_scope(town.engine) as session:
        job = SendJob(name="tedenske-novice/2025-W10", envelope_from="novice@example.org")
        session.add(job)
        session.flush()
        session.add(
            Delivery(
                job_id=job.id,
                subscriber_id=sid,
                email="mojca@example.org",
                status=DeliveryStatus.sent,
                sent_at=utcnow(),
                message_id="x@example.org",
            )
        )
    with session_scope(town.engine) as session:  # the relay's report, as its webhook gives it
        handle_event(
            session,
            town.settings,
            source="postmark",
            message_id="x@example.org",
            action="failed",
            status="5.2.2",
            diagnostic="552 5.2.2 Mailbox full",
            raw=b'{"RecordType": "Bounce", "Description": "raw report"}',
            event_id="1",
        )
    response = client.get(path_of(links(town).preferences(token_uid(town.engine, sid))) + "/data")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    data = json.loads(response.content)
    assert data["email"] == "mojca@example.org" and data["name"] == "Mojca Kranjc"
    assert data["subscriptions"][0]["list"] == WEEKLY
    assert data["consents"][0]["source"] == "staff"
    assert data["deliveries"] == [
        {
            "mailing": "tedenske-novice/2025-W10",
            "address": "mojca@example.org",
            "language": "sl",
            "status": "sent",
            "sent_at": data["deliveries"][0]["sent_at"],
            "message_id": "x@example.org",
        }
    ]
    assert data["bounces"] == [
        {
            "received_at": data["bounces"][0]["received_at"],
            "mailing": "tedenske-novice/2025-W10",
            "kind": "soft",
            "status": "5.2.2",
            "diagnostic": "552 5.2.2 Mailbox full",
        }
    ]
    assert "raw report" not in response.text


def test_erasure_keeps_only_a_hash_and_resubscribing_needs_double_opt_in(
    client: TestClient, town: Town
) -> None:
    sid = confirmed_resident(town)
    prefs = path_of(links(town).preferences(token_uid(town.engine, sid)))
    one_click = path_of(links(town).unsubscribe(token_uid(town.engine, sid), None))
    token = csrf_from(client.get(prefs).text)
    unconfirmed = client.post(prefs + "/erase", data={"csrf_token": token})
    assert unconfirmed.status_code == 400 and 'id="confirm_erase-napaka"' in unconfirmed.text
    erased = client.post(prefs + "/erase", data={"csrf_token": token, "confirm_erase": "yes"})
    assert erased.status_code == 200 and "Vaši podatki so izbrisani" in erased.text
    with Session(town.engine) as session:
        assert session.get(Subscriber, sid) is None
        assert session.exec(select(Consent)).all() == []
        suppression = session.get(Suppression, address_hash("mojca@example.org"))
        assert suppression is not None and suppression.reason == "erased"
    # Old links lead to a friendly "not found".
    for path in (prefs, one_click, prefs + "/data"):
        page = client.get(path)
        assert page.status_code == 404 and "Prijave ni mogoče najti" in page.text
    assert client.post(one_click, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    # Coming back works, through double opt-in only.
    subscribe_form(client, "mojca@example.org")
    [mail] = town.wait_for_mails("mojca@example.org")
    assert subscription_status(town.engine, "mojca@example.org", WEEKLY) == "pending"
    assert client.get(confirm_path(mail)).status_code == 200
    assert subscription_status(town.engine, "mojca@example.org", WEEKLY) == "confirmed"
    with Session(town.engine) as session:
        assert session.get(Suppression, address_hash("mojca@example.org")) is None


def test_a_link_whose_subscription_was_left_since_says_so(client: TestClient, town: Town) -> None:
    subscribe_form(client, "lara@example.org")
    [mail] = town.wait_for_mails("lara@example.org")
    unsubscribe = re.search(r"<http://testserver(/unsubscribe/[^>]+)>", mail["List-Unsubscribe"])
    assert unsubscribe is not None
    client.post(unsubscribe.group(1), data={"List-Unsubscribe": "One-Click"})
    page = client.get(confirm_path(mail))
    assert page.status_code == 400 and "preklicana" in page.text
    assert subscription_status(town.engine, "lara@example.org", WEEKLY) == "unsubscribed"
