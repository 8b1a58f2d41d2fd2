"""The tables of a store as the code and its migrations know them, in foreign-key order, and
how many rows each holds: what a restore and a copy check before they write and after.

The list is never written out here: it is the SQLModel metadata (``publisher.models``), with
any table a migration made that has no model yet read from the database itself, so a new
table is copied and counted the day its migration lands.
"""

from __future__ import annotations

from sqlalchemy import MetaData, Table, func, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import publisher.models  # noqa: F401  (registers every table on SQLModel.metadata)

ALEMBIC_TABLE = "alembic_version"


def store_tables(engine: Engine) -> list[Table]:
    """Every table of the store at ``engine`` but Alembic's own, parents before children.

    A table that has a model is described by the model (so values read from SQLite come back
    as the code writes them, e.g. times in UTC); one without is read from the database.
    """
    reflected = MetaData()
    reflected.reflect(bind=engine)
    tables: list[Table] = []
    for table in reflected.sorted_tables:
        if table.name == ALEMBIC_TABLE:
            continue
        tables.append(SQLModel.metadata.tables.get(table.name, table))
    return tables


def row_counts(connection: Connection, tables: list[Table]) -> dict[str, int]:
    """Rows per table, by name, in the order given."""
    return {
        table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for table in tables
    }


def table_names(engine: Engine) -> list[str]:
    """Every table in the database's default schema, Alembic's included."""
    return sorted(inspect(engine).get_table_names())


def filled_tables(engine: Engine) -> dict[str, int]:
    """The tables that hold rows, with their counts: an empty store has none."""
    tables = store_tables(engine)
    with engine.connect() as connection:
        return {name: count for name, count in row_counts(connection, tables).items() if count}
