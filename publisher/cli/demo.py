"""The demo: the whole job on the embedded defaults, with the project's own sample data.

One command for a newcomer: the SQLite store, the sample articles, a list with sample
residents, the web app with the built-in mail catcher, and a digest really sent over SMTP to
the catcher; then where to look. Running it again changes nothing and sends nothing twice.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from publisher.cli.articles import articles_list, print_totals, run_import
from publisher.cli.context import console, fail, get_context, require_resources, safe
from publisher.resources import SAMPLES_DIR

if TYPE_CHECKING:
    from publisher.articles.importing import ImportReport
    from publisher.config import Settings
    from publisher.digests.periods import Period

DEMO_LIST = "tedenske-novice"
DEMO_STAFF = ("urednik@example.org", "novice-demo")
"""The demo's staff login, printed at the end; a real installation creates its own."""


def _import_articles(context, settings: Settings) -> ImportReport:  # type: ignore[no-untyped-def]
    from publisher.articles.drafts import TopicRef
    from publisher.articles.importing import ImportReport
    from publisher.articles.store import save_topic
    from publisher.db import session_scope

    topics = json.loads((SAMPLES_DIR / "topics.json").read_text(encoding="utf-8"))
    article_topics: dict[str, list[str]] = json.loads(
        (SAMPLES_DIR / "article-topics.json").read_text(encoding="utf-8")
    )
    with session_scope(context.engine) as session:
        for topic in topics:
            save_topic(session, topic["slug"], topic["name"], name_en=topic.get("name_en"))
    total = ImportReport()
    for path in sorted((SAMPLES_DIR / "articles").glob("*.txt")):
        refs = [TopicRef(slug=s, name=s) for s in article_topics.get(path.name, [])]
        imported = run_import(context.engine, [str(path)], settings, refs, short_names=True)
        total.sources += imported.sources
    return total


def _lists_and_residents(context) -> None:  # type: ignore[no-untyped-def]
    from publisher.db import session_scope
    from publisher.subscribers.csv_import import import_csv
    from publisher.subscribers.lists import ListNotFound, create_list, get_list

    with session_scope(context.engine) as session:
        for entry in json.loads((SAMPLES_DIR / "lists.json").read_text(encoding="utf-8")):
            try:
                get_list(session, entry["slug"])
            except ListNotFound:
                create_list(session, **entry)
    with session_scope(context.engine) as session:
        report = import_csv(session, SAMPLES_DIR / "subscribers.csv", DEMO_LIST, confirmed=True)
    summary = ", ".join(f"{count} {outcome}" for outcome, count in report.counts.items())
    console.print(f"Sample residents on [bold]{DEMO_LIST}[/bold] ({report.rows} rows): {summary}.")


def _demo_staff(context) -> str | None:  # type: ignore[no-untyped-def]
    """The demo login for the admin pages, where the staff module is installed."""
    try:
        from publisher.staff import accounts
        from publisher.staff.models import Role
    except ImportError:
        return None
    from publisher.db import session_scope

    email, password = DEMO_STAFF
    with session_scope(context.engine) as session:
        if accounts.find_staff(session, email) is None:
            accounts.add_staff(session, email, password, name="Urednik (demo)", role=Role.admin)
    return f"{email} / {password}"


def newest_week(context) -> Period | None:  # type: ignore[no-untyped-def]
    """The week of the newest published article: the demo's "this week" (the samples are
    dated in early 2025, so the calendar's current week has no news)."""
    from sqlalchemy import func, select
    from sqlmodel import Session

    from publisher.articles.models import Article
    from publisher.articles.store import public_clause
    from publisher.digests.periods import period_containing

    with Session(context.engine) as session:
        newest: datetime | None = session.execute(
            select(func.max(Article.published_at)).where(public_clause())  # type: ignore[arg-type]
        ).scalar_one()
    if newest is None:
        return None
    return period_containing(newest.astimezone(context.settings.tz).date())


