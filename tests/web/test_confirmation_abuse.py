"""The subscribe form cannot make the town hall a spam relay, over real HTTP: the confirmation
mail carries nothing typed on the form, each address gets at most one a day whoever asks,
and one client's submissions cause only a few mails whatever addresses it types."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.web.residents_support import (
    ROADS,
    WEEKLY,
    html_of,
    subscribe_form,
    text_of,
    town_with_browser,
)

PITCH = "Poceni zdravila na http://spam.example/kupi zdaj, pišite na prodaja@spam.example"


def test_the_confirmation_mail_never_repeats_the_name_typed_on_the_form(
    engine: Engine, database_url: str
) -> None:
    with town_with_browser(engine, database_url) as (browser, town):
        assert subscribe_form(browser, "tujec@example.org", name=PITCH).status_code == 200
        [mail] = town.wait_for_mails("tujec@example.org")
    for shown in (text_of(mail), html_of(mail), str(mail["To"])):
        assert "spam.example" not in shown and "zdravila" not in shown
    assert mail["To"] == "tujec@example.org"


def test_an_address_gets_one_confirmation_mail_a_day_however_often_it_is_typed(
    engine: Engine, database_url: str
) -> None:
    with town_with_browser(engine, database_url) as (browser, town):
        for lists in ((WEEKLY,), (ROADS,), (WEEKLY, ROADS), (ROADS,)):
            assert subscribe_form(browser, "zrtev@example.org", lists=lists).status_code == 200
        subscribe_form(browser, "drugi@example.org")  # mails leave in order: this one last
        town.wait_for_mails("drugi@example.org")
        assert len(town.mails_to("zrtev@example.org")) == 1


def test_one_client_causes_only_a_few_confirmation_mails_whatever_addresses_it_types(
    engine: Engine, database_url: str
) -> None:
    with town_with_browser(engine, database_url, confirm_mail_limit_ip="3/day") as (browser, town):
        answers = [subscribe_form(browser, f"zrtev{n}@example.org", name="x") for n in range(6)]
        # The same answer every time: the client cannot tell which mails were held back.
        assert {answer.status_code for answer in answers} == {200}
        assert all("Preverite e-pošto" in answer.text for answer in answers)
        town.wait_for_mails("zrtev2@example.org")
        sent = town.smtp.handler.per_recipient()
    assert sorted(sent) == ["zrtev0@example.org", "zrtev1@example.org", "zrtev2@example.org"]
