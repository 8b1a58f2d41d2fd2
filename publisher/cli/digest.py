"""The weekly digest: preview now; send, status and schedule come with editions."""

from __future__ import annotations

import asyncio
import getpass
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.engine import Engine

from publisher.cli.context import console, err_console, fail, get_context
from publisher.config import Settings
from publisher.db import session_scope, utcnow
from publisher.delivery import ledger
from publisher.delivery.models import JobState
from publisher.delivery.worker import AnotherSenderRunning, SendWorker, Tally
from publisher.digests.content import articles_for, compose, sample_recipient
from publisher.digests.editions import (
    EditionError,
    EditionNotFound,
    EditionPlan,
    EditionReport,
    NothingToSend,
    approve,
    control,
    edition_name,
    editions_of,
    get_edition,
    plan,
    report,
    retry,
    send_edition,
    send_test,
)
from publisher.digests.models import Edition, EditionStatus
from publisher.digests.periods import BadPeriod, Period, current_period, parse_period
from publisher.mail.compose import format_day
from publisher.subscribers.lists import ListNotFound, get_list

digest_app = typer.Typer(
    help="The digest: preview (and, with editions, send).", no_args_is_help=True
)


def period_option(value: str | None, tz: ZoneInfo) -> Period:
    if value is None:
        return current_period(tz)
    try:
        return parse_period(value)
    except BadPeriod as exc:
        raise typer.BadParameter(str(exc)) from None


@digest_app.command("preview")
def preview(
    ctx: typer.Context,
    list_slug: Annotated[str, typer.Option("--list", help="The list's slug.")],
    period: Annotated[
        str | None,
        typer.Option("--period", help="2025-W10, 2025-03 or 2025-03-07; default: this week."),
    ] = None,
    language: Annotated[
        str | None, typer.Option("--lang", help="sl or en; default: the list's.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of standard output.")
    ] = None,
    text: Annotated[
        bool, typer.Option("--text", help="The plain-text part instead of the HTML.")
    ] = False,
    eml: Annotated[
        Path | None, typer.Option("--eml", help="Also write the whole raw message (.eml).")
    ] = None,
) -> None:
    """Write the exact HTML (or text) a subscriber would get for a period, before sending."""
    context = get_context(ctx)
    settings = context.settings
    chosen = period_option(period, settings.tz)
    if language is not None and language not in ("sl", "en"):
        raise typer.BadParameter("use sl or en", param_hint="--lang")
    with session_scope(context.ready_engine()) as session:
        try:
            mailing_list = get_list(session, list_slug)
        except ListNotFound as exc:
            fail(str(exc))
        articles = articles_for(session, mailing_list, chosen, settings)
        if not articles:
            err_console.print(
                f"No articles for [bold]{escape(mailing_list.name)}[/bold] in {chosen.key}: "
                "an edition of this period would send nothing."
            )
            return
        lang = language or str(mailing_list.language)
        composed = compose(settings, mailing_list, chosen, articles, lang)
        data = composed.template.fill(
            sample_recipient(settings, mailing_list, chosen), now=utcnow()
        )
    rendered = _part(data, "text/plain" if text else "text/html")
    if out is None:
        sys.stdout.write(rendered)
    else:
        out.write_text(rendered, encoding="utf-8")
        err_console.print(f"Wrote {out} ({len(articles)} article(s), language {lang}).")
    if eml is not None:
        eml.write_bytes(data)
        err_console.print(f"Wrote {eml} ({len(data):,} bytes).")


def _part(message: bytes, content_type: str) -> str:
    """One part of the filled message, decoded as the subscriber's client would."""
    from email import message_from_bytes, policy

    parsed = message_from_bytes(message, policy=policy.default)
    for part in parsed.walk():
        if part.get_content_type() == content_type:
            return part.get_content().replace("\r\n", "\n")
    raise AssertionError(f"composed message without {content_type}")


# --- editions: send, status, control ---------------------------------------------------------


def _list_and_period(session, settings, list_slug: str, period: str | None):  # type: ignore[no-untyped-def]
    try:
        mailing_list = get_list(session, list_slug)
    except ListNotFound as exc:
        fail(str(exc))
    return mailing_list, period_option(period, settings.tz)


def _show_plan(plan: EditionPlan, settings: Settings) -> None:
    table = Table("Date", "Article", title=f"{plan.mailing_list.name}, {plan.period.key}")
    for article in plan.articles:
        table.add_row(format_day(article.published_at, "sl", settings.tz), escape(article.title))
    console.print(table)
    console.print(f"Recipients: [bold]{plan.recipients}[/bold]")


def _progress_columns() -> list[Any]:
    return [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "sent {task.fields[sent]} · deferred {task.fields[deferred]} · "
            "failed {task.fields[failed]} · {task.fields[rate]:.0f}/s"
        ),
        TimeRemainingColumn(),
    ]


