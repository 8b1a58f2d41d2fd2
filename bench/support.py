"""What every benchmark needs: a migrated store on SQLite or in a throwaway PostgreSQL schema.

Benchmarks run as scripts (``python bench/NAME.py``), so this module is imported by name.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from publisher.db import make_engine, upgrade


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A fresh schema on the server of ``base_url``; yields a URL scoped to it, drops it after."""
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url.render_as_string(hide_password=False))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def migrated(url: str) -> Iterator[Engine]:
    """An engine on ``url`` with the schema at the newest migration."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def sqlite_store(path: Path) -> Iterator[Engine]:
    with migrated(f"sqlite:///{path}") as engine:
        yield engine


@contextmanager
def postgres_store(base_url: str) -> Iterator[Engine]:
    with postgres_schema(base_url) as url, migrated(url) as engine:
        yield engine
