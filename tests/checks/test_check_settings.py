"""The settings lines: what would make links, mails or the store wrong before any network."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.checks.results import Check, Status
from publisher.checks.settings import settings_checks
from publisher.db import make_engine
from tests.checks.conftest import Configure


def lines(settings: object, engine: object) -> dict[str, Check]:
    return {c.name: c for c in settings_checks(settings, engine)}  # type: ignore[arg-type]


def test_a_long_secret_of_one_repeated_character_is_not_random(
    configure: Configure, store: tuple[str, object]
) -> None:
    check = lines(configure(secret_key="k" * 40), store[1])["secret key"]
    assert check.status is Status.fail
    assert "does not look random" in check.detail + check.fix
    assert "k" * 40 not in check.detail + check.fix, "the secret never shows"


def test_an_empty_database_fails_and_says_to_run_init(configure: Configure, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    try:
        check = lines(configure(database_url=url), engine)["database"]
    finally:
        engine.dispose()
    assert check.status is Status.fail
    assert check.fix == "run `publisher init`"


def test_a_from_address_without_a_display_name_is_a_warning(
    configure: Configure, store: tuple[str, object]
) -> None:
    check = lines(configure(from_address="novice@obcina.test"), store[1])["From address"]
    assert check.status is Status.warn
    assert "Mestna občina" in check.fix


def test_the_resolver_and_sending_address_settings_say_what_is_wrong_with_them() -> None:
    from publisher.config import SettingsError, dns_server, load_settings

    assert dns_server("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert dns_server("[::1]:53") == ("::1", 53)
    assert dns_server("10.0.0.2") == ("10.0.0.2", 53)
    for key, value in (("dns_resolver", "dns.example.org"), ("check_sending_ips", ["smtp"])):
        with pytest.raises(SettingsError, match=key):
            load_settings(**{key: value})
