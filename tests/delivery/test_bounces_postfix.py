"""The whole way round with a real Postfix as the relay: it accepts every copy, the "remote"
behind it refuses some, Postfix writes real DSNs to each copy's VERP address, its LMTP client
hands them to `publisher bounces listen` (the real command), and the next edition skips the
addresses that were suppressed."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.delivery.models import Bounce
from publisher.subscribers.models import SuppressionReason
from tests.delivery.bounce_support import (
    BOUNCE_DOMAIN,
    add_week,
    copies,
    send_edition,
    suppressed,
)
from tests.delivery.postfix_support import Postfix, postfix_missing
from tests.delivery.sending_support import (
    PERIOD,
    SmtpServer,
    cli_env,
    free_port,
    settings_for,
    start_cli,
    stock,
)

pytestmark = pytest.mark.skipif(postfix_missing() is not None, reason=str(postfix_missing()))

UNKNOWN = ("obcan0001@example.org", "obcan0002@example.org")
FULL_FOR_GOOD = "obcan0003@example.org"  # 552 5.2.2: Postfix bounces it at once
FULL_FOR_NOW = "obcan0004@example.org"  # 452 4.2.2 on every try: bounced when its time is up


def wait_until(condition: Callable[[], bool], what: str, timeout: float, log: Callable[[], str]):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s; Postfix's log:\n{log()[-4000:]}")
        time.sleep(0.2)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def bounces_of(engine: Engine, address: str) -> list[Bounce]:
    with Session(engine) as session:
        return list(session.execute(select(Bounce).where(Bounce.address == address)).scalars())


def test_postfix_dsns_reach_bounces_listen_and_suppress_the_unknown(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    addresses = stock(engine, 8)
    with SmtpServer() as remote:
        for address in UNKNOWN:
            remote.handler.script.rcpt[address] = ["550 5.1.1 no such user here"] * 5
        remote.handler.script.rcpt[FULL_FOR_GOOD] = ["552 5.2.2 mailbox full"] * 5
        remote.handler.script.rcpt[FULL_FOR_NOW] = ["452 4.2.2 mailbox full, try later"] * 500
        lmtp_port = free_port()
        postfix = Postfix(
            port=free_port(),
            remote_port=remote.port,
            relay_domain=BOUNCE_DOMAIN,
            lmtp_port=lmtp_port,
        )
        listener = start_cli(
            "bounces",
            "listen",
            "--lmtp",
            "--port",
            str(lmtp_port),
            env=cli_env(database_url, postfix.port, PUBLISHER_BOUNCE_DOMAIN=BOUNCE_DOMAIN),
            cwd=tmp_path,
        )
        try:
            wait_until(
                lambda: listening(lmtp_port) or listener.poll() is not None,
                "bounces listen did not start",
                30,
                lambda: "",
            )
            assert listener.poll() is None, listener.communicate()
            with postfix:
                wait_until(
                    lambda: listening(postfix.port), "Postfix did not listen", 30, postfix.maillog
                )
                settings = settings_for(database_url, postfix.port, bounce_domain=BOUNCE_DOMAIN)
                job_id = send_edition(engine, settings, PERIOD)
                sent = copies(engine, job_id)
                assert {row.status for row in sent.values()} == {"sent"}  # Postfix took all

                def soft(address: str) -> bool:
                    return any(b.kind == "soft" for b in bounces_of(engine, address))

                wait_until(
                    lambda: (
                        all(suppressed(engine, a) for a in UNKNOWN)
                        and soft(FULL_FOR_GOOD)
                        and soft(FULL_FOR_NOW)
                    ),
                    "the DSNs were not all recorded",
                    90,
                    postfix.maillog,
                )
            good = set(addresses) - {*UNKNOWN, FULL_FOR_GOOD, FULL_FOR_NOW}
            assert good <= set(remote.handler.per_recipient())
        finally:
            listener.terminate()
            out, err = listener.communicate(timeout=30)

    for address in UNKNOWN:
        assert suppressed(engine, address) is SuppressionReason.hard_bounce
        [bounce] = bounces_of(engine, address)
        assert (bounce.kind, bounce.status, bounce.source) == ("hard", "5.1.1", "lmtp")
        assert "no such user here" in bounce.diagnostic
        assert bounce.delivery_id == sent[address].id and bounce.job_id == job_id
        assert b"multipart/report" in bounce.raw
    [full] = bounces_of(engine, FULL_FOR_GOOD)
    assert (full.kind, full.status) == ("soft", "5.2.2")
    later = bounces_of(engine, FULL_FOR_NOW)
    assert {b.kind for b in later} <= {"soft", "delayed"}
    assert [b.status for b in later if b.kind == "soft"] == ["4.2.2"]
    # Counted, not yet suppressed: one soft bounce each.
    assert suppressed(engine, FULL_FOR_GOOD) is None and suppressed(engine, FULL_FOR_NOW) is None
    for address in good:
        assert bounces_of(engine, address) == []
    # The command reports each recipient's message as it handles it.
    assert out.count(": recorded") >= 4, out + err
    assert f"{sent[UNKNOWN[0]].id}-" in out

    # The next edition goes to everyone but the suppressed.
    add_week(engine, "2025-W11", datetime(2025, 3, 11, 9))
    with SmtpServer() as remote:
        next_job = send_edition(
            engine, settings_for(database_url, remote.port, bounce_domain=BOUNCE_DOMAIN), "2025-W11"
        )
    assert set(copies(engine, next_job)) == set(addresses) - set(UNKNOWN)
