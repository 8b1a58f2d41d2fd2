"""What every command shares: the consoles, the settings and engine, and how to fail.

Every module under ``publisher.cli`` imports only typer, rich and the standard library at load
and the domain inside its commands, so that ``publisher --help`` starts at once; this one sets
the example: the settings and the engine are made when a command first asks for them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from publisher.visible import BIDI_AND_C1, plain

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.engine import Engine

    from publisher.config import Settings
    from publisher.delivery.runner import Senders

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

Choice = TypeVar("Choice", bound=StrEnum)

_UNSAFE_IN_JSON = re.compile(f"[{BIDI_AND_C1}]")
"""What ``json.dumps(ensure_ascii=False)`` leaves raw; it escapes C0 controls itself."""


def safe(value: object, *, lines: bool = False) -> str:
    """:func:`plain`, and Rich markup escaped: for table cells and ``console.print`` text."""
    return escape(plain(value, lines=lines))


def dumps(data: object) -> str:
    """JSON for ``--json``: readable UTF-8, but C1 controls and bidi overrides as ``\\uXXXX``.

    ``json.dumps`` escapes C0 controls (ESC, BEL) already; with ``ensure_ascii=False`` it
    would pass C1 controls (U+009B is CSI to many terminals) and bidi overrides raw.
    """
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


@dataclass
class Context:
    """Settings and engine, made once per command and only when the command needs them."""

    settings: Settings
    _engine: Engine | None = None
    _senders: Senders | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from publisher.db import make_engine

            try:
                self._engine = make_engine(self.settings.database_url)
            except OSError as exc:  # SQLite's folder cannot be made
                fail(f"cannot open the database {self.settings.database_url_safe}: {exc}")
        return self._engine

    def ensure_secret(self) -> None:
        """Make and keep a random secret key beside the SQLite database if none is configured
        (``init``, ``demo``); on PostgreSQL say that the operator must set one."""
        from publisher.config import ensure_secret

        try:
            self.settings, made = ensure_secret(self.settings)
        except OSError as exc:  # a place that cannot be written: say where, before anything
            fail(f"cannot keep a secret key beside the database: {exc}")
        if made is not None:
            console.print(f"Made a random secret key, kept in {escape(str(made))} (mode 0600).")
        elif not self.settings.secret:
            console.print(
                "[yellow]Note:[/yellow] set PUBLISHER_SECRET_KEY to a long random value before "
                "`publisher serve`: it signs the links in mails and staff sessions."
            )

    def require_secret(self) -> None:
        """Exit (status 2, naming ``secret_key``) unless the secret key is fit to sign links
        and sessions: every command that signs a link or sends mail calls this first."""
        from publisher.config import weak_secret

        problem = weak_secret(self.settings)
        if problem is not None:
            err_console.print(f"[red]Configuration error:[/red] {escape(problem)}")
            raise typer.Exit(2)

    @property
    def senders(self) -> Senders:
        """The command's sender runner: one per process, as the web app owns one."""
        if self._senders is None:
            self.require_secret()
            from publisher.delivery.runner import Senders

            self._senders = Senders(self.ready_engine(), self.settings)
        return self._senders

    def ready_engine(self) -> Engine:
        """The engine, after checking the schema is current (else say how to fix it)."""
        from sqlalchemy.exc import OperationalError, ProgrammingError

        from publisher.db import schema_state

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
        from publisher.i18n import format_day

        return format_day(moment, self.settings.language, self.settings.tz)

    def moment(self, moment: datetime | None) -> str:
        """``moment`` as a date and time in the site's language and zone; "-" for none."""
        if moment is None:
            return "-"
        from publisher.i18n import format_moment

        return format_moment(moment, self.settings.language, self.settings.tz)

    def iso(self, moment: datetime | None) -> str | None:
        """``moment`` in ISO 8601 in the site's zone, as ``--json`` gives dates; None for none."""
        return None if moment is None else moment.astimezone(self.settings.tz).isoformat()


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]Error:[/red] {safe(message)}")
    raise typer.Exit(code)


def require_resources(demo: bool = False) -> None:
    """Exit (status 2) naming each missing folder of the installation (templates, catalogs,
    static files, migrations, the demo's samples): ``init``, ``serve`` and ``demo`` call it
    before they write anything, so a broken install never leaves a half-made database."""
    from publisher import resources

    missing = resources.missing(resources.DEMO if demo else resources.SERVING)
    if missing:
        names = ", ".join(str(path) for path in missing)
        err_console.print(
            f"[red]Installation incomplete:[/red] {safe(names)} not found. Nothing was written; "
            "reinstall the package (a wheel built by `scripts/build` or `pip wheel .`)."
        )
        raise typer.Exit(2)


def get_context(ctx: typer.Context) -> Context:
    """The command's :class:`Context`, its settings read now, before the command does anything.

    Read here and not in the main callback, so that ``--help`` (which never reaches a command)
    does not pay for pydantic-settings; a wrong setting exits with status 2, naming the key.
    """
    root = ctx.find_root()
    if root.obj is None:
        from publisher.config import SettingsError, load_settings
        from publisher.logs import configure

        try:
            root.obj = Context(settings=load_settings())
        except SettingsError as exc:
            err_console.print(f"[red]Configuration error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
        configure(root.obj.settings)  # warnings in the log format; serve and worker say more
    assert isinstance(root.obj, Context)
    return root.obj


def choice(kind: type[Choice], value: str, option: str) -> Choice:
    """``value`` as a member of the domain's enum ``kind``, or a usage error listing them.

    The enums live in the domain's models, which a command imports only when it runs, so
    options that take one are typed ``str`` for Typer and checked here.
    """
    try:
        return kind(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not one of {', '.join(kind)}", param_hint=option
        ) from None
