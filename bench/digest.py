"""Freeze and send one edition to N generated subscribers, end to end, through a fast sink.

    python bench/digest.py [--subscribers 100000] [--pg postgresql://postgres@127.0.0.1/test]
                           [--naive 40] [--skip-sqlite] [--skip-signed]

Everything is measured in the same run, against the same sink (a minimal asyncio SMTP server
in its own process, faster than our sender, unlike aiosmtpd):
  - the ceiling: pre-serialised message bytes over one smtplib connection;
  - the naive sender: render + premailer + EmailMessage per recipient, one smtplib connection;
  - ours: approve (freeze recipients, one INSERT … SELECT) then ``publisher worker`` processes
    (1 on SQLite; 1 and 2 on PostgreSQL) until the edition is done, ledger updates included
    (each copy's outcome committed before its connection sends the next copy);
  - ours again with DKIM: one SQLite worker signing every copy with an RSA-2048 key.
It prints messages/s, the ratios, and each worker's peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import os
import secrets
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, literal, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from support import migrated, postgres_schema  # noqa: E402

from publisher.articles.drafts import ArticleDraft  # noqa: E402
from publisher.articles.store import save_draft  # noqa: E402
from publisher.clock import utcnow  # noqa: E402
from publisher.config import load_settings  # noqa: E402
from publisher.db import session_scope  # noqa: E402
from publisher.delivery.models import Delivery, JobState, SendJob  # noqa: E402
from publisher.digests.content import compose, sample_recipient  # noqa: E402
from publisher.digests.editions import approve  # noqa: E402
from publisher.digests.periods import parse_period  # noqa: E402
from publisher.subscribers.lists import create_list, get_list  # noqa: E402
from publisher.subscribers.models import (  # noqa: E402
    Subscriber,
    Subscription,
    new_token_uid,
)

TZ = ZoneInfo("Europe/Ljubljana")
PERIOD = "2025-W10"
LIST = "tedenske-novice"
ARTICLES = 8
SECRET_KEY = secrets.token_urlsafe(48)
"""The workers sign every copy's links; any long random key will do for a benchmark."""
"""A realistic weekly digest: eight short municipal news items."""


# --- the sink ---------------------------------------------------------------------------------


