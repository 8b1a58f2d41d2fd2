"""``publisher db copy``: a populated store (normally SQLite) copied into an empty PostgreSQL
database, photos included, the way a municipality moves from the embedded store to production.

The target is migrated with the same Alembic scripts as any installation, then every table's
rows go over in foreign-key order and in batches, in one transaction (a failed copy leaves the
target as empty as it was); PostgreSQL's id sequences are moved past the copied ids, so new
rows do not collide; and each table's rows are counted on both sides at the end. An SQLite
source is first snapshotted through the backup API, so the copy is of one moment even if the
site is still running (stop it anyway: what it writes after that moment is not copied).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Integer, Table, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session

from publisher.config import Settings
from publisher.db import make_engine, schema_state, upgrade
from publisher.maintenance.backup import (
    OnStep,
    Step,
    database_kind,
    no_progress,
    secret_in_file,
    snapshot_sqlite,
    sqlite_path,
)
from publisher.maintenance.tables import filled_tables, row_counts, store_tables
from publisher.media.store import media_dir, media_store, store_kind

BATCH = 1000


class CopyRefused(RuntimeError):
    """The copy cannot start, or did not arrive whole; the message says why."""


@dataclass(frozen=True)
class CopyReport:
    counts: dict[str, tuple[int, int]]
    """Table → (rows in the source, rows in the target)."""
    photos: int
    """Photo files carried from the source's media store into the target's."""
    target_media: str
    """The target's media store kind (``database`` or ``folder``)."""
    secret_file: Path | None
    """Where the source's generated secret key is kept; ``None`` when the settings set it."""
    secret_set: bool
    """Whether the source has a secret key at all."""


def copy_store(source: Settings, target: Settings, on_step: OnStep = no_progress) -> CopyReport:
    """Copy the store of ``source`` into the empty PostgreSQL database of ``target``."""
    if database_kind(target) != "postgresql":
        raise CopyRefused("the target must be a PostgreSQL database: postgresql://USER@HOST/DB")
    if make_url(source.database_url) == make_url(target.database_url):
        raise CopyRefused("the target is the database in use: give another one")
    target_engine = make_engine(target.database_url)
    try:
        filled = filled_tables(target_engine)
        if filled:
            names = ", ".join(list(filled)[:4])
            raise CopyRefused(
                f"the target {target.database_url_safe} is not empty (rows in {names}): copy "
                "only into a new, empty database"
            )
        with tempfile.TemporaryDirectory(prefix="publisher-copy-") as work:
            source_engine = _source_engine(source, Path(work))
            try:
                return _copy(source, target, source_engine, target_engine, on_step)
            finally:
                source_engine.dispose()
    finally:
        target_engine.dispose()


def _source_engine(source: Settings, work: Path) -> Engine:
    if database_kind(source) != "sqlite":
        return make_engine(source.database_url)
    snapshot = work / "source.sqlite3"
    snapshot_sqlite(sqlite_path(source), snapshot)
    return make_engine(f"sqlite:///{snapshot}")


def _copy(
    source: Settings,
    target: Settings,
    source_engine: Engine,
    target_engine: Engine,
    on_step: OnStep,
) -> CopyReport:
    state = schema_state(source_engine)
    if not state.up_to_date:
        raise CopyRefused(
            f"the source database is at migration {state.current}, this release's newest is "
            f"{state.head}: run `publisher db upgrade` on it first"
        )
    on_step(Step("migrating the target", 0, 1))
    upgrade(target_engine)
    on_step(Step("migrating the target", 1, 1))
    tables = store_tables(target_engine)
    with source_engine.connect() as reading, target_engine.begin() as writing:
        before = row_counts(reading, tables)
        for table in tables:
            _copy_rows(reading, writing, table, before[table.name], on_step)
        for table in tables:
            _reset_sequence(writing, table)
    with target_engine.connect() as checking:
        after = row_counts(checking, tables)
    counts = {name: (before[name], after[name]) for name in before}
    wrong = [name for name, (was, now) in counts.items() if was != now]
    if wrong:
        raise CopyRefused(f"row counts differ after the copy in {', '.join(wrong)}")
    photos = _copy_photos(source, target, source_engine, target_engine, on_step)
    return CopyReport(
        counts=counts,
        photos=photos,
        target_media=store_kind(target),
        secret_file=secret_in_file(source),
        secret_set=bool(source.secret),
    )


def _copy_rows(
    reading: Connection, writing: Connection, table: Table, total: int, on_step: OnStep
) -> None:
    label = f"table {table.name}"
    on_step(Step(label, 0, total))
    order = list(table.primary_key.columns) or list(table.columns)
    result = reading.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
    done = 0
    for rows in result.mappings().partitions(BATCH):
        writing.execute(table.insert(), [dict(row) for row in rows])
        done += len(rows)
        on_step(Step(label, done, total))


def _reset_sequence(writing: Connection, table: Table) -> None:
    """Move a serial id's sequence past the largest copied id (rows were copied with their
    ids, which leaves the sequence at 1)."""
    key = list(table.primary_key.columns)
    if len(key) != 1 or not isinstance(key[0].type, Integer):
        return
    quote = writing.dialect.identifier_preparer.quote
    column = quote(key[0].name)
    writing.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence(:table, :column), "
            f"COALESCE(MAX({column}), 0) + 1, false) FROM {quote(table.name)}"
        ),
        {"table": quote(table.name), "column": key[0].name},
    )


def _copy_photos(
    source: Settings,
    target: Settings,
    source_engine: Engine,
    target_engine: Engine,
    on_step: OnStep,
) -> int:
    """Carry the photo files from the source's media store into the target's, unless the
    table copy already did (both in the database) or both name the same folder."""
    kinds = (store_kind(source), store_kind(target))
    if kinds == ("database", "database"):
        return 0
    if kinds == ("folder", "folder") and media_dir(source) == media_dir(target):
        return 0
    with Session(source_engine) as reading, Session(target_engine) as writing:
        origin, destination = media_store(source, reading), media_store(target, writing)
        names = origin.names()
        on_step(Step("photos", 0, len(names)))
        for done, name in enumerate(names, 1):
            stored = origin.get(name)
            if stored is not None:
                destination.put(name, stored.data, stored.content_type)
            if done % 50 == 0:
                writing.commit()
            on_step(Step("photos", done, len(names)))
        writing.commit()
        missing = sorted(set(names) - set(destination.names()))
    if missing:
        raise CopyRefused(f"{len(missing)} photo file(s) did not arrive, e.g. {missing[0]}")
    return len(names)
