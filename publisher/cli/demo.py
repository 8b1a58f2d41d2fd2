"""The demo: the whole job on the embedded defaults, with the project's own sample data."""

from __future__ import annotations

import json
from importlib import resources

import typer

from publisher.articles.drafts import TopicRef
from publisher.articles.importing import ImportReport
from publisher.articles.store import save_topic
from publisher.cli.articles import articles_list, print_totals, run_import
from publisher.cli.context import console, get_context
from publisher.db import session_scope, upgrade


def demo(ctx: typer.Context) -> None:
    """Set up the embedded database, import the bundled sample articles and list them."""
    context = get_context(ctx)
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
            imported = run_import(context.engine, [str(path)], settings, refs, short_names=True)
            total.sources += imported.sources
    print_totals(total)
    console.print()
    ctx.invoke(articles_list, ctx=ctx)
    if not total.ok:
        raise typer.Exit(1)
