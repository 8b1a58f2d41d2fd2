"""The store's schema comes from the migrations and matches the models, on both databases."""

from __future__ import annotations

import enum
import sqlite3
import typing
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, Table, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, StatementError
from sqlmodel import SQLModel

import publisher.models  # noqa: F401
from publisher.db import (
    StoredEnum,
    UTCDateTime,
    make_engine,
    schema_state,
    session_scope,
    upgrade,
    write_lock,
)
from publisher.delivery.models import JobState


def test_upgrade_creates_schema_and_is_harmless_to_repeat(database_url: str) -> None:
    engine = make_engine(database_url)
    assert schema_state(engine).current is None
    first = upgrade(engine)
    second = upgrade(engine)
    assert first.up_to_date and second.up_to_date
    assert first.current == second.current == first.head
    engine.dispose()


def test_migrations_produce_exactly_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def _table_models() -> list[type[SQLModel]]:
    found, todo = [], list(SQLModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if hasattr(model, "__table__"):
            found.append(model)
    return found


def test_every_column_a_model_calls_an_enum_reads_back_as_that_enum(engine: Engine) -> None:
    """``job.state is JobState.done`` (or ``== "done"``) must hold for a row read back: a
    column annotated with an enum is a :class:`StoredEnum` of it, never a bare string (the
    bare string once let a sent edition be cancelled)."""
    enum_columns = 0
    for model in _table_models():
        for name, hint in typing.get_type_hints(model).items():
            if isinstance(hint, type) and issubclass(hint, enum.Enum):
                column_type = model.__table__.c[name].type  # type: ignore[attr-defined]
                assert isinstance(column_type, StoredEnum), f"{model.__name__}.{name}"
                assert column_type.enum_type is hint, f"{model.__name__}.{name}"
                enum_columns += 1
    assert enum_columns >= 10
    table = Table("enum_test", MetaData(), Column("state", StoredEnum(JobState, 16)))
    table.create(engine)
    with engine.begin() as connection:
        connection.execute(insert(table).values(state=JobState.done))
        connection.execute(insert(table).values(state="paused"))
        stored = connection.execute(select(table.c.state)).scalars().all()
    assert stored == [JobState.done, JobState.paused]
    assert stored[0] is JobState.done and stored[1] is JobState.paused
    table.drop(engine)


def test_times_come_back_aware_in_utc_and_naive_times_are_refused(engine: Engine) -> None:
    table = Table("when_test", MetaData(), Column("at", UTCDateTime))
    table.create(engine)
    ljubljana_noon = datetime(2025, 3, 7, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    with engine.begin() as connection:
        connection.execute(insert(table).values(at=ljubljana_noon))
        stored = connection.execute(select(table.c.at)).scalar_one()
    assert stored == ljubljana_noon
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.hour == 11
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as connection:
        connection.execute(insert(table).values(at=datetime(2025, 3, 7, 12, 0)))
    table.drop(engine)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'store.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "sub" / "store.db").exists()
    engine.dispose()


def test_utc_helper_is_aware() -> None:
    from publisher.clock import utcnow

    assert utcnow().tzinfo is UTC


def _read_then_write(engine: Engine, path, *, lock: bool) -> None:
    """A transaction shaped like the CSV import's: it writes a temporary table, reads the store,
    then writes it; another connection commits between the read and the write."""
    with session_scope(engine) as session:
        if lock:
            write_lock(session)
        session.execute(text("CREATE TEMP TABLE IF NOT EXISTS seen (x INTEGER)"))
        session.execute(text("INSERT INTO seen VALUES (1)"))
        session.execute(text("SELECT count(*) FROM t")).scalar_one()
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("INSERT INTO t VALUES ('other')")
            other.commit()
        except sqlite3.OperationalError as exc:
            assert lock, f"only a locked transaction makes the other writer wait: {exc}"
        finally:
            other.close()
        session.execute(text("INSERT INTO t VALUES ('mine')"))


def test_a_transaction_that_reads_before_it_writes_holds_sqlites_write_lock(tmp_path) -> None:
    path = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (v TEXT)"))
    # Without the lock, SQLite refuses the write at once: the snapshot it read is stale.
    with pytest.raises(OperationalError, match="locked"):
        _read_then_write(engine, path, lock=False)
    # With it, the other writer is the one that waits (here: refused, its timeout is 0), and
    # this transaction's write goes through.
    _read_then_write(engine, path, lock=True)
    with engine.connect() as connection:
        values = connection.execute(text("SELECT v FROM t")).scalars().all()
    assert values.count("mine") == 1
    engine.dispose()
