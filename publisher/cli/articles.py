"""Articles and topics: import, list, show, publish and withdraw."""

from __future__ import annotations

import re
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from publisher.cli.context import console, dumps, err_console, fail, get_context, safe
from publisher.cli.output import JsonOption, print_json, print_note, print_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Engine

    from publisher.articles.drafts import TopicRef
    from publisher.articles.importing import ImportReport, SourceReport
    from publisher.articles.models import ArticleStatus
    from publisher.config import Settings
    from publisher.feeds.websub import PingResult

articles_app = typer.Typer(help="Import, list and publish articles.", no_args_is_help=True)
topics_app = typer.Typer(help="Topics articles are filed under.", no_args_is_help=True)


def _topic_refs(slugs: list[str]) -> list[TopicRef]:
    from publisher.articles.drafts import TopicRef
    from publisher.articles.sanitize import slugify_title

    return [TopicRef(slug=slugify_title(slug), name=slug) for slug in slugs]


def _print_source(report: SourceReport, out: Console, *, short_names: bool = False) -> None:
    colour = {"rejected": "red", "partial": "yellow", "unchanged": "dim"}.get(
        report.status, "green"
    )
    counts = ", ".join(f"{n} {outcome.label}" for outcome, n in report.outcomes.items() if n)
    detail = f" ({counts})" if counts and report.format in {"json", "jsonl", "feed"} else ""
    if report.encoding.lower().replace("_", "-") not in {"utf-8", "ascii"}:
        detail += f" [decoded from {report.encoding}]"
    title = f" — {report.titles[0]}" if len(report.titles) == 1 else ""
    name = Path(report.source).name if short_names else report.source
    out.print(f"[{colour}]{report.status:>9}[/{colour}]  {safe(name)}{safe(title)}{safe(detail)}")
    for title in report.kept:
        out.print(
            f"           [yellow]kept staff's edit[/yellow] — {safe(title)} "
            "(the imported version waits in the admin; --overwrite takes it)"
        )
    for rejection in report.rejections:
        out.print(f"           [red]✗[/red] {safe(str(rejection))}")
    for warning in report.warnings:
        out.print(f"           [yellow]![/yellow] {safe(str(warning))}")


def run_import(
    engine: Engine,
    sources: list[str],
    settings: Settings,
    topics: list[TopicRef],
    *,
    communities: Sequence[str] = (),
    short_names: bool = False,
    overwrite: bool = False,
) -> ImportReport:
    from publisher.articles.formats import FetchPolicy
    from publisher.articles.importing import import_sources
    from publisher.articles.photos import PhotoIntake

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
            engine,
            sources,
            tz=settings.tz,
            add_topics=topics,
            add_communities=communities,
            on_source_done=on_done,
            fetch_policy=FetchPolicy.from_settings(settings),
            overwrite=overwrite,
            photos=PhotoIntake.from_settings(settings),
        )


def print_totals(report: ImportReport) -> None:
    from publisher.articles.store import SaveOutcome

    rejected = len(report.rejections)
    counts = [f"{report.count(outcome)} {outcome.label}" for outcome in SaveOutcome]
    colour = "red" if rejected else "green"
    warned = len(report.warnings)
    line = ", ".join([*counts, f"{rejected} rejected", *([f"{warned} warned"] if warned else [])])
    console.print(f"[{colour}]{line}[/{colour}] from {len(report.sources)} source(s).")


