"""``publisher digest schedule``: the digest schedule from the settings, with its next runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import Engine

from publisher.cli.context import console, get_context
from publisher.config import Settings, config_path
from publisher.digests.schedule import DigestScheduler, ScheduledRun, describe, upcoming


def schedule_command(ctx: typer.Context) -> None:
    """Show when each list's digest goes out by itself (``[[schedule]]`` in the settings)."""
    settings = get_context(ctx).settings
    if not settings.schedule:
        where = config_path() or "config/publisher.toml"
        console.print(
            f"No schedule: add {escape('[[schedule]]')} tables to {escape(str(where))} "
            "(see the README, section Schedule). Digests are sent by hand until then."
        )
        return
    now = datetime.now(settings.tz)
    table = Table(
        "list",
        "when",
        "approval",
        "next run",
        "covers",
        title=f"Digest schedule ({settings.timezone}, now {now:%Y-%m-%d %H:%M})",
    )
    for run in upcoming(settings, now):
        table.add_row(
            escape(run.entry.list),
            describe(run.entry),
            "staff approve the draft" if run.entry.approval else "sent automatically",
            f"{run.at:%a %Y-%m-%d %H:%M %Z}",
            run.period.key,
        )
    console.print(table)
    console.print(
        "`publisher serve` runs this schedule (unless --no-schedule); editions are unique per "
        "list and period, so several servers, or cron beside them, never send twice."
    )


@contextmanager
def running_schedule(settings: Settings, engine: Engine, *, enabled: bool) -> Iterator[None]:
    """Run the digest schedule in this process while the block runs (``publisher serve``)."""
    if not enabled or not settings.schedule:
        yield
        return

    def on_run(run: ScheduledRun) -> None:
        detail = f" ({run.message})" if run.message else ""
        console.print(
            f"Schedule: {escape(run.entry.list)}/{run.period.key} {run.outcome}{escape(detail)}"
        )

    scheduler = DigestScheduler(engine, settings, on_run=on_run)
    scheduler.start()
    first = upcoming(settings)[0]
    console.print(
        f"Digest schedule running: next {escape(first.entry.list)} "
        f"{first.at:%a %Y-%m-%d %H:%M %Z} (`publisher digest schedule` lists all)."
    )
    try:
        yield
    finally:
        scheduler.stop()
