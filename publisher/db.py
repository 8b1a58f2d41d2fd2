"""Engine, sessions and migrations for the one store: SQLite embedded, PostgreSQL in production.

Migrations are Alembic scripts in ``publisher/migrations`` (beside this file); the schema is
never created with ``create_all`` outside tests of the migrations themselves, so SQLite and
PostgreSQL always have the schema the scripts say.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, String, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from publisher.resources import MIGRATIONS_DIR

MAX_ROW_ID = 2**31 - 1
"""Largest id a row can have (PostgreSQL ``integer``): a lookup by a larger number finds nothing
rather than overflowing the query."""

# Named constraints let Alembic alter tables later (SQLite batch mode needs the names).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, UTC datetimes out, on both databases.

    SQLite has no timezone type, so values are stored there as naive UTC; PostgreSQL keeps
    ``timestamptz``. Naive datetimes are refused: a naive time is a bug waiting for DST.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: attach a time zone before storing")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=enum.StrEnum)


class StoredEnum(TypeDecorator[E]):
    """A string column that reads back as its enum, as the model's annotation says it is.

    Without it a column annotated ``JobState`` holds whatever the driver returns, a plain
    ``"done"``, and ``job.state is JobState.done`` is never true: a sent edition could be
    cancelled. Writing takes the enum or its value; a value the enum does not know (a row from
    a newer release) reads back as the plain string rather than failing the whole query.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum_type: type[E], length: int) -> None:
        super().__init__(length)
        self.enum_type = enum_type

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | str | None:
        if value is None:
            return None
        try:
            return self.enum_type(value)
        except ValueError:
            return value


def conflict_insert(session: Session) -> Callable[..., postgresql.Insert | sqlite.Insert]:
    """``insert`` for the session's database: the one with ``on_conflict_do_nothing``.

    Core's ``insert`` has no ON CONFLICT; PostgreSQL's and SQLite's both do, spelled alike.
    """
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the pragmas and pool settings each backend needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web app read while a sender writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def write_lock(session: Session) -> None:
    """Take SQLite's write lock now (``BEGIN IMMEDIATE``) for a transaction that reads before
    it writes. In WAL mode such a transaction is refused at once ("database is locked", no
    waiting) if another connection commits between its first read and its first write; one
    that holds the lock from the start waits its turn instead. PostgreSQL needs nothing."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.dbapi_connection
    if driver is not None and not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def upgrade(engine: Engine, revision: str = "head") -> SchemaState:
    """Apply migrations up to ``revision``; harmless when already there."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return schema_state(engine)


def head_revision() -> str:
    """The newest migration the code knows (read from the scripts: worth keeping)."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at; ``None`` for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def schema_state(engine: Engine) -> SchemaState:
    """Which migration the database is at, and which is the newest the code knows."""
    head = head_revision()
    with engine.connect() as connection:
        current = current_revision(connection)
    return SchemaState(current=current, head=head)


def revisions() -> list[str]:
    """Every migration the code knows, oldest first (the history is one line)."""
    script = ScriptDirectory.from_config(_alembic_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]
