"""``publisher backup`` and ``publisher restore``: parse, call ``publisher.maintenance``, and
draw its steps as a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from publisher.cli.context import console, fail, get_context, safe

if TYPE_CHECKING:
    from publisher.maintenance.backup import BackupReport, Step


@contextmanager
def step_bar() -> Iterator[Callable[[Step], None]]:
    """A Rich progress bar with one line per step the domain reports."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as progress:
        tasks: dict[str, int] = {}

        def on_step(step: Step) -> None:
            if step.label not in tasks:
                tasks[step.label] = progress.add_task(safe(step.label), total=step.total)
            progress.update(tasks[step.label], completed=step.done, total=step.total)

        yield on_step


def print_backup(report: BackupReport) -> None:
    """What a backup holds, and the care it needs."""
    manifest = report.manifest
    photos = sum(1 for entry in manifest.files if entry.name.startswith("media/"))
    size = report.path.stat().st_size
    console.print(
        f"[green]Backup written:[/green] {safe(report.path)} ({size:,} bytes; "
        f"{manifest.database} database at migration {safe(manifest.alembic_revision)}, "
        f"{photos} photo file(s))."
    )
    if manifest.media_store == "database":
        console.print("The photos are kept in the database, so they are inside its dump.")
    if report.secret_from is not None:
        console.print(f"The secret key (from {safe(report.secret_from)}) is in the backup.")
    elif not report.secret_set:
        console.print("No secret key is set yet, so none is in the backup.")
    else:
        console.print(
            "[yellow]The secret key is not in the backup:[/yellow] it is set in the settings "
            "(secret_key / PUBLISHER_SECRET_KEY). Keep the settings with the backup: without "
            "the same key, the links in mails already sent stop working."
        )
    console.print(
        "[yellow]The archive holds residents' addresses and the keys that sign their "
        "links:[/yellow] it is readable by you only (mode 0600); keep it encrypted and off "
        "this machine."
    )


def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The archive to write (.tar.gz); must not exist.")],
) -> None:
    """Write one archive with the database, photos and secret key.

    The secret key is in it when publisher made it (a file beside the database); a key set
    in the settings is not, so keep the settings with the backup.

    Safe while the site runs and a digest is being sent.
    """
    from sqlalchemy.exc import OperationalError

    from publisher.maintenance.backup import BackupError, make_backup
    from publisher.maintenance.postgres import ToolError

    context = get_context(ctx)
    try:
        with step_bar() as on_step:
            report = make_backup(context.settings, context.engine, file, on_step)
    except (BackupError, ToolError, FileExistsError) as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(f"cannot open the database {context.settings.database_url_safe}: {exc.orig}")
    print_backup(report)


def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An archive written by `publisher backup`.")],
) -> None:
    """Put a backup back into an empty installation.

    The settings in force say where everything goes.
    """
    from sqlalchemy.exc import OperationalError

    from publisher.maintenance.archive import ArchiveError
    from publisher.maintenance.postgres import ToolError
    from publisher.maintenance.restore import RestoreRefused, restore_backup

    context = get_context(ctx)
    if not file.is_file():
        fail(f"{file} is not a file")
    try:
        with step_bar() as on_step:
            report = restore_backup(context.settings, context.engine, file, on_step)
    except (ArchiveError, RestoreRefused, ToolError) as exc:
        fail(f"not restored: {exc}")
    except OperationalError as exc:
        where = context.settings.database_url_safe
        fail(f"not restored: cannot open the database {where}: {exc.orig}")
    manifest = report.manifest
    console.print(
        f"[green]Restored[/green] the backup of {safe(manifest.created_at)} (publisher "
        f"{safe(manifest.publisher_version)}) into {safe(context.settings.database_url_safe)}: "
        f"migration {safe(report.state.current)}, {report.photos} photo file(s)."
    )
    if report.secret_to is not None:
        console.print(f"The secret key is back in {safe(report.secret_to)} (mode 0600).")
    for note in report.notes:
        console.print(f"[yellow]Note:[/yellow] {safe(note)}")
