"""Addresses beyond ASCII on the subscribe form, over real HTTP with a real aiosmtpd relay:
an internationalised domain is mailed as punycode; a local part such as ``žiga@`` is mailed
with SMTPUTF8 when the relay offers it, and otherwise refused on the form in Slovenian."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tests.web.residents_support import confirm_path, subscribe_form, town_with_browser

REFUSED = "Na naslove s črkami, kot so č, š ali ž, pred znakom @"


def test_an_idn_domain_is_confirmed_through_a_mail_sent_as_punycode(
    engine: Engine, database_url: str
) -> None:
    with town_with_browser(engine, database_url) as (browser, town):
        assert subscribe_form(browser, "ana@šola.si").status_code == 200
        [mail] = town.wait_for_mails("ana@xn--ola-zza.si")
        assert mail["To"] == "ana@xn--ola-zza.si"
        assert "Prijava potrjena" in browser.get(confirm_path(mail)).text


def test_a_utf8_mailbox_is_confirmed_when_the_relay_offers_smtputf8(
    engine: Engine, database_url: str
) -> None:
    with town_with_browser(engine, database_url, smtputf8=True) as (browser, town):
        assert subscribe_form(browser, "žiga@example.org").status_code == 200
        [mail] = town.wait_for_mails("žiga@example.org")
        assert "Prijava potrjena" in browser.get(confirm_path(mail)).text


def test_a_utf8_mailbox_is_refused_on_the_form_in_slovenian_without_smtputf8(
    engine: Engine, database_url: str
) -> None:
    with town_with_browser(engine, database_url, smtputf8=False) as (browser, town):
        answer = subscribe_form(browser, "žiga@example.org")
        assert answer.status_code == 400
        assert REFUSED in answer.text
        assert "Error" not in answer.text
        # Nothing is held against the address: another one goes through at once.
        assert subscribe_form(browser, "ziga@example.org").status_code == 200
        town.wait_for_mails("ziga@example.org")
        assert town.smtp.handler.per_recipient().keys() == {"ziga@example.org"}