def run_sink(port: int, received: multiprocessing.Value) -> None:  # type: ignore[type-arg]
    """A minimal SMTP server: enough of the protocol for smtplib and aiosmtplib, no parsing."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        count = 0
        while True:
            line = await reader.readline()
            if not line:
                break
            command = line[:4].upper()
            if command == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                while (await reader.readline()) not in (b".\r\n", b""):
                    pass
                writer.write(b"250 2.0.0 ok\r\n")
                count += 1
                if count % 100 == 0:
                    with received.get_lock():
                        received.value += 100
                    count = 0
            elif command == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            elif command in (b"EHLO", b"HELO"):
                writer.write(b"250-sink\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        with received.get_lock():
            received.value += count
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=256)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the store ----------------------------------------------------------------------------------


def stock(engine: Engine, subscribers: int) -> None:
    """Three articles in the week, one list, N confirmed subscribers (bulk, set-based)."""
    with session_scope(engine) as session:
        for n in range(ARTICLES):
            save_draft(
                session,
                ArticleDraft(
                    external_id=f"bench:{n}",
                    title=f"Obnova ceste in pločnikov v Šmihelu, {n + 1}. faza",
                    published_at=datetime(2025, 3, 3 + n % 7, 9 + n, tzinfo=TZ),
                    body_html="<p>" + "Dela bodo potekala v dveh fazah. " * 20 + "</p>",
                    body_text="Dela bodo potekala v dveh fazah. " * 20,
                    summary="Dela bodo potekala v dveh fazah, promet bo urejen izmenično. " * 2,
                ),
            )
        create_list(session, LIST, "Tedenske novice")
    now = utcnow()
    subscriber = Subscriber.__table__  # type: ignore[attr-defined]
    subscription = Subscription.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        for start in range(0, subscribers, 10_000):
            rows = []
            for n in range(start, min(start + 10_000, subscribers)):
                email = f"obcan{n:06d}@example.org"
                rows.append(
                    {
                        "email": email,
                        "email_key": email,
                        "address_hash": hashlib.sha256(email.encode()).hexdigest(),
                        "token_uid": new_token_uid(),
                        "name": f"Občan Številka {n}",
                        "language": "en" if n % 10 == 0 else "sl",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            connection.execute(insert(subscriber), rows)
        list_id = connection.execute(text("SELECT id FROM mailing_list")).scalar_one()
        connection.execute(
            insert(subscription).from_select(
                [
                    "subscriber_id",
                    "list_id",
                    "status",
                    "source",
                    "created_at",
                    "confirmed_at",
                    "updated_at",
                ],
                select(
                    subscriber.c.id,
                    literal(list_id),
                    literal("confirmed"),
                    literal("import"),
                    literal(now, type_=subscription.c.created_at.type),
                    literal(now, type_=subscription.c.created_at.type),
                    literal(now, type_=subscription.c.created_at.type),
                ),
            )
        )


def approve_edition(engine: Engine, settings) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    with Session(engine) as session:
        edition = approve(
            session, settings, get_list(session, LIST), parse_period(PERIOD), approved_by="bench"
        )
        session.commit()
        return int(edition.job_id or 0), time.perf_counter() - start


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def dkim_env(folder: Path) -> dict[str, str]:
    """Settings that make a worker sign every copy with a fresh RSA-2048 key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "dkim.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return {
        "PUBLISHER_DKIM_DOMAIN": "example.org",
        "PUBLISHER_DKIM_SELECTOR": "bench",
        "PUBLISHER_DKIM_KEY_PATH": str(path),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far: steadier than a rate on a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_workers(
    engine: Engine, url: str, port: int, job_id: int, workers: int, extra: dict[str, str]
) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env.update(
        {
            "PUBLISHER_DATABASE_URL": url,
            "PUBLISHER_SMTP_PORT": str(port),
            "PUBLISHER_SECRET_KEY": SECRET_KEY,
            "PUBLISHER_DELIVERY_BATCH": os.environ.get("BENCH_BATCH", "500"),
            "PUBLISHER_SMTP_POOL": os.environ.get("BENCH_POOL", "16"),
            "PYTHONPATH": str(REPO),
            **extra,
        }
    )
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "publisher", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    peaks = [0.0] * workers
    try:
        while True:
            time.sleep(0.5)
            for index, process in enumerate(processes):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"worker died: {process.stderr.read() if process.stderr else ''}"
                    )
                peaks[index] = max(peaks[index], peak_rss_mb(process.pid))
            with Session(engine) as session:
                job = session.get(SendJob, job_id)
                if job is not None and job.state in (JobState.done, JobState.done.value):
                    break
        wall = time.perf_counter() - start
        cpu = sum(cpu_seconds(process.pid) for process in processes)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    with Session(engine) as session:
        delivery = Delivery.__table__  # type: ignore[attr-defined]
        sent, first, last = session.execute(
            select(func.count(), func.min(delivery.c.sent_at), func.max(delivery.c.sent_at)).where(
                delivery.c.job_id == job_id, delivery.c.status == "sent"
            )
        ).one()
    sending = (last - first).total_seconds() if first and last else float("nan")
    return {
        "sent": sent,
        "wall": wall,
        "sending": sending,
        "rate": sent / sending,
        "peak_mb": max(peaks),
        "cpu_per_copy": cpu / sent if sent else float("nan"),
    }


# --- baselines ---------------------------------------------------------------------------


def sample_message(settings, engine: Engine) -> bytes:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        from publisher.digests.content import articles_for

        mailing_list = get_list(session, LIST)
        period = parse_period(PERIOD)
        articles = articles_for(session, mailing_list, period, settings)
        composed = compose(settings, mailing_list, period, articles, "sl")
        return composed.template.fill(
            sample_recipient(settings, mailing_list, period), now=datetime.now(UTC)
        )


def ceiling(port: int, data: bytes, count: int = 3000) -> float:
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for n in range(count):
            client.sendmail("novice@example.org", [f"obcan{n}@example.org"], data)
    return count / (time.perf_counter() - start)


