"""``publisher check`` as staff run it: a correct deployment (a STARTTLS relay with login,
dnsmasq with the right records, the app over https) prints only ✓ and exits 0; a broken one
prints each ✗ with its fix and exits 1; outside text never reaches the terminal raw."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from tests.checks.check_support import (
    DOMAIN,
    FROM,
    RELAY_PASSWORD,
    RELAY_USER,
    SELECTOR,
    Pki,
    dnsmasq,
    good_records,
    relay,
    txt,
)
from tests.checks.conftest import Configure
from tests.checks.test_check_web import site

runner = CliRunner()


def write_config(folder: Path, **values: object) -> Path:
    lines = []
    for key, value in values.items():
        lines.append(f"{key} = {json.dumps(value if not isinstance(value, Path) else str(value))}")
    path = folder / "publisher.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def deployment(
    pki: Pki, database_url: str, relay_port: int, resolver: str, base_url: str
) -> dict[str, object]:
    return {
        "database_url": database_url,
        "base_url": base_url,
        "from": FROM,
        "smtp_host": "127.0.0.1",
        "smtp_port": relay_port,
        "smtp_tls": "starttls",
        "smtp_ca_file": pki.ca_file,
        "smtp_username": RELAY_USER,
        "smtp_password": RELAY_PASSWORD,
        "dkim_domain": DOMAIN,
        "dkim_selector": SELECTOR,
        "dkim_key_path": pki.dkim_key,
        "check_sending_ips": ["127.0.0.1"],
        "dns_resolver": resolver,
        "dns_timeout": 3,
    }


def check(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), "check", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


@pytest.fixture
def servers(
    pki: Pki, configure: Configure, store: tuple[str, object], trusted_ca: None
) -> Iterator[tuple[int, str, str]]:
    """(relay port, dns_resolver, base_url) of a correct deployment, all running."""
    with (
        relay(pki) as (port, handler),
        dnsmasq(good_records(pki.dkim_record)) as resolver,
        site(pki, configure, store[1]) as settings,
    ):
        yield port, resolver, settings.base_url
    assert handler.data_calls == 0


def test_a_correct_deployment_prints_only_ticks_and_exits_0(
    pki: Pki, store: tuple[str, object], servers: tuple[int, str, str], tmp_path: Path
) -> None:
    config = write_config(tmp_path, **deployment(pki, store[0], *servers))
    code, out = check(config)
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.startswith(" ")]
    assert lines and all(line.startswith(" ✓ ") for line in lines), out
    for expected in (
        "secret key",
        "base_url",
        "database",
        "relay",
        "TLS",
        "login",
        "senders",
        "SMTPUTF8",
        f"SPF {DOMAIN}",
        "DKIM",
        "DMARC",
        f"MX {DOMAIN}",
        "one-click unsubscribe",
    ):
        assert f"✓ {expected}:" in out, expected
    assert "✗" not in out and "!" not in out.replace("!=", "")


def test_a_broken_deployment_prints_each_cross_with_its_fix_and_exits_1(
    pki: Pki,
    store: tuple[str, object],
    servers: tuple[int, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, resolver, base_url = servers
    values = deployment(pki, store[0], port, resolver, base_url.replace("https://", "http://"))
    values["smtp_password"] = "wrong-password-for-the-relay"
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", "change-me")
    code, out = check(write_config(tmp_path, **values), "--skip-web")
    assert code == 1
    assert "✗ secret key: secret_key is a value published with publisher" in out
    assert "✗ base_url: http://127.0.0.1" in out
    assert "✗ login: the relay refuses the login of novice" in out
    assert "→ check smtp_username and smtp_password" in out
    assert "wrong-password-for-the-relay" not in out
    assert "✓ one-click unsubscribe" not in out and "The site" not in out, "--skip-web skips it"


def test_json_output_lists_every_check_with_status_detail_and_fix(
    pki: Pki, store: tuple[str, object], tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, **deployment(pki, store[0], 1, "127.0.0.1:1", "https://novice.obcina.test")
    )
    code, out = check(config, "--json", "--skip-dns", "--skip-web")
    found = json.loads(out)
    assert code == 1
    assert {item["group"] for item in found} == {"settings", "smtp"}
    relay_line = next(item for item in found if item["name"] == "relay")
    assert relay_line["status"] == "fail" and "cannot be reached" in relay_line["detail"]
    assert set(relay_line) == {"group", "name", "status", "detail", "fix"}


def test_what_a_dns_server_says_is_shown_not_obeyed_by_the_terminal(
    pki: Pki, store: tuple[str, object], tmp_path: Path
) -> None:
    hostile = "v=spf1 \x1b]0;owned\x07 [red]x[/red] -all"
    records = [txt(DOMAIN, hostile), *good_records(pki.dkim_record)[1:]]
    with dnsmasq(records) as resolver:
        config = write_config(
            tmp_path, **deployment(pki, store[0], 1, resolver, "https://novice.obcina.test")
        )
        _code, out = check(config, "--skip-smtp", "--skip-web")
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;owned" in out
    assert "[red]x[/red]" in out, "Rich markup in outside text is shown as written"