def _run_send(engine: Engine, settings: Settings, edition_id: int, total: int, done: int) -> Tally:
    holder: list[SendWorker] = []
    with Progress(*_progress_columns(), console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(
            "Sending", total=total, completed=done, sent=0, deferred=0, failed=0, rate=0.0
        )

        def on_progress(tally: Tally) -> None:
            bar.update(
                task,
                completed=done + tally.sent + tally.failed,
                sent=tally.sent,
                deferred=tally.deferred,
                failed=tally.failed,
                rate=tally.rate,
            )

        try:
            tally = asyncio.run(
                stoppable(
                    send_edition(
                        engine, settings, edition_id, on_progress=on_progress, worker=holder
                    ),
                    holder,
                )
            )
        except KeyboardInterrupt:
            tally = None
        if tally is None or (holder and holder[0].stopped):
            err_console.print("Stopped. Run the same command again to resume; nobody is lost.")
            raise typer.Exit(130)
        return tally


async def stoppable(work: Coroutine[Any, Any, Tally], holder: list[SendWorker]) -> Tally:
    """Run a sender so that SIGTERM or SIGINT make it finish its batch, hand back what is
    unsent and return, instead of dying with recipients still claimed."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: [worker.request_stop() for worker in holder])
    return await work


def _print_report(result: EditionReport, name: str) -> None:
    counts = result.counts
    table = Table(
        "state",
        "recipients",
        "sent",
        "deferred",
        "failed",
        "queued",
        "cancelled",
        title=f"Edition {name}",
    )
    table.add_row(
        result.state,
        str(result.total),
        str(counts["sent"]),
        str(counts["deferred"]),
        str(counts["failed"]),
        str(counts["queued"] + counts["sending"]),
        str(counts["cancelled"]),
    )
    console.print(table)
    if result.job is not None and result.job.state_reason:
        console.print(f"[yellow]{escape(result.job.state_reason)}[/yellow]")
    if result.top_failures:
        console.print("Top failure reasons:")
        for reply, count in result.top_failures:
            console.print(f"  {count:>6} × {escape(reply)}")


@digest_app.command("send")
def send(
    ctx: typer.Context,
    list_slug: Annotated[str, typer.Option("--list", help="The list's slug.")],
    period: Annotated[
        str | None, typer.Option("--period", help="e.g. 2025-W10; default: this week.")
    ] = None,
    test_to: Annotated[
        str | None, typer.Option("--test-to", help="Send one test copy to this address only.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compose and count; send nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before sending.")] = False,
    language: Annotated[str, typer.Option("--lang", help="Language of a --test-to copy.")] = "sl",
) -> None:
    """Send the digest of a list for a period: once, to everyone, resumable."""
    context = get_context(ctx)
    settings = context.settings
    engine = context.ready_engine()
    with session_scope(engine) as session:
        mailing_list, chosen = _list_and_period(session, settings, list_slug, period)
        planned = plan(session, settings, mailing_list, chosen)
        name = f"{mailing_list.slug}/{chosen.key}"
        if not planned.articles:
            console.print(
                f"No articles for {escape(mailing_list.name)} in {chosen.key}: "
                "no edition made, nothing sent."
            )
            return
        if test_to is not None:
            outcome = asyncio.run(
                send_test(settings, mailing_list, chosen, planned.articles, test_to, language)
            )
            if outcome.verdict.value != "sent":
                fail(f"test copy to {test_to} not sent: {outcome.code or ''} {outcome.reply}")
            console.print(f"Test copy of {name} sent to {escape(test_to)} (no delivery recorded).")
            return
        existing = planned.edition
        if existing is not None and existing.status == EditionStatus.approved:
            result = report(session, existing)
            if result.state in ("sent", "cancelled", "no recipients"):
                console.print(f"Edition {name} is already {result.state}; nothing to send.")
                _print_report(result, name)
                return
            console.print(f"Edition {name} was started before; resuming.")
            edition_id = existing.id
        else:
            _show_plan(planned, settings)
            if dry_run:
                for lang in ("sl", "en"):
                    composed = compose(settings, mailing_list, chosen, planned.articles, lang)
                    size = len(
                        composed.template.fill(
                            sample_recipient(settings, mailing_list, chosen), now=utcnow()
                        )
                    )
                    console.print(
                        f"Composed ({lang}): “{escape(composed.subject)}”, {size:,} bytes."
                    )
                console.print("Dry run: nothing was created or sent.")
                return
            if not yes and not typer.confirm(f"Send {name} to {planned.recipients} recipients?"):
                console.print("Nothing sent.")
                return
            try:
                edition = approve(
                    session,
                    settings,
                    mailing_list,
                    chosen,
                    approved_by=f"{getpass.getuser()} (command line)",
                )
            except NothingToSend as exc:
                console.print(str(exc))
                return
            edition_id = edition.id
        result = report(session, session.get(Edition, edition_id))
    done = result.counts["sent"] + result.counts["failed"] + result.counts["cancelled"]
    try:
        _run_send(engine, settings, edition_id or 0, result.total, done)
    except AnotherSenderRunning as exc:
        fail(str(exc))
    with session_scope(engine) as session:
        _print_report(report(session, session.get(Edition, edition_id)), name)


@digest_app.command("status")
def status(
    ctx: typer.Context,
    edition: Annotated[str | None, typer.Argument(help="Edition id or LIST/PERIOD.")] = None,
    list_slug: Annotated[str | None, typer.Option("--list", help="Only this list.")] = None,
) -> None:
    """Editions with their state and counts; for one edition, who failed or waits, and why."""
    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        if edition is not None:
            try:
                found = get_edition(session, edition)
            except EditionNotFound as exc:
                fail(str(exc))
            name = edition_name(session, found)
            result = report(session, found)
            _print_report(result, name)
            if found.job_id is not None:
                rows = ledger.problem_rows(session, found.job_id)
                if rows:
                    table = Table(
                        "recipient",
                        "status",
                        "attempts",
                        "reply",
                        "next attempt",
                        title="Failed and deferred recipients",
                    )
                    for row in rows:
                        nxt = (
                            row.next_attempt_at.astimezone(context.settings.tz).strftime(
                                "%d. %m. %H:%M"
                            )
                            if row.next_attempt_at
                            else ""
                        )
                        reply = f"{row.last_code or ''} {row.last_reply}".strip()
                        table.add_row(
                            escape(row.email),
                            str(row.status),
                            str(row.attempts),
                            escape(reply[:120]),
                            nxt,
                        )
                    console.print(table)
            return
        mailing_list = None
        if list_slug is not None:
            try:
                mailing_list = get_list(session, list_slug)
            except ListNotFound as exc:
                fail(str(exc))
        table = Table(
            "id",
            "edition",
            "state",
            "recipients",
            "sent",
            "deferred",
            "failed",
            "approved",
            title="Editions",
        )
        for found in editions_of(session, mailing_list):
            result = report(session, found)
            approved = (
                found.approved_at.astimezone(context.settings.tz).strftime("%d. %m. %Y %H:%M")
                if found.approved_at
                else ""
            )
            table.add_row(
                str(found.id),
                edition_name(session, found),
                result.state,
                str(result.total),
                str(result.counts["sent"]),
                str(result.counts["deferred"]),
                str(result.counts["failed"]),
                approved,
            )
        console.print(table)


def _control(ctx: typer.Context, key: str, action: str) -> None:
    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            found = get_edition(session, key)
            name = edition_name(session, found)
            if action == "retry":
                count = retry(session, found)
                console.print(
                    f"{count} failed recipient(s) of {name} queued again; "
                    "run `publisher digest send` or a worker to send them."
                )
                return
            state = {
                "pause": JobState.paused,
                "resume": JobState.active,
                "cancel": JobState.cancelled,
            }[action]
            reason = f"{action}d by {getpass.getuser()} (command line)"
            result = control(session, found, state, reason)
        except (EditionNotFound, EditionError) as exc:
            fail(str(exc))
        console.print(f"Edition {name}: {result.state}.")


@digest_app.command("pause")
def pause(
    ctx: typer.Context, edition: Annotated[str, typer.Argument(help="Id or LIST/PERIOD.")]
) -> None:
    """Pause sending (within a second); nobody is lost, nobody gets two copies."""
    _control(ctx, edition, "pause")


@digest_app.command("resume")
def resume(
    ctx: typer.Context, edition: Annotated[str, typer.Argument(help="Id or LIST/PERIOD.")]
) -> None:
    """Resume a paused edition (a running worker, or `digest send`, picks it up)."""
    _control(ctx, edition, "resume")


@digest_app.command("cancel")
def cancel(
    ctx: typer.Context, edition: Annotated[str, typer.Argument(help="Id or LIST/PERIOD.")]
) -> None:
    """Cancel the rest of an edition: who has not received it yet, will not."""
    _control(ctx, edition, "cancel")


@digest_app.command("retry")
def retry_command(
    ctx: typer.Context, edition: Annotated[str, typer.Argument(help="Id or LIST/PERIOD.")]
) -> None:
    """Queue the failed recipients of an edition again."""
    _control(ctx, edition, "retry")


def worker_command(ctx: typer.Context) -> None:
    """Run a sender until stopped: it sends every approved edition's queue, shared with any
    other workers on the same PostgreSQL database."""
    context = get_context(ctx)
    engine = context.ready_engine()
    last = [utcnow()]

    def on_progress(tally: Tally) -> None:
        if (utcnow() - last[0]).total_seconds() >= 5:
            last[0] = utcnow()
            console.print(
                f"sent {tally.sent} · deferred {tally.deferred} · failed {tally.failed}"
                f" · {tally.rate:.0f}/s"
            )

    sender = SendWorker(engine, context.settings, on_progress=on_progress)
    holder = [sender]
    console.print(
        f"Worker {sender.id} sending via {context.settings.smtp_host}:"
        f"{context.settings.smtp_port}. Ctrl-C to stop."
    )
    try:
        asyncio.run(stoppable(sender.run(until_idle=False), holder))
    except AnotherSenderRunning as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        console.print("Worker stopped; its unsent recipients were handed back.")
