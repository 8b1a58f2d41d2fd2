"""Two ``publisher serve`` processes on one database: exactly one runs the scheduled jobs, and
the other takes over when it dies; a third, started with ``--no-jobs``, never takes them.

Both start a few minutes after a digest was due (a run owed from while no server ran): one
of them runs it, once; the other says it stands by. Killing the first (``kill -9``: no
goodbye) makes the second take the jobs within a few polls.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.clock import local_now
from publisher.db import make_engine
from publisher.digests.models import Edition
from publisher.jobs import Leadership
from tests.delivery.sending_support import (
    LIST,
    LJUBLJANA,
    SmtpServer,
    cli_env,
    free_port,
    start_cli,
    stock,
)
from tests.feeds.helpers import draft, save
from tests.web.admin_support import wait_until

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Server:
    """A ``publisher serve`` subprocess whose console lines are collected as they come."""

    def __init__(self, env: dict[str, str], cwd: Path, *options: str) -> None:
        port = str(free_port())
        self.process = start_cli("serve", "--port", port, *options, env=env, cwd=cwd)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(how)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def test_two_servers_run_each_scheduled_job_once_and_the_survivor_takes_over(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    due = (local_now(LJUBLJANA) - timedelta(minutes=3)).replace(second=0, microsecond=0)
    addresses = stock(engine, 6)
    save(engine, draft(100, title="Zapora Ljubljanske ceste", published_at=due))
    config = tmp_path / "publisher.toml"
    config.write_text(
        f'[[schedule]]\nlist = "{LIST}"\nday = "{DAYS[due.weekday()]}"\n'
        f'time = "{due:%H:%M}"\napproval = false\n',
        encoding="utf-8",
    )
    with SmtpServer() as smtp:
        env = cli_env(
            database_url,
            smtp.port,
            PUBLISHER_CONFIG=str(config),
            PUBLISHER_JOBS_POLL="0.5",
            PUBLISHER_JOBS_RESUME_EVERY="0.5",
        )
        servers = [Server(env, tmp_path), Server(env, tmp_path)]
        web_only = Server(env, tmp_path, "--no-jobs")  # an extra web process
        try:
            wait_until(lambda: all(server.said("Jobs: ") for server in servers), 30, "both decide")
            leaders = [s for s in servers if s.said("this process runs the scheduled jobs")]
            standing_by = [s for s in servers if s.said("this one stands by")]
            assert len(leaders) == 1 and len(standing_by) == 1, [s.lines for s in servers]
            leader, other = leaders[0], standing_by[0]
            wait_until(lambda: leader.said("Schedule: "), 30, "the owed run")
            wait_until(
                lambda: sorted(smtp.handler.per_recipient()) == sorted(addresses), 60, "sent"
            )

            leader.stop(signal.SIGKILL)
            wait_until(lambda: other.said("this process runs the scheduled jobs"), 30, "takeover")
            assert web_only.process.poll() is None and not web_only.said("Jobs: ")
        finally:
            for server in [*servers, web_only]:
                server.stop()
        assert web_only.said("Serving") and not web_only.said("Jobs: ")
        runs = [line for server in servers for line in server.lines if "Schedule: " in line]
        assert len(runs) == 1, runs  # the survivor owes nothing: the edition exists
        assert "approved" in runs[0]
    with Session(engine) as session:
        assert len(session.exec(select(Edition)).all()) == 1
    assert set(smtp.handler.per_recipient().values()) == {1}


def test_one_process_holds_the_jobs_and_holding_them_keeps_no_transaction_open(
    engine: Engine, database_url: str
) -> None:
    first, second = Leadership(make_engine(database_url)), Leadership(make_engine(database_url))
    try:
        assert first.try_take() and first.try_take()  # taken, then still held
        assert not second.try_take()
        if engine.dialect.name == "postgresql":
            held = first._connection
            assert held is not None
            pid = held.execute(text("SELECT pg_backend_pid()")).scalar_one()
            with engine.connect() as look:
                state = look.execute(
                    text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                ).scalar_one()
            assert state == "idle"  # not "idle in transaction": VACUUM is not held back
        first.release()
        assert second.try_take()
    finally:
        first.release()
        second.release()
        first.engine.dispose()
        second.engine.dispose()
