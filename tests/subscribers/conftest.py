"""A migrated register with the sample topics and two lists, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from publisher.articles.store import save_topic
from publisher.subscribers.lists import create_list

TOPICS = {"promet": "Promet", "kultura": "Kultura", "okolje": "Okolje", "sport": "Šport"}


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        for slug, name in TOPICS.items():
            save_topic(session, slug, name)
        create_list(session, "tedenske-novice", "Tedenske novice", topics=list(TOPICS))
        create_list(session, "promet", "Promet in zapore", topics=["promet"])
        session.commit()
        yield session


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a CSV exactly as given (bytes or text in an encoding); newlines untouched."""

    def write(content: str | bytes, name: str = "naslovi.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return write


def count_rows(session: Session, model: type[SQLModel]) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()
