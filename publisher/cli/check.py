"""``publisher check``: is this deployment ready to send? One line per check, ✓ ✗ or !."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from publisher.cli.context import console, dumps, get_context, safe

MARKS = {"ok": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]"}
TITLES = {"settings": "Settings", "smtp": "Mail relay", "dns": "DNS", "web": "The site"}


def check(
    ctx: typer.Context,
    skip_smtp: Annotated[
        bool, typer.Option("--skip-smtp", help="Do not talk to the relay.")
    ] = False,
    skip_dns: Annotated[bool, typer.Option("--skip-dns", help="Do not look up DNS.")] = False,
    skip_web: Annotated[
        bool, typer.Option("--skip-web", help="Do not post to the unsubscribe link.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check the settings, relay, DNS and site before sending.

    Nothing is sent: the relay is asked to take the senders (MAIL FROM), then told to forget
    them (RSET). Exits with status 1 when any check fails (✗); warnings (!) do not."""
    from publisher.checks import check_deployment, failed

    context = get_context(ctx)
    checks = check_deployment(
        context.settings, context.engine, smtp=not skip_smtp, dns=not skip_dns, web=not skip_web
    )
    if as_json:
        sys.stdout.write(dumps([c.as_dict() for c in checks]) + "\n")
    else:
        group = None
        for found in checks:
            if found.group != group:
                group = found.group
                console.print(f"[bold]{TITLES[group]}[/bold]")
            console.print(f" {MARKS[found.status]} {safe(found.name)}: {safe(found.detail)}")
            if found.fix:
                console.print(f"     [dim]→[/dim] {safe(found.fix)}")
    if failed(checks):
        raise typer.Exit(1)
