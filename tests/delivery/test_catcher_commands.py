"""``publisher mailcatcher`` and ``publisher serve --dev-smtp`` as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from publisher.cli import app
from tests.conftest import TEST_SECRET
from tests.delivery.catcher_support import free_port, send, utf8_message

REPO = Path(__file__).resolve().parents[2]
SENDER = "novice@novomesto.example.org"


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """Only the settings a test names: never the developer's PUBLISHER_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env = {
        **clean,
        "PYTHONPATH": str(REPO),
        "PUBLISHER_DATABASE_URL": f"sqlite:///{tmp_path / 'publisher.db'}",
        "PUBLISHER_SECRET_KEY": TEST_SECRET,
    }
    env.update({f"PUBLISHER_{key.upper()}": value for key, value in settings.items()})
    return env


@contextmanager
def running(args: list[str], cwd: Path, env: dict[str, str], ready_url: str) -> Iterator[None]:
    """Start ``publisher ARGS``, wait (bounded) until ``ready_url`` answers, Ctrl+C it after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        give_up = time.monotonic() + 20
        while True:
            try:
                httpx.get(ready_url, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    out, err = process.communicate()
                    pytest.fail(f"publisher {' '.join(args)} exited early:\n{out}\n{err}")
                assert time.monotonic() < give_up, f"{ready_url} did not answer within 20 s"
                time.sleep(0.05)
        yield
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl+C does
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, f"{out}\n{err}"


def test_mailcatcher_command_serves_smtp_and_page_and_keeps_mail_across_restarts(
    tmp_path: Path,
) -> None:
    smtp_port, http_port = free_port(), free_port()
    args = ["mailcatcher", "--smtp-port", str(smtp_port), "--http-port", str(http_port)]
    page = f"http://127.0.0.1:{http_port}/"
    env = environment(tmp_path)

    with running(args, tmp_path, env, page):
        data = utf8_message("Prvi zagon – čšž")
        send(smtp_port, [(SENDER, ["ana@example.org"], data)])
        assert "Prvi zagon – čšž" in httpx.get(page).text
    assert (tmp_path / "mailcatcher.db").is_file()

    with running(args, tmp_path, env, page):
        listing = httpx.get(page).text
        assert "Prvi zagon – čšž" in listing
        assert httpx.get(page + "messages/1/raw.eml").content == data


def test_serve_dev_smtp_catches_mail_and_shows_it_at_dev_mail(tmp_path: Path) -> None:
    smtp_port, http_port = free_port(), free_port()
    env = environment(tmp_path, smtp_port=str(smtp_port))
    subprocess.run([sys.executable, "-m", "publisher", "init"], cwd=tmp_path, env=env, check=True)
    site = f"http://127.0.0.1:{http_port}"

    with running(["serve", "--port", str(http_port), "--dev-smtp"], tmp_path, env, site + "/"):
        send(smtp_port, [(SENDER, ["ana@example.org"], utf8_message("Iz demo strani"))])
        listing = httpx.get(site + "/dev/mail/")
        assert listing.status_code == 200
        assert "Iz demo strani" in listing.text
        assert 'href="/dev/mail/messages/1"' in listing.text
        assert "nič od tega ni bilo dostavljeno" in listing.text
        assert httpx.get(site + "/").status_code == 200  # the site itself is unchanged
        text = httpx.get(site + "/dev/mail/messages/1", params={"view": "text"})
        assert "Pozdravljeni, Ana Žagar!" in text.text
    assert (tmp_path / "mailcatcher.db").is_file()


def test_serve_without_dev_smtp_has_no_catcher(tmp_path: Path) -> None:
    http_port = free_port()
    env = environment(tmp_path)
    subprocess.run([sys.executable, "-m", "publisher", "init"], cwd=tmp_path, env=env, check=True)
    site = f"http://127.0.0.1:{http_port}"
    with running(["serve", "--port", str(http_port)], tmp_path, env, site + "/"):
        assert httpx.get(site + "/dev/mail/").status_code == 404
    assert not (tmp_path / "mailcatcher.db").exists()


runner = CliRunner()


def test_mailcatcher_refuses_a_production_relay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_SMTP_HOST", "smtp.example.org")
    result = runner.invoke(app, ["mailcatcher", "--smtp-port", str(free_port())])
    assert result.exit_code == 1
    assert "loopback" in result.stderr and "smtp.example.org" in result.stderr
    assert not (tmp_path / "mailcatcher.db").exists()


def test_dev_smtp_refuses_a_public_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'publisher.db'}")
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--dev-smtp"])
    assert result.exit_code == 1
    assert "--dev-smtp shows every caught message" in result.stderr
