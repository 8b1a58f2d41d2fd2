"""What every route reads from the API application: its settings and a database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from publisher.config import Settings
from publisher.db import session_scope


def _session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


Db = Annotated[Session, Depends(_session)]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
