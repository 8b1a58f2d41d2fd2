"""The ``publisher`` command: parses arguments, calls the domain, renders results with Rich.

Nothing here decides anything about articles or the store; it only translates between the
terminal and the domain packages. One module per group of commands; this one assembles them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from publisher import __version__
from publisher.cli import help
from publisher.cli.api_tokens import api_token_app
from publisher.cli.articles import articles_app, topics_app
from publisher.cli.backup import backup, restore
from publisher.cli.bounces import bounces_app
from publisher.cli.check import check
from publisher.cli.context import console
from publisher.cli.demo import demo
from publisher.cli.digest import digest_app, worker_command
from publisher.cli.feeds import feeds_app
from publisher.cli.mailcatcher import mailcatcher
from publisher.cli.purge import purge_command
from publisher.cli.schedule import schedule_command
from publisher.cli.setup import db_app, init, show_config
from publisher.cli.staff import staff_app
from publisher.cli.subscribers import lists_app, subscribers_app
from publisher.cli.web import serve

app = typer.Typer(
    name="publisher",
    help="Newsletter and syndication publisher for a town hall.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    cls=help.Group,
)
app.command()(init)
app.command("config")(show_config)
app.command()(demo)
app.add_typer(db_app, name="db")
app.add_typer(articles_app, name="articles")
app.add_typer(topics_app, name="topics")
app.add_typer(feeds_app, name="feeds")
app.command()(serve)
app.command()(mailcatcher)
app.add_typer(lists_app, name="lists")
app.add_typer(subscribers_app, name="subscribers")
digest_app.command("schedule")(schedule_command)
app.add_typer(digest_app, name="digest")
app.command("worker")(worker_command)
app.add_typer(bounces_app, name="bounces")
app.add_typer(api_token_app, name="api-token")
app.add_typer(staff_app, name="staff")
app.command("purge")(purge_command)
app.command()(backup)
app.command()(restore)
app.command()(check)


def version_callback(value: bool) -> None:
    if value:
        console.print(f"publisher {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            metavar="FILE",
            help="Settings file (TOML); same as PUBLISHER_CONFIG.",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    # Only note the file: each command reads the settings itself (get_context), --help none.
    if config is not None:
        os.environ["PUBLISHER_CONFIG"] = str(config)
