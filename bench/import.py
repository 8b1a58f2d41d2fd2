"""Import throughput: N generated office exports into SQLite and PostgreSQL.

Prints articles per second for the batched importer (``publisher.articles.importing``), for a
re-import of the same files (all unchanged), and for a naive baseline in the same run (one
session and one commit per file), with the ratio between them.

    python bench/import.py [--count 10000] [--pg postgresql://postgres@127.0.0.1:5432/test]

PostgreSQL is used when --pg or PUBLISHER_TEST_DATABASE_URL is given; the run works in a
temporary schema that is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session
from support import postgres_store, sqlite_store

from publisher.articles.formats import parse_path
from publisher.articles.importing import import_sources
from publisher.articles.store import SaveOutcome, save_draft

TZ = ZoneInfo("Europe/Ljubljana")
WORDS = (  # noqa: SIM905 (a sentence reads better than a list of 36 strings)
    "občina mestni svet župan cesta obnova krožišče vrtec šola knjižnica prireditev Krka "
    "Novo mesto razpis proračun kolesarska steza vodovod zapora park drevored šport dvorana "
    "kultura festival občani predlog odlok seja četrtna skupnost Bršljin Šmihel Žabja vas"
).split()


def generate_exports(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """``count`` plausible office exports: caption, title, datum, 3–6 paragraphs, nazaj."""
    rng = random.Random(seed)
    paths = []
    for n in range(count):
        title = " ".join(rng.choices(WORDS, k=rng.randint(5, 10))).capitalize() + f" {n}"
        paragraphs = [
            " ".join(rng.choices(WORDS, k=rng.randint(30, 90))).capitalize() + "."
            for _ in range(rng.randint(3, 6))
        ]
        day, month = rng.randint(1, 28), rng.randint(1, 12)
        lines = ["Fotografija: arhiv občine", "", title, "", f"datum: {day}. {month}. 2025", ""]
        for paragraph in paragraphs:
            lines += [paragraph, ""]
        lines += ["\xa0", "", "nazaj"]
        path = folder / f"clanek-{n:05d}.txt"
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def naive_import(engine: Engine, paths: list[Path]) -> int:
    """The baseline: parse, open a session, save, commit, for every single file."""
    stored = 0
    for path in paths:
        parsed = parse_path(path, tz=TZ)
        with Session(engine) as session:
            for draft in parsed.drafts:
                save_draft(session, draft)
                stored += 1
            session.commit()
    return stored


def timed(label: str, count: int, fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    print(f"  {label:<34} {count:>6} in {elapsed:7.2f} s = {rate:8.0f} articles/s")
    return rate


def bench_backend(name: str, engine_cm, naive_engine_cm, paths: list[Path]) -> None:  # type: ignore[no-untyped-def]
    folder = str(paths[0].parent)
    print(f"{name}:")
    with engine_cm as engine:

        def batched() -> None:
            report = import_sources(engine, [folder], tz=TZ)
            assert report.count(SaveOutcome.imported) == len(paths), "import lost articles"

        def again() -> None:
            report = import_sources(engine, [folder], tz=TZ)
            assert report.count(SaveOutcome.unchanged) == len(paths)

        fast = timed("import (batched, new articles)", len(paths), batched)
        timed("re-import (all unchanged)", len(paths), again)
    with naive_engine_cm as engine:
        slow = timed(
            "naive baseline (commit per file)", len(paths), lambda: naive_import(engine, paths)
        )
    print(f"  ratio batched / naive: {fast / slow:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--pg", default=os.environ.get("PUBLISHER_TEST_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        exports = tmp_path / "exports"
        exports.mkdir()
        start = time.perf_counter()
        paths = generate_exports(exports, args.count)
        print(f"generated {len(paths)} exports in {time.perf_counter() - start:.1f} s")
        bench_backend(
            "SQLite (WAL)",
            sqlite_store(tmp_path / "batched.db"),
            sqlite_store(tmp_path / "naive.db"),
            paths,
        )
        if args.pg:
            bench_backend("PostgreSQL", postgres_store(args.pg), postgres_store(args.pg), paths)
        else:
            print("PostgreSQL: skipped (give --pg URL or set PUBLISHER_TEST_DATABASE_URL)")


if __name__ == "__main__":
    main()
