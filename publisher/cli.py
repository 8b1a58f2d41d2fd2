"""The ``publisher`` command: parses arguments, calls the domain, renders results with Rich.

Nothing here decides anything about articles or the store; it only translates between the
terminal and the functions in ``publisher.articles`` and ``publisher.db``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from publisher import __version__
from publisher.articles.drafts import TopicRef
from publisher.articles.importing import ImportReport, SourceReport, import_sources
from publisher.articles.models import Article, ArticleStatus
from publisher.articles.sanitize import slugify_title
from publisher.articles.store import (
    ArticleNotFound,
    SaveOutcome,
    article_to_dict,
    get_article,
    list_articles,
    list_topics,
    save_topic,
    set_status,
)
from publisher.config import Settings, SettingsError, load_settings
from publisher.db import make_engine, schema_state, session_scope, upgrade

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

app = typer.Typer(
    name="publisher",
    help="Newsletter and syndication publisher for a town hall.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
articles_app = typer.Typer(help="Import, list and publish articles.", no_args_is_help=True)
topics_app = typer.Typer(help="Topics articles are filed under.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(articles_app, name="articles")
app.add_typer(topics_app, name="topics")


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


def fail(message: str, code: int = 1) -> Any:
    err_console.print(f"[red]Error:[/red] {escape(message)}")
    raise typer.Exit(code)


def version_callback(value: bool) -> None:
    if value:
        console.print(f"publisher {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Settings file (TOML); same as PUBLISHER_CONFIG."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True)
    ] = False,
) -> None:
    if config is not None:
        os.environ["PUBLISHER_CONFIG"] = str(config)
    ctx.obj = Context(settings=load_settings())


def _ctx(ctx: typer.Context) -> Context:
    assert isinstance(ctx.obj, Context)
    return ctx.obj


# --- set-up -------------------------------------------------------------------------------


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the database (or bring it up to date). Running it again is harmless."""
    context = _ctx(ctx)
    before = schema_state(context.engine).current
    state = upgrade(context.engine)
    where = context.settings.database_url_safe
    if before == state.current:
        console.print(f"Database {where} is up to date (migration {state.current}).")
    else:
        console.print(f"[green]Database {where} ready[/green] (migration {state.current}).")


@app.command("config")
def show_config(ctx: typer.Context) -> None:
    """Show the settings in force (secrets masked)."""
    table = Table("setting", "value", title="publisher settings")
    for key, value in _ctx(ctx).settings.public_view().items():
        table.add_row(key, escape(value))
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context, revision: Annotated[str, typer.Argument(help="Target migration.")] = "head"
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    state = upgrade(_ctx(ctx).engine, revision)
    console.print(f"Database at migration {state.current} (newest: {state.head}).")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database's migration and whether it is the newest."""
    state = schema_state(_ctx(ctx).engine)
    if state.current is None:
        console.print(
            f"Database not set up (newest migration: {state.head}). Run `publisher init`."
        )
        raise typer.Exit(1)
    note = "up to date" if state.up_to_date else f"behind: newest is {state.head}"
    console.print(f"{state.current} ({note})")


# --- articles -----------------------------------------------------------------------------


def _topic_refs(slugs: list[str]) -> list[TopicRef]:
    return [TopicRef(slug=slugify_title(slug), name=slug) for slug in slugs]


def _print_source(report: SourceReport, out: Console, *, short_names: bool = False) -> None:
    colour = {"rejected": "red", "partial": "yellow", "unchanged": "dim"}.get(
        report.status, "green"
    )
    counts = ", ".join(f"{n} {outcome}" for outcome, n in report.outcomes.items() if n)
    detail = f" ({counts})" if counts and report.format in {"json", "jsonl", "feed"} else ""
    if report.encoding.lower().replace("_", "-") not in {"utf-8", "ascii"}:
        detail += f" [decoded from {report.encoding}]"
    title = f" — {report.titles[0]}" if len(report.titles) == 1 else ""
    name = Path(report.source).name if short_names else report.source
    out.print(
        f"[{colour}]{report.status:>9}[/{colour}]  {escape(name)}{escape(title)}{escape(detail)}"
    )
    for rejection in report.rejections:
        out.print(f"           [red]✗[/red] {escape(str(rejection))}")


def _run_import(
    engine: Engine,
    sources: list[str],
    settings: Settings,
    topics: list[TopicRef],
    *,
    short_names: bool = False,
) -> ImportReport:
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("Importing", total=None)

        def on_done(report: SourceReport, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
            _print_source(report, progress.console, short_names=short_names)

        return import_sources(
            engine, sources, tz=settings.tz, default_topics=topics, on_source_done=on_done
        )


def _print_totals(report: ImportReport) -> None:
    rejected = len(report.rejections)
    counts = [f"{report.count(outcome)} {outcome}" for outcome in SaveOutcome]
    colour = "red" if rejected else "green"
    line = ", ".join([*counts, f"{rejected} rejected"])
    console.print(f"[{colour}]{line}[/{colour}] from {len(report.sources)} source(s).")


@articles_app.command("import")
def articles_import(
    ctx: typer.Context,
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders (searched recursively) or feed URLs.")
    ],
    topic: Annotated[
        list[str] | None, typer.Option("--topic", "-t", help="File every article under this topic.")
    ] = None,
) -> None:
    """Import office exports, JSON/JSON Lines files and RSS/Atom feeds (detected by content).

    Every source is reported; a rejected one never stops the others, and the command exits
    with status 1 after importing the rest if anything was rejected.
    """
    context = _ctx(ctx)
    engine = context.ready_engine()
    report = _run_import(engine, paths, context.settings, _topic_refs(topic or []))
    _print_totals(report)
    if not report.ok:
        raise typer.Exit(1)


