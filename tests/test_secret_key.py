"""No known secret key: unset, ``init`` makes a random one beside the SQLite database, and
every command that signs links or sends mail refuses a short or published one, naming the
setting. (With a known key anyone could sign a preferences link and download or erase a
resident's data.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from publisher.config import load_settings, secret_file, weak_secret

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()

SIGNING_COMMANDS = [
    ["serve", "--port", "1"],
    ["worker"],
    ["digest", "send", "--list", "tedenske-novice", "--yes"],
]


@pytest.fixture
def sqlite_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite install in ``tmp_path`` with no secret key configured anywhere."""
    monkeypatch.delenv("PUBLISHER_SECRET_KEY")
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'publisher.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _published_secrets() -> set[str]:
    """Every secret written in the project's own README, settings file and docs."""
    found: set[str] = set()
    for path in [REPO / "README.md", REPO / "config" / "publisher.toml", *REPO.glob("docs/*.md")]:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"PUBLISHER_SECRET_KEY=[\"']?([^\s\"'`]+)", text))
        found |= set(re.findall(r"secret_key\s*=\s*\"([^\"]+)\"", text))
    return found | {"dev-only-insecure-secret-change-me"}


@pytest.mark.parametrize("command", SIGNING_COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize(
    "secret",
    [None, "short-but-random-8f3k", *sorted(_published_secrets())],
    ids=lambda s: "unset" if s is None else s[:24],
)
def test_signing_commands_refuse_a_missing_short_or_published_secret(
    sqlite_home: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], secret: str | None
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0  # a database, but no secret
    if secret is not None:
        monkeypatch.setenv("PUBLISHER_SECRET_KEY", secret)
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "secret_key" in result.output and "PUBLISHER_SECRET_KEY" in result.output
    assert "Traceback" not in result.output


def test_init_makes_a_random_secret_beside_the_database_and_reuses_it(sqlite_home: Path) -> None:
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    kept = sqlite_home / "publisher.db.secret"
    assert kept.stat().st_mode & 0o777 == 0o600
    secret = kept.read_text().strip()
    assert len(secret) >= 32 and str(kept) in first.output.replace("\n", "")

    assert runner.invoke(app, ["init"]).exit_code == 0
    assert kept.read_text().strip() == secret  # the links already mailed stay valid
    settings = load_settings()
    assert settings.secret == secret and weak_secret(settings) is None


def test_two_installs_get_different_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUBLISHER_SECRET_KEY")
    made = []
    for name in ("a", "b"):
        monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / name}.db")
        assert runner.invoke(app, ["init"]).exit_code == 0
        made.append((tmp_path / f"{name}.db.secret").read_text())
    assert made[0] != made[1]


def test_a_configured_secret_wins_and_no_file_is_made(sqlite_home: Path) -> None:
    assert runner.invoke(app, ["init"], env={"PUBLISHER_SECRET_KEY": "k" * 40}).exit_code == 0
    assert not (sqlite_home / "publisher.db.secret").exists()


def test_on_postgresql_init_says_the_secret_must_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLISHER_SECRET_KEY")
    assert secret_file("postgresql://postgres@127.0.0.1/test") is None
    problem = weak_secret(load_settings(database_url="postgresql://postgres@127.0.0.1/test"))
    assert problem is not None and "PUBLISHER_SECRET_KEY" in problem


def test_the_settings_file_ships_no_secret() -> None:
    text = (REPO / "config" / "publisher.toml").read_text(encoding="utf-8")
    assert not re.search(r"^secret_key\s*=", text, re.MULTILINE)
