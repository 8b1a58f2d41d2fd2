"""The README's main command, as a newcomer runs it: everything works, and mail really arrives."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import feedparser
import httpx

from publisher.delivery.catcher import MailStore

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_env(web_port: int, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env.update(
        {
            "PUBLISHER_BASE_URL": f"http://127.0.0.1:{web_port}",
            "PUBLISHER_SMTP_PORT": str(smtp_port),
            "PYTHONPATH": str(REPO),
            "COLUMNS": "200",
        }
    )
    return env


def caught(folder: Path) -> list[bytes]:
    store = MailStore(folder / "mailcatcher.db")
    return [store.get(summary.id).raw for summary in store.list(limit=1000)]


def test_demo_sends_this_weeks_digest_serves_the_site_and_is_safe_to_repeat(
    tmp_path: Path,
) -> None:
    web_port, smtp_port = free_port(), free_port()
    env = demo_env(web_port, smtp_port)
    demo = subprocess.Popen(
        [sys.executable, "-m", "publisher", "demo"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        assert demo.stdout is not None
        while not any("Ctrl+C stops" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            line = demo.stdout.readline()
            if not line and demo.poll() is not None:
                raise AssertionError("".join(lines) + (demo.stderr.read() if demo.stderr else ""))
            lines.append(line)
        output = "".join(lines)
        assert "0 rejected" in output
        base = f"http://127.0.0.1:{web_port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            mail_page = client.get("/dev/mail/")
            assert mail_page.status_code == 200
            assert "Tedenske novice" in mail_page.text
            feed = feedparser.parse(client.get("/feeds/atom.xml").content)
            assert not feed.bozo and len(feed.entries) >= 10
            assert feed.feed.language == "sl"
            archive_path = next(
                line.split()[-1] for line in lines if "This digest:" in line
            ).replace(env["PUBLISHER_BASE_URL"], "")
            assert client.get(archive_path).status_code == 200
            assert client.get("/").status_code == 200
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=30)
    assert demo.returncode == 0
    secret_file = tmp_path / "publisher.db.secret"  # no secret configured: one was made
    assert secret_file.stat().st_mode & 0o777 == 0o600
    secret = secret_file.read_text()
    assert len(secret.strip()) >= 32

    messages = [message_from_bytes(raw, policy=policy.default) for raw in caught(tmp_path)]
    assert len(messages) >= 5
    subjects = {message["Subject"] for message in messages}
    assert subjects <= {"Tedenske novice, 17.–23. marec 2025", "Weekly news, 17–23 March 2025"}
    assert "Tedenske novice, 17.–23. marec 2025" in subjects
    first = messages[0]
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"http://127.0.0.1:{web_port}/unsubscribe/" in first["List-Unsubscribe"]
    recipients = [message["To"].addresses[0].addr_spec for message in messages]
    assert len(recipients) == len(set(recipients)), "one copy per resident"

    again = subprocess.run(
        [sys.executable, "-m", "publisher", "demo", "--no-serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert "0 imported, 0 updated, 12 unchanged" in again.stdout
    assert "nothing is sent twice" in again.stdout
    # Nothing listens now: the links are promised for `publisher serve`, with the command.
    assert "Where to look\n" not in again.stdout and "Ctrl+C stops them" not in again.stdout
    assert f"When you run `publisher serve --dev-smtp --port {web_port}`" in again.stdout
    assert len(caught(tmp_path)) == len(messages)
    assert secret_file.read_text() == secret  # reused: the links already mailed still work
    listed = json.loads(
        subprocess.run(
            [sys.executable, "-m", "publisher", "articles", "list", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
        ).stdout
    )
    assert len(listed) == 12 and all(article["topics"] for article in listed)
