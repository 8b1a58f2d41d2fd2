"""Settings: defaults, file, environment, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.config import SettingsError, load_settings


@pytest.fixture
def in_empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(folder: Path, body: str) -> Path:
    path = folder / "config" / "publisher.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_are_slovenian_embedded_and_local(in_empty_dir: Path) -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///publisher.db"
    assert settings.timezone == "Europe/Ljubljana"
    assert settings.language == "sl"
    assert settings.smtp_host == "127.0.0.1"


def test_the_repository_config_file_is_valid_and_matches_defaults() -> None:
    # Run from the repository root (pytest's rootdir), where config/publisher.toml lives.
    settings = load_settings()
    assert settings.site_name == "Mestna občina Novo mesto"
    assert settings.from_address.endswith("<novice@novomesto.example.org>")


def test_file_is_read_and_environment_wins(in_empty_dir: Path, monkeypatch) -> None:
    write_config(in_empty_dir, 'site_name = "Občina Žužemberk"\nsmtp_port = 2525\n')
    assert load_settings().site_name == "Občina Žužemberk"
    monkeypatch.setenv("PUBLISHER_SMTP_PORT", "587")
    monkeypatch.setenv("PUBLISHER_FROM", "Novice <novice@example.org>")
    settings = load_settings()
    assert settings.smtp_port == 587
    assert settings.from_address == "Novice <novice@example.org>"


def test_publisher_config_points_to_another_file(in_empty_dir: Path, monkeypatch) -> None:
    other = in_empty_dir / "prod.toml"
    other.write_text('base_url = "https://novice.example.org/"\n', encoding="utf-8")
    monkeypatch.setenv("PUBLISHER_CONFIG", str(other))
    assert load_settings().base_url == "https://novice.example.org"


def test_unknown_key_in_file_is_named(in_empty_dir: Path) -> None:
    write_config(in_empty_dir, 'smtp_hots = "mail.example.org"\n')
    with pytest.raises(SettingsError, match=r"smtp_hots: unknown setting"):
        load_settings()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("PUBLISHER_DATABASE_URL", "mysql://x@y/z", "database_url"),
        ("PUBLISHER_DATABASE_URL", "not a url", "database_url"),
        ("PUBLISHER_BASE_URL", "novice.example.org", "base_url"),
        ("PUBLISHER_TIMEZONE", "Europe/Ljubljan", "timezone"),
        ("PUBLISHER_LANGUAGE", "de", "language"),
        ("PUBLISHER_SMTP_PORT", "99999", "smtp_port"),
        ("PUBLISHER_FROM", "Novice <a@b.org>\r\nBcc: x@y.org", "from"),
        ("PUBLISHER_SENDING_WINDOW", "7-21", "sending_window"),
        ("PUBLISHER_SENDING_WINDOW", "07:00-07:00", "sending_window"),
        ("PUBLISHER_PAUSE_FAILURE_RATE", "0", "pause_failure_rate"),
        ("PUBLISHER_REQUIRE_TWO_FACTOR", "approver,boss", "require_two_factor"),
        ("PUBLISHER_ACCESSIBILITY_CONTACT", "dostopnost pri občini", "accessibility_contact"),
        ("PUBLISHER_ACCESSIBILITY_CONTACT", "http://www.example.org/", "accessibility_contact"),
        ("PUBLISHER_ACCESSIBILITY_CHECKED", "2. 12. 2026", "accessibility_checked"),
    ],
)
def test_bad_values_fail_with_the_key_name(
    in_empty_dir: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: str, message: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_postgres_urls_use_psycopg3_and_passwords_are_masked(in_empty_dir, monkeypatch) -> None:
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", "postgresql://app:s3cret@db.example.org/novice")
    settings = load_settings()
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert "s3cret" not in settings.database_url_safe
    monkeypatch.setenv("PUBLISHER_SMTP_PASSWORD", "relay-pass")
    monkeypatch.setenv("PUBLISHER_SECRET_KEY", "very-secret-key")
    shown = load_settings().public_view()
    assert "relay-pass" not in str(shown) and "very-secret-key" not in str(shown)
    assert "s3cret" not in str(shown)
    assert shown["smtp_password"] == "********"


def test_dkim_settings_go_together_and_need_a_key_file(in_empty_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("PUBLISHER_DKIM_DOMAIN", "novomesto.example.org")
    with pytest.raises(SettingsError, match="set all three or none"):
        load_settings()
    monkeypatch.setenv("PUBLISHER_DKIM_SELECTOR", "novice2025")
    monkeypatch.setenv("PUBLISHER_DKIM_KEY_PATH", str(in_empty_dir / "missing.key"))
    with pytest.raises(SettingsError, match="not a readable file"):
        load_settings()


def test_two_factor_is_required_of_the_roles_named(in_empty_dir: Path, monkeypatch) -> None:
    assert load_settings().require_two_factor == ()  # the demo signs in with a password
    monkeypatch.setenv("PUBLISHER_REQUIRE_TWO_FACTOR", "approver, admin")
    assert load_settings().require_two_factor == ("approver", "admin")
    monkeypatch.delenv("PUBLISHER_REQUIRE_TWO_FACTOR")
    write_config(in_empty_dir, 'require_two_factor = ["admin"]\n')
    assert load_settings().require_two_factor == ("admin",)


def test_accessibility_problems_are_reported_to_the_from_address_unless_set(
    in_empty_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings()
    assert settings.accessibility_contact_in_force == "novice@novomesto.example.org"
    assert str(settings.accessibility_checked) == "2026-12-02"
    monkeypatch.setenv("PUBLISHER_ACCESSIBILITY_CONTACT", " dostopnost@novomesto.example.org ")
    assert load_settings().accessibility_contact_in_force == "dostopnost@novomesto.example.org"
    monkeypatch.setenv("PUBLISHER_ACCESSIBILITY_CONTACT", "https://www.example.org/pisite-nam")
    assert load_settings().accessibility_contact_in_force == "https://www.example.org/pisite-nam"