def _parse_since(value: str, settings: Settings) -> datetime:
    match = re.fullmatch(r"\s*(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})\s*", value)
    try:
        day = (
            date(int(match[3]), int(match[2]), int(match[1]))
            if match
            else date.fromisoformat(value.strip())
        )
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (use 2025-03-07 or 7. 3. 2025)"
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=settings.tz)


def _local_date(article: Article, settings: Settings) -> str:
    local = article.published_at.astimezone(settings.tz)
    return f"{local.day}. {local.month}. {local.year}"


@articles_app.command("list")
def articles_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    topic: Annotated[str | None, typer.Option("--topic", help="Only this topic (slug).")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Published on or after this date.")
    ] = None,
    include_withdrawn: Annotated[
        bool, typer.Option("--all", help="Include withdrawn articles.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", min=1)] = None,
) -> None:
    """List articles, newest first."""
    context = _ctx(ctx)
    settings = context.settings
    since_at = _parse_since(since, settings) if since else None
    with session_scope(context.ready_engine()) as session:
        articles = list_articles(
            session, topic=topic, since=since_at, include_withdrawn=include_withdrawn, limit=limit
        )
        if as_json:
            payload = [article_to_dict(article, settings.tz) for article in articles]
            sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
            return
        table = Table("ID", "Date", "Title", "Topics", "Status", title="Articles")
        for article in articles:
            table.add_row(
                str(article.id),
                _local_date(article, settings),
                escape(article.title),
                ", ".join(t.slug for t in article.topics),
                str(article.status),
            )
        console.print(table)
        console.print(f"{len(articles)} article(s).")


@articles_app.command("show")
def articles_show(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="ID", help="Article id or slug.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one article in full."""
    context = _ctx(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            article = get_article(session, key)
        except ArticleNotFound as exc:
            fail(str(exc))
        if as_json:
            payload = article_to_dict(article, context.settings.tz)
            sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
            return
        console.print(f"[bold]{escape(article.title)}[/bold]")
        console.print(
            f"#{article.id} · {_local_date(article, context.settings)} · {article.status} · "
            f"{escape(article.slug)} · topics: {', '.join(t.slug for t in article.topics) or '-'}"
        )
        if article.image_caption:
            console.print(f"[italic]Photo: {escape(article.image_caption)}[/italic]")
        console.print(f"[dim]source: {escape(article.source)} · id {article.uid}[/dim]\n")
        console.print(escape(article.body_text))


def _change_status(ctx: typer.Context, key: str, status: ArticleStatus) -> None:
    context = _ctx(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            article, changed = set_status(session, key, status)
        except ArticleNotFound as exc:
            fail(str(exc))
        state = status.value if changed else f"already {status.value}"
        console.print(f"#{article.id} {escape(article.title)}: {state}.")


@articles_app.command("publish")
def articles_publish(ctx: typer.Context, key: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Publish an article (it appears in feeds and future digests)."""
    _change_status(ctx, key, ArticleStatus.published)


@articles_app.command("withdraw")
def articles_withdraw(
    ctx: typer.Context, key: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """Withdraw an article (it leaves feeds and future digests; it is kept in the store)."""
    _change_status(ctx, key, ArticleStatus.withdrawn)


# --- topics -------------------------------------------------------------------------------


@topics_app.command("list")
def topics_list(ctx: typer.Context) -> None:
    """List topics with their number of published articles."""
    with session_scope(_ctx(ctx).ready_engine()) as session:
        table = Table("Slug", "Name", "Articles", title="Topics")
        for topic, count in list_topics(session):
            table.add_row(topic.slug, escape(topic.name), str(count))
        console.print(table)


@topics_app.command("add")
def topics_add(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Short ASCII key, e.g. promet.")],
    name: Annotated[str, typer.Option("--name", help="Slovenian name, e.g. Promet.")],
) -> None:
    """Create a topic, or rename an existing one."""
    clean = slugify_title(slug)
    with session_scope(_ctx(ctx).ready_engine()) as session:
        topic = save_topic(session, clean, name.strip())
        console.print(f"Topic {topic.slug}: {escape(topic.name)}")


# --- demo ---------------------------------------------------------------------------------


@app.command()
def demo(ctx: typer.Context) -> None:
    """Set up the embedded database, import the bundled sample articles and list them."""
    context = _ctx(ctx)
    settings = context.settings
    state = upgrade(context.engine)
    console.rule("[bold]publisher demo")
    console.print(f"Database {settings.database_url_safe} at migration {state.current}.")
    samples = resources.files("publisher") / "samples"
    topics = json.loads((samples / "topics.json").read_text(encoding="utf-8"))
    article_topics: dict[str, list[str]] = json.loads(
        (samples / "article-topics.json").read_text(encoding="utf-8")
    )
    with session_scope(context.engine) as session:
        for topic in topics:
            save_topic(session, topic["slug"], topic["name"])
    with resources.as_file(samples / "articles") as folder:
        files = sorted(p for p in folder.glob("*.txt"))
        total = ImportReport()
        for path in files:
            refs = [TopicRef(slug=s, name=s) for s in article_topics.get(path.name, [])]
            imported = _run_import(context.engine, [str(path)], settings, refs, short_names=True)
            total.sources += imported.sources
    _print_totals(total)
    console.print()
    ctx.invoke(articles_list, ctx=ctx)
    if not total.ok:
        raise typer.Exit(1)


def main() -> None:
    """Entry point: settings errors are reported plainly, without a traceback."""
    try:
        app()
    except SettingsError as exc:
        err_console.print(f"[red]Configuration error:[/red] {escape(str(exc))}")
        sys.exit(2)
