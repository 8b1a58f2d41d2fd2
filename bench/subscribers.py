"""Subscriber import throughput and memory: N generated CSV rows into SQLite and PostgreSQL.

The file has 1 % bad rows (invalid addresses, unknown languages, line breaks in names) and
5 % duplicates (the same person again, typed differently). For each database, at a tenth of
N and at N, it prints the rows per second of ``publisher.subscribers.csv_import.import_csv``
for a first import and for a re-import of the same file, the max RSS growth of each (in a
fresh process), the Python heap peak of the import under tracemalloc (a separate, untimed
run: the same figure at both sizes means memory is flat in file size), the time to stream
every recipient in keyed pages, and a naive baseline (one ``subscribe`` call and one commit
per row, on a smaller sample, 5,000 rows by default) with the ratio between them.

    python bench/subscribers.py [--rows 100000] [--naive-rows 5000] [--pg postgresql://...]

PostgreSQL is used when --pg or PUBLISHER_TEST_DATABASE_URL is given; each run works in a
temporary schema that is dropped at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session
from support import postgres_store, sqlite_store

from publisher.addresses import InvalidAddress
from publisher.articles.store import save_topic
from publisher.subscribers.csv_batches import RowOutcome
from publisher.subscribers.csv_import import import_csv
from publisher.subscribers.errors import RegisterError
from publisher.subscribers.lists import create_list
from publisher.subscribers.models import Source
from publisher.subscribers.recipients import recipient_pages
from publisher.subscribers.subscriptions import subscribe

FIRST = "Ana Bojan Cvetka David Eva Franc Gregor Helena Igor Jana Klemen Lucija Žiga Špela Čarli"
LAST = "Novak Horvat Kos Zupančič Hočevar Jeršič Češnik Šuštar Žagar Škerjanc Černe Štih Kovačič"
TOPICS = ["promet", "kultura", "okolje", "obcina", "sport"]


def generate_csv(path: Path, rows: int, seed: int = 3) -> None:
    """``rows`` data rows: 94 % distinct, 5 % repeats of earlier people, 1 % bad."""
    rng = random.Random(seed)
    first, last = FIRST.split(), LAST.split()
    seen: list[tuple[int, str, str, str]] = []
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("email;name;language;topics\r\n")
        for n in range(rows):
            roll = rng.random()
            if roll < 0.01:
                bad = rng.choice(
                    [
                        f"oseba{n}.example.org;Brez Afne;sl;\r\n",
                        f"oseba{n}@example.org;Neznan Jezik;de;\r\n",
                        f'oseba{n}@example.org;"Prelom\r\nVrstice";sl;\r\n',
                    ]
                )
                out.write(bad)
                continue
            if roll < 0.06 and seen:
                person, name, language, topics = rng.choice(seen)
                email = f"Oseba{person}@EXAMPLE.org"  # the same person, typed differently
            else:
                name = f"{rng.choice(first)} {rng.choice(last)}"
                language = "sl" if rng.random() < 0.8 else "en"
                topics = " ".join(rng.sample(TOPICS, rng.randint(0, 2)))
                seen.append((n, name, language, topics))
                email = f"oseba{n}@example.org"
            out.write(f"{email};{name};{language};{topics}\r\n")


def prepare(engine: Engine) -> None:
    with Session(engine) as session:
        for slug in TOPICS:
            save_topic(session, slug, slug.title())
        create_list(session, "tedenske-novice", "Tedenske novice", topics=TOPICS)
        session.commit()


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_import(engine: Engine, path: Path) -> tuple[float, float, dict[str, int], int]:
    """Seconds, max RSS growth (MiB), outcome counts and rows read of one import."""
    before = max_rss_mib()
    start = time.perf_counter()
    with Session(engine) as session:
        report = import_csv(session, path, "tedenske-novice")
        session.commit()
    elapsed = time.perf_counter() - start
    counts = {o.value: n for o, n in report.counts.items() if n}
    return elapsed, max_rss_mib() - before, counts, report.rows


def stream_recipients(engine: Engine) -> tuple[float, int]:
    start = time.perf_counter()
    with Session(engine) as session:
        total = sum(len(page) for page in recipient_pages(session, ["tedenske-novice"]))
    return time.perf_counter() - start, total


def store(backend: str, url: str | None, folder: Path):  # type: ignore[no-untyped-def]
    """A fresh migrated store: a PostgreSQL schema when asked and given a URL, else SQLite."""
    if backend == "postgresql" and url:
        return postgres_store(url)
    return sqlite_store(folder / f"bench-{uuid.uuid4().hex[:8]}.db")


def traced_import(backend: str, url: str | None, path: Path, folder: Path, queue) -> None:  # type: ignore[no-untyped-def]
    """Peak Python heap of one import (tracemalloc slows it, so it is not timed)."""
    with store(backend, url, folder) as engine:
        prepare(engine)
        tracemalloc.start()
        timed_import(engine, path)
        queue.put(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()


def run_backend(backend: str, url: str | None, path: Path, folder: Path, queue) -> None:  # type: ignore[no-untyped-def]
    """One fresh process per measurement, so max RSS growth belongs to this import alone."""
    with store(backend, url, folder) as engine:
        prepare(engine)
        first = timed_import(engine, path)
        again = timed_import(engine, path)
        # Confirm everyone so the recipients query has the full list to page through.
        with engine.begin() as connection:
            connection.execute(text("UPDATE subscription SET status = 'confirmed'"))
        recipients = stream_recipients(engine)
    queue.put((first, again, recipients))


def naive_import(engine: Engine, path: Path) -> int:
    """The baseline: parse each row, ``subscribe`` it through the ORM, commit, next row."""
    import csv

    stored = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            with Session(engine) as session:
                try:
                    subscribe(
                        session,
                        row["email"],
                        "tedenske-novice",
                        source=Source.import_,
                        name=row["name"],
                        language=row["language"],
                        topics=row["topics"].split(),
                    )
                    session.commit()
                    stored += 1
                except (InvalidAddress, RegisterError, ValueError):
                    session.rollback()
    return stored


def run_naive(backend: str, url: str | None, path: Path, folder: Path, queue) -> None:  # type: ignore[no-untyped-def]
    with store(backend, url, folder) as engine:
        prepare(engine)
        start = time.perf_counter()
        naive_import(engine, path)
        queue.put(time.perf_counter() - start)


def in_child(target, *args):  # type: ignore[no-untyped-def]
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    parser.add_argument("--pg", default=os.environ.get("PUBLISHER_TEST_DATABASE_URL"))
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sizes = sorted({args.rows // 10, args.rows})
        files = {}
        for size in sizes:
            files[size] = folder / f"naslovi-{size}.csv"
            generate_csv(files[size], size)
        naive_file = folder / "naive.csv"
        generate_csv(naive_file, args.naive_rows)
        print(
            f"generated {args.rows} rows ({files[args.rows].stat().st_size / 2**20:.1f} MiB): "
            "1 % bad, 5 % duplicates; Python "
            f"{sys.version.split()[0]}, {os.cpu_count()} CPU(s)"
        )
        for backend in backends:
            print(f"{'SQLite (WAL)' if backend == 'sqlite' else 'PostgreSQL'}:")
            fast = 0.0
            for size in sizes:
                first, again, (stream_s, recipients_n) = in_child(
                    run_backend, backend, args.pg, files[size], folder
                )
                seconds, rss, counts, rows = first
                fast = rows / seconds
                print(
                    f"  import {rows:>7} rows      {seconds:6.2f} s = {rows / seconds:7.0f} rows/s"
                    f"   peak +{rss:5.1f} MiB   {counts}"
                )
                seconds, rss, counts, rows = again
                print(
                    f"  re-import {rows:>7} rows   {seconds:6.2f} s = {rows / seconds:7.0f} rows/s"
                    f"   peak +{rss:5.1f} MiB   {counts}"
                )
                print(
                    f"  recipients {recipients_n:>7}     {stream_s:6.2f} s in keyed pages of 1000"
                )
                heap = in_child(traced_import, backend, args.pg, files[size], folder)
                print(
                    f"  Python heap peak of the import: {heap:5.1f} MiB (tracemalloc, untimed run)"
                )
            naive_s = in_child(run_naive, backend, args.pg, naive_file, folder)
            slow = args.naive_rows / naive_s
            print(
                f"  naive baseline {args.naive_rows} rows (subscribe + commit per row): "
                f"{naive_s:6.2f} s = {slow:6.0f} rows/s"
            )
            print(f"  ratio import / naive: {fast / slow:.1f}x")
    assert RowOutcome.rejected  # the report type the CLI prints


if __name__ == "__main__":
    main()
