"""A resident's links once there is nothing left to leave, over real HTTP (uvicorn, aiosmtpd):
the unsubscribe link opened again, one-click repeated, a link for a list that is gone, the
links of an erased address, and the preferences page of an address nothing is sent to."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.db import session_scope
from publisher.links import SubscriberLinks
from publisher.subscribers.lists import create_list, get_list
from publisher.subscribers.models import MailingList, Source, Subscription, SuppressionReason
from publisher.subscribers.subscriptions import subscribe
from publisher.subscribers.suppression import suppress
from tests.web.residents_support import (
    ROADS,
    WEEKLY,
    Town,
    confirm_path,
    csrf_from,
    live_town,
    subscribe_form,
    token_uid,
)
from tests.web.test_residents import subscription_status

ASKS = "Ali res ne želite več prejemati"
ALREADY = "Odjavljeni ste že"
NOTHING_SENT = "Na ta naslov ne pošiljamo ničesar"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def town(engine: Engine, database_url: str) -> Iterator[Town]:
    """The app served by uvicorn: its links (``settings.base_url``) are real URLs."""
    with live_town(engine, database_url) as (_url, online):
        yield online


def resident(town: Town, email: str = "mojca@example.org", *lists: str) -> int:
    with session_scope(town.engine) as session:
        for slug in lists or (WEEKLY,):
            result = subscribe(session, email, slug, source=Source.staff, confirmed=True)
        assert result.subscriber.id is not None
        return result.subscriber.id


def unsubscribe_link(town: Town, subscriber_id: int, list_slug: str | None = None) -> str:
    list_id = None
    if list_slug is not None:
        with Session(town.engine) as session:
            list_id = get_list(session, list_slug).id
    return SubscriberLinks(town.settings).unsubscribe(
        token_uid(town.engine, subscriber_id), list_id
    )


def preferences_link(town: Town, subscriber_id: int) -> str:
    return SubscriberLinks(town.settings).preferences(token_uid(town.engine, subscriber_id))


def posts_a_form(page: str) -> bool:
    return '<form method="post"' in page


def test_the_unsubscribe_link_opened_again_says_it_is_done_and_leads_back_through_opt_in(
    town: Town,
) -> None:
    link = unsubscribe_link(town, resident(town, "lara@example.org"))
    with httpx.Client(base_url=town.settings.base_url, timeout=10) as browser:
        first = browser.get(link)
        assert first.status_code == 200 and ASKS in first.text
        done = browser.post(link, data={"csrf_token": csrf_from(first.text)})
        assert done.status_code == 200 and "Odjavljeni ste" in done.text

        again = browser.get(link)
        assert again.status_code == 200
        assert ALREADY in again.text and ASKS not in again.text
        assert not posts_a_form(again.text)  # nothing to confirm: no button that does nothing
        assert "Ta naslov ne prejema nobenih naših novic" in again.text
        way_back = re.search(r'<a class="button" href="([^"]+)">Prijavite se znova</a>', again.text)
        assert way_back is not None
        assert browser.get(way_back.group(1)).status_code == 200

        # The button posted twice (a second tab, the back button): the same answer, no error.
        twice = browser.post(link, data={"csrf_token": csrf_from(first.text)})
        assert twice.status_code == 200 and "Odjavljeni ste" in twice.text

        # Coming back is the normal double opt-in; then the link asks again.
        subscribe_form(browser, "lara@example.org")
        [mail] = town.wait_for_mails("lara@example.org")
        assert subscription_status(town.engine, "lara@example.org", WEEKLY) == "pending"
        assert browser.get(confirm_path(mail)).status_code == 200
        assert ASKS in browser.get(link).text


def test_one_click_repeated_and_the_page_after_it(town: Town) -> None:
    link = unsubscribe_link(town, resident(town))
    for _ in range(2):  # the mail client may post twice
        answer = httpx.post(link, data=ONE_CLICK)
        assert answer.status_code == 200 and answer.text == "Unsubscribed.\n"
    page = httpx.get(link)
    assert page.status_code == 200 and ALREADY in page.text


def test_a_list_link_after_leaving_that_list_names_it_and_the_other_lists(
    town: Town,
) -> None:
    sid = resident(town, "mojca@example.org", WEEKLY, ROADS)
    link = unsubscribe_link(town, sid, WEEKLY)
    assert httpx.post(link, data=ONE_CLICK).status_code == 200
    page = httpx.get(link)
    assert page.status_code == 200 and ALREADY in page.text and not posts_a_form(page.text)
    assert "Ta naslov novic »Tedenske novice« ne prejema več." in page.text
    preferences = re.search(r'href="([^"]*/preferences/[^"]+)"', page.text)
    assert preferences is not None  # still on "Zapore cest": where to see it
    assert httpx.get(preferences.group(1)).status_code == 200
    assert subscription_status(town.engine, "mojca@example.org", ROADS) == "confirmed"


def test_a_link_for_a_list_that_no_longer_exists_says_so(
    town: Town,
) -> None:
    with session_scope(town.engine) as session:
        create_list(session, "poletje", "Poletne prireditve")
    sid = resident(town, "mojca@example.org", WEEKLY, "poletje")
    link = unsubscribe_link(town, sid, "poletje")
    with session_scope(town.engine) as session:
        gone_id = get_list(session, "poletje").id
        session.execute(delete(Subscription).where(Subscription.list_id == gone_id))  # type: ignore[arg-type]
        session.execute(delete(MailingList).where(MailingList.id == gone_id))  # type: ignore[arg-type]
    with httpx.Client(timeout=10) as browser:
        page = browser.get(link)
        assert page.status_code == 200
        assert "Te novice ne izhajajo več" in page.text and not posts_a_form(page.text)
        assert "»«" not in page.text  # never a sentence about a nameless list
        answer = browser.post(link, data=ONE_CLICK)
        assert answer.status_code == 200
    # The link named one list: the others are untouched and the address is not suppressed.
    assert subscription_status(town.engine, "mojca@example.org", WEEKLY) == "confirmed"


def test_the_links_of_an_erased_address_lead_to_a_clear_page(
    town: Town,
) -> None:
    sid = resident(town)
    links = [unsubscribe_link(town, sid), unsubscribe_link(town, sid, WEEKLY)]
    preferences = preferences_link(town, sid)
    with httpx.Client(timeout=10) as browser:
        page = browser.get(preferences)
        form = {"csrf_token": csrf_from(page.text), "confirm_erase": "yes"}
        erased = browser.post(preferences + "/erase", data=form)
        assert erased.status_code == 200
        for link in [*links, preferences]:
            gone = browser.get(link)
            assert gone.status_code == 404 and "Prijave ni mogoče najti" in gone.text
            assert 'href="/subscribe"' in gone.text
        for link in links:
            assert browser.post(link, data=ONE_CLICK).status_code == 200


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        (SuppressionReason.hard_bounce, "vračala kot nedostavljiva"),
        (SuppressionReason.soft_bounce, "prepogosto vračala"),
        (SuppressionReason.complaint, "označeno kot neželeno"),
    ],
)
def test_the_pages_of_an_address_mail_no_longer_reaches_say_why_and_what_to_do(
    town: Town, reason: SuppressionReason, why: str
) -> None:
    sid = resident(town)
    with session_scope(town.engine) as session:
        suppress(session, "mojca@example.org", reason)
    with httpx.Client(timeout=10) as browser:
        preferences = browser.get(preferences_link(town, sid))
        assert preferences.status_code == 200
        html = preferences.text
        assert NOTHING_SENT in html and why in html
        assert 'name="lists"' not in html and 'name="topics"' not in html
        assert 'name="language"' not in html and "Shranite nastavitve" not in html
        assert 'href="/subscribe"' in html and "Prijavite se znova" in html
        assert "Odjavite me od vseh novic" in html  # leaving for good still means something
        # A form from before the suppression changes nothing and shows why.
        stale = browser.post(
            preferences_link(town, sid),
            data={"csrf_token": csrf_from(html), "lists": [ROADS], "language": "en"},
        )
        assert stale.status_code == 409 and NOTHING_SENT in stale.text
        assert subscription_status(town.engine, "mojca@example.org", ROADS) is None

        unsubscribe = browser.get(unsubscribe_link(town, sid))
        assert unsubscribe.status_code == 200 and ASKS in unsubscribe.text
        assert "Na ta naslov trenutno ne pošiljamo ničesar" in unsubscribe.text
        assert why in unsubscribe.text


def test_the_preferences_page_after_leaving_everything_says_so(
    town: Town,
) -> None:
    sid = resident(town)
    assert httpx.post(unsubscribe_link(town, sid), data=ONE_CLICK).status_code == 200
    page = httpx.get(preferences_link(town, sid))
    assert page.status_code == 200
    assert NOTHING_SENT in page.text and "odjavili ste se od vseh naših novic" in page.text
    assert "Odjavite me od vseh novic" not in page.text and 'name="lists"' not in page.text
    assert "JSON" in page.text  # their data stay theirs to take