def naive(port: int, settings, engine: Engine, count: int) -> float:  # type: ignore[no-untyped-def]
    """Per recipient: render the templates, run premailer, build the MIME message, send."""
    from publisher.digests.content import articles_for

    with Session(engine) as session:
        mailing_list = get_list(session, LIST)
        period = parse_period(PERIOD)
        articles = articles_for(session, mailing_list, period, settings)
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port) as client:
            for n in range(count):
                composed = compose(settings, mailing_list, period, articles, "sl")
                recipient = sample_recipient(settings, mailing_list, period)
                data = composed.template.fill(recipient, now=datetime.now(UTC))
                client.sendmail("novice@example.org", [f"obcan{n}@example.org"], data)
        return count / (time.perf_counter() - start)


# --- backends ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("PUBLISHER_TEST_DATABASE_URL"))
    parser.add_argument("--naive", type=int, default=40)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-signed", action="store_true", help="no RSA-2048 DKIM run")
    args = parser.parse_args()

    port = free_port()
    received = multiprocessing.Value("q", 0)
    sink = multiprocessing.Process(target=run_sink, args=(port, received), daemon=True)
    sink.start()
    time.sleep(0.5)

    runs: list[tuple[str, int, bool]] = []
    if not args.skip_sqlite:
        runs.append(("sqlite", 1, False))
        if not args.skip_signed:
            runs.append(("sqlite", 1, True))
    if args.pg:
        runs += [("postgresql", 1, False), ("postgresql", 2, False)]

    results = []
    rates: dict[tuple[str, int, bool], tuple[float, float]] = {}
    measured_baselines = False
    with tempfile.TemporaryDirectory() as tmp:
        for backend, workers, signed in runs:
            folder = Path(tmp) / f"{backend}-{workers}{'-signed' if signed else ''}"
            folder.mkdir()
            store = (
                postgres_schema(args.pg)
                if backend == "postgresql"
                else nullcontext(f"sqlite:///{folder / 'bench.db'}")
            )
            with store as url, migrated(url) as engine:
                settings = load_settings(database_url=url, smtp_port=port)
                start = time.perf_counter()
                stock(engine, args.subscribers)
                stocked = time.perf_counter() - start
                if not measured_baselines:
                    data = sample_message(settings, engine)
                    top = ceiling(port, data)
                    slow = naive(port, settings, engine, args.naive)
                    measured_baselines = True
                    print(f"message: {len(data) / 1024:.1f} KiB")
                    print(f"ceiling (smtplib, 1 connection, pre-serialised): {top:8.0f} msg/s")
                    print(f"naive (premailer + EmailMessage per recipient):  {slow:8.1f} msg/s")
                job_id, freeze = approve_edition(engine, settings)
                # The machine is noisy: measure the ceiling again right before each run and
                # compare the run with the ceiling of its own moment.
                top = ceiling(port, data)
                extra = dkim_env(folder) if signed else {}
                outcome = run_workers(engine, url, port, job_id, workers, extra)
                results.append((backend, workers, stocked, freeze, outcome))
                rates[(backend, workers, signed)] = (outcome["rate"], top)
                print(
                    f"{backend:<10} {workers} worker(s){' RSA-2048 DKIM' if signed else ''}: "
                    f"{outcome['sent']:,} sent; "
                    f"freeze+compose {freeze:.2f} s; sending {outcome['sending']:.1f} s "
                    f"= {outcome['rate']:,.0f} msg/s "
                    f"({outcome['rate'] / top:.0%} of a ceiling of {top:,.0f} msg/s, "
                    f"{outcome['rate'] / slow:,.0f}x naive);"
                    f" wall {outcome['wall']:.1f} s; peak RSS {outcome['peak_mb']:.0f} MB;"
                    f" worker CPU {outcome['cpu_per_copy'] * 1e6:.0f} µs a copy"
                )
    sink.terminate()
    if ("sqlite", 1, True) in rates and ("sqlite", 1, False) in rates:
        (plain, plain_top), (signed_rate, signed_top) = (
            rates[("sqlite", 1, False)],
            rates[("sqlite", 1, True)],
        )
        print(
            f"RSA-2048 signing / unsigned, one worker: {signed_rate / plain:.0%} "
            f"(each against its own ceiling: {signed_rate / signed_top:.0%} / "
            f"{plain / plain_top:.0%})"
        )


if __name__ == "__main__":
    main()
