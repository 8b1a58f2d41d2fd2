"""Setting up: the database schema and the settings in force."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from publisher.cli.context import console, get_context, require_resources, safe

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


def init(ctx: typer.Context) -> None:
    """Create the database (or bring it up to date). Running it again is harmless."""
    from publisher.db import schema_state, upgrade

    require_resources()
    context = get_context(ctx)
    before = schema_state(context.engine).current
    state = upgrade(context.engine)
    where = context.settings.database_url_safe
    if before == state.current:
        console.print(f"Database {where} is up to date (migration {state.current}).")
    else:
        console.print(f"[green]Database {where} ready[/green] (migration {state.current}).")
    context.ensure_secret()


def show_config(
    ctx: typer.Context,
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults",
            help="Print the settings file with every key documented at its default (the "
            "start of an installation's own: `publisher config --defaults > publisher.toml`).",
        ),
    ] = False,
) -> None:
    """Show the settings in force (secrets masked)."""
    if defaults:
        from publisher.resources import DEFAULT_SETTINGS_FILE

        typer.echo(DEFAULT_SETTINGS_FILE.read_text(encoding="utf-8"), nl=False)
        return
    table = Table("setting", "value", title="publisher settings")
    for key, value in get_context(ctx).settings.public_view().items():
        table.add_row(key, safe(value))
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context, revision: Annotated[str, typer.Argument(help="Target migration.")] = "head"
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from publisher.db import upgrade

    state = upgrade(get_context(ctx).engine, revision)
    console.print(f"Database at migration {state.current} (newest: {state.head}).")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database's migration and whether it is the newest."""
    from publisher.db import schema_state

    state = schema_state(get_context(ctx).engine)
    if state.current is None:
        console.print(
            f"Database not set up (newest migration: {state.head}). Run `publisher init`."
        )
        raise typer.Exit(1)
    note = "up to date" if state.up_to_date else f"behind: newest is {state.head}"
    console.print(f"{state.current} ({note})")
