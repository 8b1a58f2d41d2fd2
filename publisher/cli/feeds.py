"""``publisher feeds build``: the feeds as static files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from publisher.cli.context import console, err_console, fail, get_context, safe

feeds_app = typer.Typer(help="RSS, Atom and JSON Feed documents.", no_args_is_help=True)


@feeds_app.command("build")
def feeds_build(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", metavar="FOLDER", help="Folder to write to (created if missing)."
        ),
    ],
) -> None:
    """Write every feed as static files.

    The site's, each topic's and the archive pages, as RSS, Atom and JSON Feed. Serve the
    folder at BASE_URL/feeds/ (the self links in the files say so).
    """
    from publisher.feeds.export import export_feeds
    from publisher.links import feed_url

    context = get_context(ctx)
    refused: list[str] = []
    written = export_feeds(
        context.ready_engine(),
        context.settings,
        out,
        on_refused=lambda _key, reason: refused.append(reason),
    )
    for reason in refused:
        err_console.print(f"[red]Skipped:[/red] {safe(safe(reason))}")
    console.print(
        f"[green]Wrote {len(written)} feed file(s)[/green] to {safe(str(out))}; "
        f"serve them at {safe(feed_url(context.settings, ''))}."
    )
    if refused:
        fail(f"{len(refused)} feed file(s) were not written: fix the topic slugs named above")
