"""A start that fails leaves nothing a second run trips over: an incomplete installation or a
place that cannot be written is found before anything is written, and a demo stopped halfway
(its port taken) finishes the job when it is run again."""

from __future__ import annotations

import socket
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher import resources
from publisher.cli import app
from tests.test_demo import caught, demo_env, free_port

runner = CliRunner()


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory, where the SQLite database and its secret would be written."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PUBLISHER_SECRET_KEY")  # demo and init make one beside the database
    return tmp_path


@pytest.mark.parametrize(
    ("missing", "command"),
    [
        ("STATIC_DIR", ["demo", "--no-serve"]),
        ("SAMPLES_DIR", ["demo", "--no-serve"]),
        ("LOCALE_DIR", ["serve"]),
        ("MIGRATIONS_DIR", ["init"]),
    ],
)
def test_an_incomplete_installation_stops_before_anything_is_written(
    empty_folder: Path, monkeypatch: pytest.MonkeyPatch, missing: str, command: list[str]
) -> None:
    gone = empty_folder / "site-packages" / "publisher" / missing.lower()
    there = getattr(resources, missing)
    monkeypatch.setattr(resources, missing, gone)
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "Installation incomplete" in result.output
    assert str(gone) in result.output.replace("\n", "")
    assert "Nothing was written" in result.output
    assert list(empty_folder.iterdir()) == [], "no database, no secret key file"

    monkeypatch.setattr(resources, missing, there)  # the installation made whole again
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0, again.output
    assert "ready" in again.output
    assert "Made a random secret key" in again.output


def test_a_place_that_cannot_be_written_is_named_without_a_traceback(
    empty_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (empty_folder / "data").write_text("a file where the database's folder should be")
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{empty_folder}/data/publisher.db")
    for command in (["demo", "--no-serve"], ["init"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert "data" in result.output and "File exists" in result.output
    assert [path.name for path in empty_folder.iterdir()] == ["data"]


def test_a_demo_stopped_halfway_finishes_when_run_again(tmp_path: Path) -> None:
    web_port, smtp_port = free_port(), free_port()
    env = demo_env(web_port, smtp_port)
    command = [sys.executable, "-m", "publisher", "demo", "--no-serve"]

    with socket.socket() as taken:  # another program holds the site's port
        taken.bind(("127.0.0.1", web_port))
        taken.listen()
        first = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    assert first.returncode != 0
    assert f"could not start on 127.0.0.1:{web_port}" in first.stderr.replace("\n", " ")
    assert "12 imported" in first.stdout  # the store was written before the port was tried
    assert caught(tmp_path) == []

    second = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 imported, 0 updated, 12 unchanged" in second.stdout
    messages = caught(tmp_path)
    assert len(messages) >= 5, "this week's digest went out on the second run"
    recipients = [message_from_bytes(raw, policy=policy.default)["To"] for raw in messages]
    assert len(recipients) == len(set(recipients)), "one copy per resident"
