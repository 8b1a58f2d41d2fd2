"""Setting up: the database schema and the settings in force."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from publisher.cli.context import console, fail, get_context, require_resources, safe
from publisher.cli.output import print_table

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


def init(ctx: typer.Context) -> None:
    """Create the database, or bring it up to date.

    Running it again is harmless.
    """
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
    print_table(table)


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target migration.")] = "head",
    backup_to: Annotated[
        Path | None,
        typer.Option(
            "--backup-to",
            metavar="FOLDER",
            help="Folder for the backup taken first (default: backups/ beside the SQLite "
            "file, or in the current folder for PostgreSQL).",
        ),
    ] = None,
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="Upgrade without taking a backup first.")
    ] = False,
) -> None:
    """Apply migrations up to REVISION (default: the newest), after a backup.

    The backup is of the database as it was, made only when there are migrations to apply.
    """
    from publisher.cli.backup import print_backup, step_bar
    from publisher.maintenance.backup import BackupError, upgrade_with_backup
    from publisher.maintenance.postgres import ToolError

    context = get_context(ctx)
    try:
        with step_bar() as on_step:
            report = upgrade_with_backup(
                context.settings,
                context.engine,
                revision,
                folder=backup_to,
                backup=not no_backup,
                on_step=on_step,
            )
    except (BackupError, ToolError, FileExistsError) as exc:
        fail(f"not upgraded, the backup failed: {exc} (--no-backup skips it)")
    if report.backup is not None:
        print_backup(report.backup)
    elif report.before != report.after and report.before is not None:
        console.print("[yellow]No backup was taken (--no-backup).[/yellow]")
    console.print(f"Database at migration {report.after} (newest: {report.head}).")


@db_app.command("copy")
def db_copy(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to", metavar="URL", help="The empty PostgreSQL database: postgresql://USER@HOST/DB"
        ),
    ],
) -> None:
    """Copy this store, photos included, into an empty PostgreSQL database.

    The store is normally SQLite. Stop `publisher serve` and the workers first.
    """
    from sqlalchemy.exc import OperationalError

    from publisher.cli.backup import step_bar
    from publisher.config import SettingsError, load_settings
    from publisher.maintenance.copy import CopyRefused, copy_store

    context = get_context(ctx)
    context.ready_engine()
    try:
        target = load_settings(database_url=to)
    except SettingsError as exc:
        fail(f"--to: {exc}")
    try:
        with step_bar() as on_step:
            report = copy_store(context.settings, target, on_step)
    except CopyRefused as exc:
        fail(f"not copied: {exc}")
    except OperationalError as exc:
        fail(f"not copied: cannot open {target.database_url_safe}: {exc.orig}")
    table = Table("table", "rows in the source", "rows copied", title="Copied")
    for name, (source_rows, target_rows) in report.counts.items():
        table.add_row(name, f"{source_rows:,}", f"{target_rows:,}")
    print_table(table)
    where = "its database" if report.target_media == "database" else "its media folder"
    console.print(
        f"[green]Copied[/green] into {safe(target.database_url_safe)}: every row, and "
        f"{report.photos} photo file(s) into {where}."
    )
    console.print("Now set database_url (PUBLISHER_DATABASE_URL) of the production settings to it.")
    if report.secret_file is not None:
        console.print(
            "[yellow]Carry the secret key over[/yellow], or every link in mails already sent "
            f"stops working: it is kept in {safe(report.secret_file)}. Set it in the production "
            'settings as secret_key = "<its content>" (settings file, mode 0600) or '
            f'PUBLISHER_SECRET_KEY="$(cat {safe(report.secret_file)})" in the service\'s '
            "environment; never make a new one."
        )
    elif not report.secret_set:
        console.print(
            "No secret key is set: give the production settings a long random secret_key "
            "(see `publisher config`) before `publisher serve`."
        )
    else:
        console.print(
            "[yellow]Keep the secret key:[/yellow] it is set in these settings (secret_key / "
            "PUBLISHER_SECRET_KEY); give the production settings the same value."
        )


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
