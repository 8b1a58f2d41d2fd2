"""The store's schema comes from the migrations and matches the models, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, Table, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import SQLModel

import publisher.models  # noqa: F401
from publisher.db import UTCDateTime, make_engine, schema_state, upgrade


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
