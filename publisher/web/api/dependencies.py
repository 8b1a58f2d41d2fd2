"""What every route reads from the API application: its settings and a database session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlmodel import Session

from publisher.config import Settings
from publisher.db import session_scope


def _session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


Db = Annotated[Session, Depends(_session)]


def no_nul_in_url(request: Request) -> None:
    """422 for a NUL in the path or the query: no key has one, and PostgreSQL cannot compare one.

    Decided here, before any route looks anything up, so that no lookup meets one.
    """
    problems = [
        {"loc": ["query", name], "msg": "must not contain a NUL character", "type": "value_error"}
        for name, value in request.query_params.multi_items()
        if "\x00" in name or "\x00" in value
    ]
    if "\x00" in request.url.path:
        problems.append(
            {"loc": ["path"], "msg": "must not contain a NUL character", "type": "value_error"}
        )
    if problems:
        raise RequestValidationError(problems)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
