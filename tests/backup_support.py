"""What the backup, restore, copy and upgrade tests share: installations (an SQLite file in its
own folder, or a throwaway PostgreSQL database), a populated store with a photo, the CLI."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select
from typer.testing import CliRunner

from publisher.articles.models import Article
from publisher.cli import app
from publisher.config import Settings
from publisher.delivery.models import Delivery
from publisher.media.models import Photo
from publisher.media.photos import store_photo
from publisher.subscribers.models import Consent, Subscriber
from tests.conftest import PG_ENV, PG_SKIP_REASON
from tests.media.photo_support import phone_jpeg

FIXTURES = Path(__file__).with_name("fixtures")
PREVIOUS_RELEASE = FIXTURES / "release-0.14.0.sql"
runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    """Run ``publisher ARGS`` in this process; exit code and everything it printed."""
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout + result.stderr


def flat(output: str) -> str:
    """The CLI's output with Rich's line wrapping undone, for phrases that may wrap."""
    return " ".join(output.split())


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new PostgreSQL database with a unique name (``pg_restore`` and ``db copy`` want a
    whole empty database, not a schema); dropped afterwards."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP_REASON)
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"publisher_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def installation(kind: str, folder: Path) -> Iterator[str]:
    """The database URL of an empty installation of ``kind`` whose files live in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'publisher.db'}"
    else:
        with throwaway_database() as url:
            yield url


def load_previous_release(path: Path) -> None:
    """The database of release 0.14.0's demo, from its SQL text, into a new SQLite file."""
    connection = sqlite3.connect(path)
    try:
        connection.executescript(PREVIOUS_RELEASE.read_text(encoding="utf-8"))
    finally:
        connection.close()


def add_photo(engine: Engine, settings: Settings, external_id: str) -> Photo:
    """A real photo stored in the installation's media store, given to an article."""
    with Session(engine) as session:
        photo = store_photo(session, settings, phone_jpeg(1600, 900), "trg.jpg")
        article = session.exec(select(Article).where(Article.external_id == external_id)).one()
        article.photo_id = photo.id
        article.image_alt = "Glavni trg"
        session.add(article)
        session.commit()
        session.refresh(photo)
        session.expunge(photo)
        return photo


def ids(engine: Engine) -> dict[str, set[int]]:
    """The ids of what a restore must bring back: articles, residents, consents, deliveries."""
    with Session(engine) as session:
        return {
            model.__tablename__: set(session.exec(select(model.id)))  # type: ignore[attr-defined]
            for model in (Article, Subscriber, Consent, Delivery)
        }
