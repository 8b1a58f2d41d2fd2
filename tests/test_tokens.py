"""Signed links: valid, tampered, expired, wrong purpose, and dead after erasure."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.config import load_settings
from publisher.subscribers.lists import create_list
from publisher.subscribers.models import Source
from publisher.subscribers.privacy import erase
from publisher.subscribers.subscriptions import SubscriberNotFound, get_subscriber_by_id, subscribe
from publisher.tokens import ExpiredToken, InvalidToken, Purpose, Tokens

SECRET = "test-secret-key-for-signing"
ISSUED = 1_750_000_000.0  # a fixed moment: no test depends on the wall clock
DAY = 86_400.0


def at(moment: float) -> Tokens:
    return Tokens(SECRET, confirm_max_age=timedelta(days=7), clock=lambda: moment)


def test_a_token_reads_back_its_purpose_subscriber_and_list() -> None:
    token = at(ISSUED).make(Purpose.confirm, 42, 3)
    claims = at(ISSUED + 60).read(token, Purpose.confirm)
    assert (claims.purpose, claims.subscriber_id, claims.list_id) == (Purpose.confirm, 42, 3)
    assert claims.issued_at.timestamp() == ISSUED


def test_a_tampered_token_is_rejected() -> None:
    token = at(ISSUED).make(Purpose.unsubscribe, 42, 3)
    _, rest = token.split(".", 1)
    forged = base64.urlsafe_b64encode(b"[43,3]").decode().rstrip("=")
    for bad in (f"{forged}.{rest}", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "", "x"):
        with pytest.raises(InvalidToken):
            at(ISSUED).read(bad, Purpose.unsubscribe)


def test_a_token_for_one_purpose_is_worthless_for_another() -> None:
    token = at(ISSUED).make(Purpose.unsubscribe, 42, 3)
    with pytest.raises(InvalidToken, match="not a valid preferences link") as caught:
        at(ISSUED).read(token, Purpose.preferences)
    assert not isinstance(caught.value, ExpiredToken)
    with pytest.raises(InvalidToken):
        at(ISSUED).read(token, Purpose.confirm)


def test_a_token_signed_with_another_key_is_rejected() -> None:
    token = Tokens("another-key", clock=lambda: ISSUED).make(Purpose.confirm, 1, 1)
    with pytest.raises(InvalidToken):
        at(ISSUED).read(token, Purpose.confirm)


def test_confirmation_links_expire_after_the_configured_days() -> None:
    token = at(ISSUED).make(Purpose.confirm, 42, 3)
    assert at(ISSUED + 7 * DAY).read(token, Purpose.confirm).subscriber_id == 42
    with pytest.raises(ExpiredToken):
        at(ISSUED + 7 * DAY + 1).read(token, Purpose.confirm)


def test_unsubscribe_and_preference_links_never_expire() -> None:
    ten_years_later = ISSUED + 3650 * DAY
    for purpose in (Purpose.unsubscribe, Purpose.preferences):
        token = at(ISSUED).make(purpose, 42, 3)
        assert at(ten_years_later).read(token, purpose).list_id == 3
    everywhere = at(ISSUED).make(Purpose.unsubscribe, 42)
    assert at(ten_years_later).read(everywhere, Purpose.unsubscribe).list_id is None


def test_confirmation_tokens_need_a_list() -> None:
    with pytest.raises(ValueError, match="needs a list"):
        at(ISSUED).make(Purpose.confirm, 42)


def test_the_expiry_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", SECRET)
    monkeypatch.setenv("PUBLISHER_CONFIRM_TOKEN_DAYS", "2")
    settings = load_settings()
    token = Tokens.from_settings(settings, clock=lambda: ISSUED).make(Purpose.confirm, 1, 1)
    later = Tokens.from_settings(settings, clock=lambda: ISSUED + 2 * DAY + 1)
    with pytest.raises(ExpiredToken):
        later.read(token, Purpose.confirm)
    assert at(ISSUED + 2 * DAY + 1).read(token, Purpose.confirm).subscriber_id == 1


def test_no_address_appears_in_a_token(engine: Engine) -> None:
    with Session(engine) as session:
        create_list(session, "promet", "Promet in zapore")
        added = subscribe(session, "ana.novak@example.org", "promet", source=Source.web)
        assert added.subscriber.id is not None
        token = at(ISSUED).make(Purpose.confirm, added.subscriber.id, added.subscription.list_id)
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
        token = at(ISSUED).make(Purpose.unsubscribe, erased_id, added.subscription.list_id)
        erase(session, "ana.novak@example.org")
        # The erased person had the highest id; a newcomer must not inherit it (SQLite rowid).
        newcomer = subscribe(session, "bojan.kos@example.org", "promet", source=Source.web)
        session.commit()
        assert newcomer.subscriber.id != erased_id
        claims = at(ISSUED).read(token, Purpose.unsubscribe)
        with pytest.raises(SubscriberNotFound):
            get_subscriber_by_id(session, claims.subscriber_id)
