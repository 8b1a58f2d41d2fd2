"""A send started in the admin survives a restart of ``publisher serve``: the new server process
resumes it by itself, nobody is lost, and nobody gets more than the copies that were in flight.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.db import session_scope
from publisher.digests.editions import EditionState, report
from publisher.digests.models import Edition
from publisher.staff.accounts import add_staff
from publisher.staff.models import Role
from tests.delivery.sending_support import (
    LIST,
    PERIOD,
    SmtpServer,
    cli_env,
    free_port,
    start_cli,
    stock,
)
from tests.web.admin_support import STAFF_EMAIL, STAFF_PASSWORD, login, token_for, wait_until

RECIPIENTS = 120
BATCH = 20


def start_server(env: dict[str, str], port: int, cwd: Path) -> subprocess.Popen[str]:
    server = start_cli("serve", "--port", str(port), env=env, cwd=cwd)

    def up() -> bool:
        assert server.poll() is None, server.communicate()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/admin/login").status_code == 200
        except httpx.TransportError:
            return False

    wait_until(up, 30, "publisher serve starts")
    return server


def edition_state(engine: Engine) -> EditionState | None:
    with Session(engine) as session:
        edition = session.exec(select(Edition)).first()
        return report(session, edition).state if edition else None


def test_a_send_interrupted_by_a_restart_of_serve_finishes_by_itself(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    addresses = stock(engine, RECIPIENTS)
    with session_scope(engine) as session:
        add_staff(session, STAFF_EMAIL, STAFF_PASSWORD, "Urednica Ana", Role.approver)
    port = free_port()
    with SmtpServer() as smtp:
        smtp.handler.script.delay = 0.05  # slow enough to restart in the middle
        env = cli_env(
            database_url,
            smtp.port,
            PUBLISHER_BASE_URL=f"http://127.0.0.1:{port}",
            PUBLISHER_DELIVERY_BATCH=str(BATCH),
            PUBLISHER_JOBS_POLL="0.5",
            PUBLISHER_JOBS_RESUME_EVERY="0.5",
        )
        server = start_server(env, port, tmp_path)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                assert login(client).status_code == 303
                started = client.post(
                    f"/admin/digests/{LIST}/{PERIOD}/approve",
                    data={"csrf_token": token_for(client), "confirm": "yes"},
                )
                assert started.status_code == 303
            wait_until(lambda: len(smtp.handler.received) >= 2 * BATCH, 60, "sending starts")
            server.send_signal(signal.SIGTERM)  # systemctl restart: stop, then start again
            server.wait(timeout=60)
            interrupted = len(smtp.handler.per_recipient())
            assert interrupted < RECIPIENTS, "the send finished before the restart"
            assert edition_state(engine) is EditionState.sending

            server = start_server(env, port, tmp_path)
            wait_until(
                lambda: edition_state(engine) is EditionState.sent, 120, "the edition finishes"
            )
        finally:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=30)

        received = smtp.handler.per_recipient()
        assert sorted(received) == sorted(addresses)  # nobody lost
        duplicates = sum(count - 1 for count in received.values())
        assert duplicates <= 2 * BATCH  # at most the copies in flight went twice
