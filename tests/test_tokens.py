"""Signed links: valid, tampered, expired, wrong purpose, and dead after erasure."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.config import load_settings
from publisher.subscribers.lists import create_list
from publisher.subscribers.models import Source
from publisher.subscribers.privacy import erase
from publisher.subscribers.subscriptions import (
    SubscriberNotFound,
    get_subscriber_by_id,
    subscribe,
    subscriber_id_for_link,
)
from publisher.tokens import ExpiredToken, InvalidToken, Purpose, Tokens

SECRET = "test-secret-key-for-signing"
ISSUED = 1_750_000_000.0  # a fixed moment: no test depends on the wall clock
DAY = 86_400.0
UID = "q3Vb8kZr1xYcT0aLmN2pWg"  # a subscriber's token_uid, as Subscriber rows make them


def at(moment: float) -> Tokens:
    return Tokens(SECRET, confirm_max_age=timedelta(days=7), clock=lambda: moment)


def test_a_token_reads_back_its_purpose_subscriber_and_list() -> None:
    token = at(ISSUED).make(Purpose.confirm, UID, 3)
    claims = at(ISSUED + 60).read(token, Purpose.confirm)
    assert (claims.purpose, claims.subscriber_uid, claims.list_id) == (Purpose.confirm, UID, 3)
    assert claims.issued_at.timestamp() == ISSUED


def test_a_tampered_token_is_rejected() -> None:
    token = at(ISSUED).make(Purpose.unsubscribe, UID, 3)
    _, rest = token.split(".", 1)
    forged = base64.urlsafe_b64encode(b"[43,3]").decode().rstrip("=")
    for bad in (f"{forged}.{rest}", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "", "x"):
        with pytest.raises(InvalidToken):
            at(ISSUED).read(bad, Purpose.unsubscribe)


def test_a_token_for_one_purpose_is_worthless_for_another() -> None:
    token = at(ISSUED).make(Purpose.unsubscribe, UID, 3)
    with pytest.raises(InvalidToken, match="not a valid preferences link") as caught:
        at(ISSUED).read(token, Purpose.preferences)
    assert not isinstance(caught.value, ExpiredToken)
    with pytest.raises(InvalidToken):
        at(ISSUED).read(token, Purpose.confirm)


def test_a_token_signed_with_another_key_is_rejected() -> None:
    token = Tokens("another-key", clock=lambda: ISSUED).make(Purpose.confirm, UID, 1)
    with pytest.raises(InvalidToken):
        at(ISSUED).read(token, Purpose.confirm)


def test_confirmation_links_expire_after_the_configured_days() -> None:
    token = at(ISSUED).make(Purpose.confirm, UID, 3)
    assert at(ISSUED + 7 * DAY).read(token, Purpose.confirm).subscriber_uid == UID
    with pytest.raises(ExpiredToken):
        at(ISSUED + 7 * DAY + 1).read(token, Purpose.confirm)


def test_unsubscribe_and_preference_links_never_expire() -> None:
    ten_years_later = ISSUED + 3650 * DAY
    for purpose in (Purpose.unsubscribe, Purpose.preferences):
        token = at(ISSUED).make(purpose, UID, 3)
        assert at(ten_years_later).read(token, purpose).list_id == 3
    everywhere = at(ISSUED).make(Purpose.unsubscribe, UID)
    assert at(ten_years_later).read(everywhere, Purpose.unsubscribe).list_id is None


def test_confirmation_tokens_need_a_list() -> None:
    with pytest.raises(ValueError, match="needs a list"):
        at(ISSUED).make(Purpose.confirm, UID)


def test_the_expiry_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", SECRET)
    monkeypatch.setenv("PUBLISHER_CONFIRM_TOKEN_DAYS", "2")
    settings = load_settings()
    token = Tokens.from_settings(settings, clock=lambda: ISSUED).make(Purpose.confirm, UID, 1)
    later = Tokens.from_settings(settings, clock=lambda: ISSUED + 2 * DAY + 1)
    with pytest.raises(ExpiredToken):
        later.read(token, Purpose.confirm)
    assert at(ISSUED + 2 * DAY + 1).read(token, Purpose.confirm).subscriber_uid == UID


def test_no_address_appears_in_a_token(engine: Engine) -> None:
    with Session(engine) as session:
        create_list(session, "promet", "Promet in zapore")
        added = subscribe(session, "ana.novak@example.org", "promet", source=Source.web)
        token = at(ISSUED).make(
            Purpose.confirm, added.subscriber.token_uid, added.subscription.list_id
        )
    payload = token.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b"@" not in decoded and b"ana" not in decoded


def test_a_token_of_an_erased_subscriber_leads_nowhere_even_after_new_sign_ups(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        create_list(session, "promet", "Promet in zapore")
        added = subscribe(session, "ana.novak@example.org", "promet", source=Source.web)
        erased_id = added.subscriber.id
        assert erased_id is not None
        token = at(ISSUED).make(
            Purpose.unsubscribe, added.subscriber.token_uid, added.subscription.list_id
        )
        erase(session, "ana.novak@example.org")
        # The erased person had the highest id; a newcomer must not inherit it (SQLite rowid).
        newcomer = subscribe(session, "bojan.kos@example.org", "promet", source=Source.web)
        session.commit()
        assert newcomer.subscriber.id != erased_id
        claims = at(ISSUED).read(token, Purpose.unsubscribe)
        assert subscriber_id_for_link(session, claims.subscriber_uid) is None
        with pytest.raises(SubscriberNotFound):
            get_subscriber_by_id(session, erased_id)


def test_a_token_names_the_subscriber_by_a_random_uid_not_its_id(engine: Engine) -> None:
    """With the key leaked, ids 1, 2, 3… would still give nobody a link: tokens carry uids."""
    with Session(engine) as session:
        create_list(session, "promet", "Promet in zapore")
        people = [
            subscribe(session, f"oseba{n}@example.org", "promet", source=Source.web).subscriber
            for n in range(3)
        ]
        session.commit()
        uids = [person.token_uid for person in people]
    assert len(set(uids)) == 3 and all(len(uid) >= 22 for uid in uids)
    for person in people:
        token = at(ISSUED).make(Purpose.preferences, person.token_uid)
        payload = token.split(".")[0]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        assert decoded == f'["{person.token_uid}"]'  # no id in it


def test_an_id_signed_with_the_key_opens_no_preferences_or_confirmation() -> None:
    """The forgery a known key allowed: a token for subscriber N. Only an old unsubscribe
    token may still carry an id (links already mailed keep working)."""
    old_style = URLSafeTimedSerializer(SECRET, salt="publisher.preferences")
    with pytest.raises(InvalidToken):
        at(ISSUED).read(str(old_style.dumps([1])), Purpose.preferences)
    confirm = URLSafeTimedSerializer(SECRET, salt="publisher.confirm")
    with pytest.raises(InvalidToken):
        at(ISSUED).read(str(confirm.dumps([1, 1])), Purpose.confirm)
    unsubscribe = URLSafeTimedSerializer(SECRET, salt="publisher.unsubscribe")
    claims = at(ISSUED).read(str(unsubscribe.dumps([7, 2])), Purpose.unsubscribe)
    assert (claims.subscriber_uid, claims.subscriber_id, claims.list_id) == ("", 7, 2)