@articles_app.command("import")
def articles_import(
    ctx: typer.Context,
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders (searched recursively) or feed URLs.")
    ],
    topic: Annotated[
        list[str] | None,
        typer.Option(
            "--topic",
            "-t",
            metavar="TOPIC",
            help="Add this topic (slug) to every imported article; repeat for several.",
        ),
    ] = None,
    community: Annotated[
        list[str] | None,
        typer.Option(
            "--community",
            "-c",
            metavar="COMMUNITY",
            help="Every imported article concerns this local community (slug); repeat for "
            "several. Without it an article concerns the whole town (or what its file says).",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Take the imported version even of articles staff have edited "
            "(without it their edit is kept and the import's version waits in the admin).",
        ),
    ] = False,
) -> None:
    """Import articles from office exports, JSON (Lines) files and RSS or Atom feeds.

    The format is recognised by content. Every source is reported; a rejected one never
    stops the others, and the command exits with status 1 after importing the rest if
    anything was rejected.

    Each `--topic` is added to every imported article, beside the topics its file gives it
    (a JSON `topics` field, a feed's categories); a topic that does not exist yet is made.
    Each `--community` must exist already (`publisher communities list`).

    Examples:

    ```
    publisher articles import izvoz/                      # a folder, searched recursively
    publisher articles import novice.jsonl --topic promet
    publisher articles import https://www.example.org/feed.xml -t novice -t obcina
    publisher articles import zapora-vode.txt --community brsljin
    ```
    """
    from sqlmodel import Session

    from publisher.articles.store import SaveOutcome
    from publisher.communities import CommunityError, communities_by_slug

    context = get_context(ctx)
    engine = context.ready_engine()
    with Session(engine) as session:
        try:
            places = [c.slug for c in communities_by_slug(session, community or [])]
        except CommunityError as exc:
            fail(str(exc), 2)
    report = run_import(
        engine,
        paths,
        context.settings,
        _topic_refs(topic or []),
        communities=places,
        overwrite=overwrite,
    )
    print_totals(report)
    if report.count(SaveOutcome.imported) or report.count(SaveOutcome.updated):
        notify_hub(engine, context.settings)
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


