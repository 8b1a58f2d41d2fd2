"""What every command shares: the consoles, the settings and engine, dates, and how to fail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from publisher.config import Settings
from publisher.db import make_engine, schema_state
from publisher.i18n import format_day, format_moment

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class Context:
    """Settings and engine, made once per command and only when the command needs them."""

    settings: Settings
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def ready_engine(self) -> Engine:
        """The engine, after checking the schema is current (else say how to fix it)."""
        try:
            state = schema_state(self.engine)
        except (OperationalError, ProgrammingError) as exc:
            fail(f"cannot open the database {self.settings.database_url_safe}: {exc.orig}")
        if state.current is None:
            fail("the database is not set up yet: run `publisher init`")
        if not state.up_to_date:
            fail(
                f"the database is at migration {state.current}, the code needs {state.head}: "
                "run `publisher db upgrade`"
            )
        return self.engine

    def day(self, moment: datetime) -> str:
        """``moment``'s calendar day as the site writes it (``publisher.i18n.format_day``)."""
        return format_day(moment, self.settings.language, self.settings.tz)

    def moment(self, moment: datetime | None) -> str:
        """``moment`` as a date and time in the site's language and zone; "-" for none."""
        if moment is None:
            return "-"
        return format_moment(moment, self.settings.language, self.settings.tz)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]Error:[/red] {escape(message)}")
    raise typer.Exit(code)


def get_context(ctx: typer.Context) -> Context:
    """The :class:`Context` the main callback put on the Typer context."""
    assert isinstance(ctx.obj, Context)
    return ctx.obj
