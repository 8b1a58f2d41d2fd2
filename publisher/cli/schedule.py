"""``publisher digest schedule``: the digest schedule from the settings, with its next runs."""

from __future__ import annotations

import typer
from rich.table import Table

from publisher.cli.context import Context, console, get_context, safe
from publisher.cli.output import JsonOption, print_json, print_note, print_table


def schedule_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show when each list's digest goes out by itself.

    The schedule is the `[[schedule]]` tables of the settings file.
    """
    from publisher.clock import local_now
    from publisher.config import config_path
    from publisher.digests.schedule import describe, upcoming

    context = get_context(ctx)
    settings = context.settings
    now = local_now(settings.tz)
    if as_json:
        print_json(
            [
                {
                    "list": run.entry.list,
                    "day": run.entry.day,
                    "time": run.entry.time,
                    "when": describe(run.entry),
                    "approval": run.entry.approval,
                    "next_run_at": context.iso(run.at),
                    "period": run.period.key,
                }
                for run in upcoming(settings, now)
            ]
        )
        return
    if not settings.schedule:
        where = config_path() or "config/publisher.toml"
        console.print(
            f"No schedule: add {safe('[[schedule]]')} tables to {safe(str(where))} "
            "(see the README, section Schedule). Digests are sent by hand until then."
        )
        return
    table = Table(
        "list",
        "when",
        "approval",
        "next run",
        "covers",
        title=f"Digest schedule ({settings.timezone}, now {context.moment(now)})",
    )
    for run in upcoming(settings, now):
        table.add_row(
            safe(run.entry.list),
            safe(describe(run.entry)),
            "staff approve the draft" if run.entry.approval else "sent automatically",
            f"{context.moment(run.at)} ({run.at:%Z})",
            run.period.key,
        )
    print_table(table)
    print_note(
        "`publisher serve` runs this schedule (unless --no-jobs); editions are unique per "
        "list and period, so several servers, or cron beside them, never send twice."
    )


def announce_schedule(context: Context) -> None:
    """One line for ``serve``'s console: when the next digest goes out by itself."""
    from publisher.digests.schedule import upcoming

    settings = context.settings
    if not settings.schedule:
        return
    first = upcoming(settings)[0]
    console.print(
        f"Digest schedule running: next {safe(first.entry.list)} "
        f"{context.moment(first.at)} ({first.at:%Z}; `publisher digest schedule` lists all)."
    )