@articles_app.command("list")
def articles_list(
    ctx: typer.Context,
    as_json: JsonOption = False,
    topic: Annotated[
        str | None, typer.Option("--topic", metavar="TOPIC", help="Only this topic (slug).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="DATE", help="Published on or after DATE (2025-03-07 or 7. 3. 2025)."
        ),
    ] = None,
    include_withdrawn: Annotated[
        bool, typer.Option("--all", help="Include withdrawn articles.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, metavar="N", help="At most N articles.")
    ] = None,
) -> None:
    """List articles, newest first.

    Examples:

    ```
    publisher articles list --topic promet --since 2025-03-01
    publisher articles list --all --json          # withdrawn ones too, for scripts
    ```
    """
    from publisher.articles.store import article_to_dict, list_articles
    from publisher.db import session_scope

    context = get_context(ctx)
    settings = context.settings
    since_at = _parse_since(since, settings) if since else None
    with session_scope(context.ready_engine()) as session:
        articles = list_articles(
            session, topic=topic, since=since_at, include_withdrawn=include_withdrawn, limit=limit
        )
        if as_json:
            print_json([article_to_dict(article, settings.tz) for article in articles])
            return
        table = Table("ID", "Date", "Title", "Topics", "Status", title="Articles")
        for article in articles:
            table.add_row(
                str(article.id),
                context.day(article.published_at),
                safe(article.title),
                safe(", ".join(t.slug for t in article.topics)),
                str(article.status),
            )
        print_table(table)
        print_note(f"{len(articles)} article(s).")


@articles_app.command("show")
def articles_show(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="ID", help="Article id or slug.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one article in full."""
    from publisher.articles.store import ArticleNotFound, article_to_dict, get_article
    from publisher.db import session_scope

    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            article = get_article(session, key)
        except ArticleNotFound as exc:
            fail(str(exc))
        if as_json:
            payload = article_to_dict(article, context.settings.tz)
            sys.stdout.write(dumps(payload) + "\n")
            return
        console.print(f"[bold]{safe(article.title)}[/bold]")
        console.print(
            f"#{article.id} · {context.day(article.published_at)} · {article.status} · "
            f"{safe(article.slug)} · topics: {', '.join(t.slug for t in article.topics) or '-'}"
        )
        if article.image_caption:
            console.print(f"[italic]Photo: {safe(article.image_caption)}[/italic]")
        console.print(f"[dim]source: {safe(article.source)} · id {article.uid}[/dim]\n")
        console.print(safe(article.body_text, lines=True))


def _change_status(ctx: typer.Context, key: str, status: ArticleStatus) -> None:
    from publisher.articles.store import ArticleNotFound, set_status
    from publisher.audit import command_line_actor
    from publisher.db import session_scope

    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            article, changed = set_status(session, key, status, actor=command_line_actor())
        except ArticleNotFound as exc:
            fail(str(exc))
        state = status.value if changed else f"already {status.value}"
        console.print(f"#{article.id} {safe(article.title)}: {state}.")
        topics = [topic.slug for topic in article.topics]
    if changed:
        notify_hub(context.engine, context.settings, topics)


def notify_hub(engine: Engine, settings: Settings, topics: list[str] | None = None) -> None:
    """Ping the WebSub hub in the background; the change is already committed."""
    from publisher.feeds.websub import notify_hub_of_changes

    def report(result: PingResult) -> None:
        if not result.ok:
            reason = next(iter(result.failed.values()))
            err_console.print(
                f"[yellow]Warning:[/yellow] the WebSub hub {safe(result.hub)} was not told "
                f"about {len(result.failed)} feed(s) ({safe(reason)}); aggregators will "
                "still see the change when they next poll."
            )

    if notify_hub_of_changes(engine, settings, topics, on_done=report) is not None:
        console.print(f"Notifying the WebSub hub {safe(str(settings.websub_hub))}.")


@articles_app.command("publish")
def articles_publish(ctx: typer.Context, key: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Publish an article (it appears in feeds and future digests)."""
    from publisher.articles.models import ArticleStatus

    _change_status(ctx, key, ArticleStatus.published)


@articles_app.command("withdraw")
def articles_withdraw(
    ctx: typer.Context, key: Annotated[str, typer.Argument(metavar="ID")]
) -> None:
    """Withdraw an article: it leaves feeds and future digests.

    The article is kept in the store; `publisher articles publish ID` brings it back.
    """
    from publisher.articles.models import ArticleStatus

    _change_status(ctx, key, ArticleStatus.withdrawn)


@topics_app.command("list")
def topics_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List topics with their number of published articles."""
    from publisher.articles.store import list_topics
    from publisher.db import session_scope

    with session_scope(get_context(ctx).ready_engine()) as session:
        topics = list_topics(session)
        if as_json:
            print_json(
                [
                    {"slug": t.slug, "name": t.name, "name_en": t.name_en, "articles": count}
                    for t, count in topics
                ]
            )
            return
        table = Table("Slug", "Name", "Articles", title="Topics")
        for topic, count in topics:
            table.add_row(topic.slug, safe(topic.name), str(count))
        print_table(table)


@topics_app.command("add")
def topics_add(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Short ASCII key, e.g. promet.")],
    name: Annotated[str, typer.Option("--name", help="Slovenian name, e.g. Promet.")],
    name_en: Annotated[
        str | None,
        typer.Option(
            "--name-en",
            help="English name, e.g. Traffic, shown on English pages and in English mail "
            '(without one they show the Slovenian name; "" removes it).',
        ),
    ] = None,
) -> None:
    """Create a topic, or rename an existing one."""
    from publisher.articles.store import save_topic
    from publisher.audit import command_line_actor
    from publisher.db import session_scope
    from publisher.slugs import slug_problem

    problem = slug_problem(slug)
    if problem is not None:
        fail(f"topic slug: {problem}")
    if not name.strip():
        fail("--name: give the topic's Slovenian name, e.g. Promet")
    with session_scope(get_context(ctx).ready_engine()) as session:
        try:
            topic = save_topic(
                session, slug, name.strip(), name_en=name_en, actor=command_line_actor()
            )
        except ValueError as exc:
            fail(f"--name-en: {exc}")
        console.print(f"Topic {topic.slug}: {safe(topic.name)}")