def _start_web(app, host: str, port: int):  # type: ignore[no-untyped-def]
    import uvicorn

    from publisher.web.server import server_config

    server = uvicorn.Server(server_config(app, host, port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="demo-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            fail(f"the web app could not start on {host}:{port} (is the port in use?)")
        time.sleep(0.05)
    return server, thread


def demo(
    ctx: typer.Context,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Keep the site running afterwards.")
    ] = True,
) -> None:
    """Run the whole job once on sample data, then say where to look.

    Makes the store, imports sample news and residents, starts the web app with the mail
    catcher and sends this week's digest.
    """
    from publisher.cli.digest import render_send
    from publisher.cli.mailcatcher import DEV_MAIL_PATH, dev_mail_catcher
    from publisher.db import session_scope, upgrade
    from publisher.digests.content import edition_key
    from publisher.digests.editions import plan
    from publisher.digests.workflow import send_or_resume
    from publisher.feeds.models import FeedFormat
    from publisher.links import admin_url, archive_url, feed_url, home_url, subscribe_url
    from publisher.subscribers.lists import get_list
    from publisher.web.app import create_app

    require_resources(demo=True)
    context = get_context(ctx)
    context.ensure_secret()
    context.require_secret()
    settings = context.settings
    state = upgrade(context.engine)
    console.rule("[bold]publisher demo")
    console.print(f"Database {settings.database_url_safe} at migration {state.current}.")
    imported = _import_articles(context, settings)
    print_totals(imported)
    _lists_and_residents(context)
    login = _demo_staff(context)

    site = urlsplit(settings.base_url)
    host, port = site.hostname or "127.0.0.1", site.port or 80
    if host == "localhost":
        host = "127.0.0.1"
    app = create_app(settings, context.engine)
    with dev_mail_catcher(settings, app, host):
        server, thread = _start_web(app, host, port)
        try:
            period = newest_week(context)
            if period is None:
                fail("no articles to send")
            with session_scope(context.engine) as session:
                mailing_list = get_list(session, DEMO_LIST)
                planned = plan(session, settings, mailing_list, period)
            console.print(
                f"\nThis week's digest: [bold]{safe(mailing_list.name)}[/bold], {period.key}"
                f" ({len(planned.articles)} article(s), {planned.recipients} recipient(s))."
            )
            name = edition_key(DEMO_LIST, period.key)
            senders = app.state.senders
            with senders.stopped_by_signals():
                events = send_or_resume(
                    context.engine,
                    settings,
                    senders,
                    mailing_list,
                    period,
                    by="publisher demo",
                    wait=True,
                )
                render_send(events, name, context)
            console.print()
            ctx.invoke(articles_list, ctx=ctx, limit=5)
            base = settings.base_url
            if serve:
                console.rule("[bold]Where to look")
            else:
                command = _serve_command(host, port)
                console.rule("[bold]Where to look once the site runs")
                console.print(
                    f"The site is not running now. When you run `{command}` in this folder, "
                    "the demo is here (stop it with Ctrl+C):"
                )
            feeds = "  ".join(feed_url(settings, fmt.value) for fmt in FeedFormat)
            console.print(f"  Site:             {home_url(settings)}")
            console.print(f"  Caught mail:      {base}{DEV_MAIL_PATH}/")
            console.print(f"  This digest:      {archive_url(settings, DEMO_LIST, period.key)}")
            console.print(f"  Feeds:            {feeds}")
            console.print(f"  Subscribe page:   {subscribe_url(settings)}")
            if login:
                console.print(f"  Admin:            {admin_url(settings)}  (login: {login})")
            if serve:
                console.print("\nThe site and the mail catcher keep running; Ctrl+C stops them.")
                while thread.is_alive():
                    thread.join(timeout=0.5)
        except KeyboardInterrupt:
            console.print("\nStopped.")
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    if not imported.ok:
        raise typer.Exit(1)


def _serve_command(host: str, port: int) -> str:
    """The ``publisher serve`` that shows the demo at its ``base_url``, caught mail included."""
    command = "publisher serve --dev-smtp"
    if host != "127.0.0.1":
        command += f" --host {host}"
    return command if port == 8000 else f"{command} --port {port}"
