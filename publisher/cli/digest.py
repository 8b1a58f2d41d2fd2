"""``publisher digest``: preview, send, status, pause/resume/cancel/retry; ``publisher worker``.

The shell only parses and renders: what a send does (resume or approve, which languages, is
it finished) is :func:`publisher.digests.workflow.send_or_resume`'s decision, and each of its
events is drawn here (a Rich progress bar on a terminal). Domain modules are imported inside
the commands so that ``publisher --help`` starts at once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from publisher.cli.context import Context, console, err_console, fail, get_context, safe
from publisher.cli.output import JsonOption, print_json, print_table

if TYPE_CHECKING:
    from sqlmodel import Session

    from publisher.config import Settings
    from publisher.digests.editions import EditionPlan, EditionReport
    from publisher.digests.periods import Period
    from publisher.digests.workflow import SendEvent
    from publisher.subscribers.models import MailingList

digest_app = typer.Typer(
    help="The digest: preview (and, with editions, send).", no_args_is_help=True
)


def period_option(value: str | None, settings: Settings) -> Period:
    from publisher.digests.editions import resolve_period
    from publisher.digests.periods import BadPeriod

    try:
        return resolve_period(value, settings)
    except BadPeriod as exc:
        raise typer.BadParameter(str(exc)) from None


def _list_and_period(
    session: Session, settings: Settings, list_slug: str, period: str | None
) -> tuple[MailingList, Period]:
    from publisher.subscribers.lists import ListNotFound, get_list

    try:
        mailing_list = get_list(session, list_slug)
    except ListNotFound as exc:
        fail(str(exc))
    return mailing_list, period_option(period, settings)


def _language(value: str | None) -> str | None:
    from publisher.i18n import LANGUAGES

    if value is not None and value not in LANGUAGES:
        raise typer.BadParameter(f"use one of {', '.join(LANGUAGES)}", param_hint="--lang")
    return value


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
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write here instead of standard output."),
    ] = None,
    text: Annotated[
        bool, typer.Option("--text", help="The plain-text part instead of the HTML.")
    ] = False,
    eml: Annotated[
        Path | None,
        typer.Option("--eml", metavar="FILE", help="Write the whole raw message (.eml) here."),
    ] = None,
) -> None:
    """Write the exact HTML (or text) a subscriber gets for a period.

    Before sending, what will be sent; once approved, what was frozen and sent.
    """
    from publisher.db import session_scope
    from publisher.digests.editions import plan
    from publisher.digests.preview import preview as preview_of

    context = get_context(ctx)
    settings = context.settings
    chosen_language = _language(language)
    with session_scope(context.ready_engine()) as session:
        mailing_list, chosen = _list_and_period(session, settings, list_slug, period)
        planned = plan(session, settings, mailing_list, chosen)
        if not planned.articles:
            err_console.print(
                f"No articles for [bold]{safe(mailing_list.name)}[/bold] in {chosen.key}: "
                "an edition of this period would send nothing."
            )
            return
        lang = chosen_language or str(mailing_list.language)
        shown = preview_of(session, settings, planned, lang)
    rendered = shown.text if text else shown.html
    if out is not None:
        out.write_text(rendered, encoding="utf-8")
        err_console.print(
            f"Wrote {safe(out)} ({len(planned.articles)} article(s), language {lang})."
        )
    elif eml is None:  # a file was asked for: standard output stays quiet
        sys.stdout.write(rendered)
    if eml is not None:
        eml.write_bytes(shown.data)
        err_console.print(
            f"Wrote the whole message to {safe(eml)} ({len(shown.data):,} bytes, language {lang})."
        )


# --- preparing a draft: the editor's note and the articles' order ----------------------------


def _draft(session: Session, settings: Settings, list_slug: str, period: str | None):  # type: ignore[no-untyped-def]
    """The edition of (list, period), created as a draft if there is none yet."""
    from publisher.digests.editions import get_or_create_edition

    mailing_list, chosen = _list_and_period(session, settings, list_slug, period)
    return mailing_list, chosen, get_or_create_edition(session, mailing_list, chosen)


@digest_app.command("note")
def note(
    ctx: typer.Context,
    list_slug: Annotated[str, typer.Option("--list", help="The list's slug.")],
    text: Annotated[
        str | None, typer.Argument(help="The note: plain text, a blank line between paragraphs.")
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="e.g. 2025-W10; default: this week.")
    ] = None,
    language: Annotated[
        str, typer.Option("--language", "--lang", help="The note's language: sl or en.")
    ] = "sl",
    clear: Annotated[bool, typer.Option("--clear", help="Remove the note of --language.")] = False,
) -> None:
    """Set the editor's note at the top of a draft edition, in one language.

    The note is optional; each language shows only its own note.
    """
    from publisher.audit import command_line_actor
    from publisher.db import session_scope
    from publisher.digests.content import edition_key
    from publisher.digests.editing import EditionChangeRefused, set_edition_note

    if (text is None) == (not clear):
        raise typer.BadParameter("give the note's text, or --clear to remove it")
    lang = _language(language) or "sl"
    context = get_context(ctx)
    settings = context.settings
    try:
        with session_scope(context.ready_engine()) as session:
            mailing_list, chosen, edition = _draft(session, settings, list_slug, period)
            stored = set_edition_note(
                session, edition, lang, "" if clear else text or "", actor=command_line_actor()
            )
    except EditionChangeRefused as exc:
        fail(str(exc))
    name = edition_key(mailing_list.slug, chosen.key)
    if stored:
        console.print(f"Note ({lang}) of {safe(name)} saved: {len(stored)} characters.")
    else:
        console.print(f"Edition {safe(name)} has no note in {lang}.")


@digest_app.command("choose")
def choose(
    ctx: typer.Context,
    list_slug: Annotated[str, typer.Option("--list", help="The list's slug.")],
    ids: Annotated[
        list[int] | None, typer.Argument(help="Article ids, in the order the digest shows them.")
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="e.g. 2025-W10; default: this week.")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every article of the period again, newest first.")
    ] = False,
) -> None:
    """Choose which of the period's articles a draft edition carries, in what order."""
    from publisher.audit import command_line_actor
    from publisher.db import session_scope
    from publisher.digests.content import edition_key
    from publisher.digests.editing import EditionChangeRefused, choose_articles
    from publisher.digests.editions import plan

    if bool(ids) == every:
        raise typer.BadParameter("give the article ids in order, or --all for every article")
    context = get_context(ctx)
    settings = context.settings
    try:
        with session_scope(context.ready_engine()) as session:
            mailing_list, chosen, edition = _draft(session, settings, list_slug, period)
            stored = choose_articles(
                session,
                settings,
                edition,
                None if every else list(ids or []),
                actor=command_line_actor(),
            )
            planned = plan(session, settings, mailing_list, chosen)
    except EditionChangeRefused as exc:
        fail(str(exc))
    name = edition_key(mailing_list.slug, chosen.key)
    what = (
        "every article of the period, newest first"
        if stored is None
        else "the chosen ones, in the chosen order"
    )
    console.print(f"Edition {safe(name)} carries {len(planned.articles)} article(s): {what}.")
    _show_plan(planned, context)


# --- editions: send, status, control ---------------------------------------------------------


def _show_plan(plan: EditionPlan, context: Context) -> None:
    table = Table(
        "#", "Id", "Date", "Article", title=f"{safe(plan.mailing_list.name)}, {plan.period.key}"
    )
    for place, article in enumerate(plan.articles, start=1):
        table.add_row(
            str(place), str(article.id), context.day(article.published_at), safe(article.title)
        )
    print_table(table)
    console.print(f"Recipients: [bold]{plan.recipients}[/bold]")


def _progress_columns() -> list[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

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


def render_send(events: Iterable[SendEvent], name: str, context: Context) -> None:
    """Draw what :func:`send_or_resume` reports; exit 130 if a signal stopped the sender."""
    from rich.progress import Progress as Bar

    from publisher.digests import workflow

    bar: Bar | None = None
    task = None
    try:
        for event in events:
            match event:
                case workflow.Planned(plan=planned) if planned.edition is None or (
                    planned.edition.status == "draft"
                ):
                    if planned.articles:
                        _show_plan(planned, context)
                case workflow.NoArticles(message=message):
                    console.print(f"{safe(message)}: no edition made, nothing sent.")
                case workflow.Composed(preview=shown):
                    console.print(
                        f"Composed ({shown.language}): “{safe(shown.subject)}”, "
                        f"{len(shown.data):,} bytes."
                    )
                case workflow.Declined():
                    console.print("Nothing sent.")
                case workflow.AlreadyFinished(report=result):
                    console.print(
                        f"Edition {name} {result.state.described}; nothing is sent twice."
                    )
                    print_report(result, name, context.settings)
                case workflow.Resuming():
                    console.print(f"Edition {name} was started before; resuming.")
                case workflow.Started(report=result):
                    bar = Bar(
                        *_progress_columns(), console=console, disable=not console.is_terminal
                    )
                    bar.start()
                    task = bar.add_task(
                        "Sending",
                        total=result.total,
                        completed=result.done,
                        sent=0,
                        deferred=0,
                        failed=0,
                        rate=0.0,
                    )
                case workflow.Progress(tally=tally) if bar is not None and task is not None:
                    bar.update(
                        task,
                        completed=event.done,
                        sent=tally.sent,
                        deferred=tally.deferred,
                        failed=tally.failed,
                        rate=tally.rate,
                    )
                case workflow.Finished(report=result, stopped=stopped, refused=refused):
                    if bar is not None:
                        bar.stop()
                        bar = None
                    if refused is not None:
                        fail(refused)
                    if stopped:
                        err_console.print(
                            "Stopped. Run the same command again to resume; nobody is lost."
                        )
                        raise typer.Exit(130)
                    print_report(result, name, context.settings)
                    if result.held is not None:
                        console.print(
                            "`publisher serve` (or `publisher worker`) sends the rest then by "
                            "itself; or run this command again."
                        )
    finally:
        if bar is not None:
            bar.stop()


def print_report(result: EditionReport, name: str, settings: Settings | None = None) -> None:
    from publisher.delivery import limits

    counts = result.counts
    table = Table(
        "state",
        "recipients",
        "sent",
        "deferred",
        "failed",
        "queued",
        "cancelled",
        "bounced (hard/soft)",
        "complaints",
        title=f"Edition {name}",
    )
    bounces = result.bounces
    table.add_row(
        str(result.state),
        str(result.total),
        str(counts["sent"]),
        str(counts["deferred"]),
        str(counts["failed"]),
        str(counts["queued"] + counts["sending"]),
        str(counts["cancelled"]),
        f"{bounces['hard']}/{bounces['soft']}",
        str(bounces["complaint"]),
    )
    print_table(table)
    if result.job is not None and result.job.state_reason:
        console.print(f"[yellow]{safe(result.job.state_reason)}[/yellow]")
    if result.held is not None and settings is not None:
        console.print(f"[yellow]Waiting: {limits.describe(result.held, settings, 'en')}.[/yellow]")
    if result.top_failures:
        console.print("Top failure reasons:")
        for reply, count in result.top_failures:
            console.print(f"  {count:>6} × {safe(reply)}")
    if result.top_bounces:
        console.print("Bounces and complaints since (what the relay reported later):")
        for reason, count in result.top_bounces:
            console.print(f"  {count:>6} × {safe(reason)}")


@digest_app.command("send")
def send(
    ctx: typer.Context,
    list_slug: Annotated[str, typer.Option("--list", help="The list's slug.")],
    period: Annotated[
        str | None, typer.Option("--period", help="e.g. 2025-W10; default: this week.")
    ] = None,
    test_to: Annotated[
        str | None,
        typer.Option(
            "--test-to", metavar="ADDRESS", help="Send one test copy to this address only."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compose and count; send nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before sending.")] = False,
    language: Annotated[str, typer.Option("--lang", help="Language of a --test-to copy.")] = "sl",
) -> None:
    """Send the digest of a list for a period: once, to everyone, resumable.

    Examples:

    ```
    publisher digest send --list tedenske-novice --dry-run          # count, send nothing
    publisher digest send --list tedenske-novice --test-to urednik@example.org
    publisher digest send --list tedenske-novice --period 2025-W12 --yes
    ```
    """
    import asyncio

    from publisher.audit import command_line_actor
    from publisher.db import session_scope
    from publisher.delivery.smtp import Verdict
    from publisher.digests.content import edition_key
    from publisher.digests.editions import plan, send_test
    from publisher.digests.workflow import send_or_resume

    context = get_context(ctx)
    context.require_secret()
    settings = context.settings
    engine = context.ready_engine()
    lang = _language(language) or "sl"
    with session_scope(engine) as session:
        mailing_list, chosen = _list_and_period(session, settings, list_slug, period)
        planned = plan(session, settings, mailing_list, chosen) if test_to else None
    name = edition_key(mailing_list.slug, chosen.key)
    if test_to is not None:
        assert planned is not None
        if not planned.articles:
            console.print(f"No articles for {safe(mailing_list.name)} in {chosen.key}.")
            return
        outcome = asyncio.run(send_test(settings, planned, test_to, lang))
        if outcome.verdict is not Verdict.sent:
            fail(f"test copy to {test_to} not sent: {outcome.code or ''} {outcome.reply}")
        console.print(f"Test copy of {name} sent to {safe(test_to)} (no delivery recorded).")
        return

    def confirm(planned: EditionPlan) -> bool:
        return yes or typer.confirm(f"Send {name} to {planned.recipients} recipients?")

    senders = context.senders
    with senders.stopped_by_signals():
        render_send(
            send_or_resume(
                engine,
                settings,
                senders,
                mailing_list,
                chosen,
                by=command_line_actor(),
                confirm=confirm,
                dry_run=dry_run,
                wait=True,
            ),
            name,
            context,
        )
    if dry_run:
        console.print("Dry run: nothing was created or sent.")


@digest_app.command("status")
def status(
    ctx: typer.Context,
    edition: Annotated[str | None, typer.Argument(help="Edition id or LIST/PERIOD.")] = None,
    list_slug: Annotated[
        str | None, typer.Option("--list", metavar="LIST", help="Only this list.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show editions with their state and counts.

    For one edition, also who failed or waits, and why. With `--json`, one object per
    edition; for one edition it also holds `problems`, the failed and deferred recipients.

    Examples:

    ```
    publisher digest status                             # every edition
    publisher digest status tedenske-novice/2025-W12    # who failed or waits, and why
    publisher digest status --list tedenske-novice --json
    ```
    """
    from publisher.db import session_scope
    from publisher.delivery import ledger
    from publisher.delivery.bounces.reports import edition_bounces
    from publisher.digests.editions import (
        EditionNotFound,
        edition_name,
        editions_of,
        get_edition,
        report,
    )
    from publisher.subscribers.lists import ListNotFound, get_list

    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        if edition is not None:
            try:
                found = get_edition(session, edition)
            except EditionNotFound as exc:
                fail(str(exc))
            name = safe(edition_name(session, found))
            result = report(session, found, context.settings)
            if as_json:
                rows = ledger.problem_rows(session, found.job_id) if found.job_id else []
                record = _edition_record(context, edition_name(session, found), result)
                record["problems"] = [
                    {
                        "recipient": row.email,
                        "status": str(row.status),
                        "attempts": row.attempts,
                        "reply": f"{row.last_code or ''} {row.last_reply}".strip(),
                        "next_attempt_at": context.iso(row.next_attempt_at),
                    }
                    for row in rows
                ]
                print_json([record])
                return
            print_report(result, name, context.settings)
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
                        nxt = context.moment(row.next_attempt_at) if row.next_attempt_at else ""
                        reply = f"{row.last_code or ''} {row.last_reply}".strip()
                        table.add_row(
                            safe(row.email),
                            str(row.status),
                            str(row.attempts),
                            safe(reply[:120]),
                            nxt,
                        )
                    print_table(table)
                bounces = edition_bounces(session, found.job_id)
                if bounces:
                    table = Table(
                        "recipient",
                        "kind",
                        "status",
                        "diagnostic",
                        "received",
                        "id",
                        title="Bounces and complaints",
                    )
                    for bounce in bounces:
                        table.add_row(
                            safe(bounce.address),
                            safe(bounce.kind),
                            safe(bounce.status or "-"),
                            safe(bounce.diagnostic[:100] or "-"),
                            context.moment(bounce.received_at),
                            str(bounce.id),
                        )
                    print_table(table)
            return
        mailing_list = None
        if list_slug is not None:
            try:
                mailing_list = get_list(session, list_slug)
            except ListNotFound as exc:
                fail(str(exc))
        if as_json:
            print_json(
                [
                    _edition_record(context, edition_name(session, found), report(session, found))
                    for found in editions_of(session, mailing_list)
                ]
            )
            return
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
            approved = context.moment(found.approved_at) if found.approved_at else ""
            table.add_row(
                str(found.id),
                safe(edition_name(session, found)),
                str(result.state),
                str(result.total),
                str(result.counts["sent"]),
                str(result.counts["deferred"]),
                str(result.counts["failed"]),
                approved,
            )
        print_table(table)


def _edition_record(context: Context, name: str, result: EditionReport) -> dict[str, Any]:
    """One edition as ``digest status --json`` gives it."""
    counts, bounces = result.counts, result.bounces
    return {
        "id": result.edition.id,
        "edition": name,
        "period": result.edition.period_key,
        "state": str(result.state),
        "recipients": result.total,
        "sent": counts["sent"],
        "deferred": counts["deferred"],
        "failed": counts["failed"],
        "queued": counts["queued"] + counts["sending"],
        "cancelled": counts["cancelled"],
        "bounced_hard": bounces["hard"],
        "bounced_soft": bounces["soft"],
        "complaints": bounces["complaint"],
        "approved_at": context.iso(result.edition.approved_at),
    }


def _control(ctx: typer.Context, key: str, action: str) -> None:
    from publisher.audit import (
        CONTROL_DETAILS,
        EDITION_CONTROLS,
        QUEUED_AGAIN,
        AuditAction,
        command_line_actor,
        control_reason,
        detail_line,
        record,
    )
    from publisher.db import session_scope
    from publisher.digests.editions import (
        Control,
        EditionNotFound,
        EditionRefused,
        EditionState,
        control,
        edition_name,
        get_edition,
        report,
        retry,
    )

    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            found = get_edition(session, key)
            name = safe(edition_name(session, found))
            if action == Control.retry:
                count = retry(session, found)
                record(
                    session,
                    AuditAction.edition_retried,
                    actor=command_line_actor(),
                    subject=f"edition {found.id}",
                    detail=detail_line(QUEUED_AGAIN, count=count),
                )
                paused = report(session, found).state == EditionState.paused
                then = (
                    f"they are sent once it is resumed (`publisher digest resume {name}`)."
                    if paused
                    else "run `publisher digest send` or a worker to send them."
                )
                console.print(f"{count} failed recipient(s) of {name} queued again; {then}")
                return
            reason = control_reason(action, command_line_actor())
            result = control(session, found, Control(action), reason)
            record(
                session,
                EDITION_CONTROLS[action],
                actor=command_line_actor(),
                subject=f"edition {found.id}",
                detail=detail_line(CONTROL_DETAILS[action]),
            )
        except (EditionNotFound, EditionRefused) as exc:
            fail(str(exc))
    console.print(_controlled(action, name, result.counts["cancelled"]))


def _controlled(action: str, name: str, cancelled: int) -> str:
    """What a pause, resume or cancel did, as a sentence."""
    if action == "pause":
        return (
            f"Sending of {name} is paused: nobody is lost, nobody gets two copies. "
            f"`publisher digest resume {name}` goes on with it."
        )
    if action == "resume":
        return (
            f"Sending of {name} goes on: `publisher serve` or a running `publisher worker` "
            "picks it up (or run `publisher digest send` for it)."
        )
    return (
        f"The rest of {name} is cancelled: {cancelled} recipient(s) who had not received it "
        "yet will not get it."
    )


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
    """Send every approved edition's queue, until stopped.

    The queue is shared with any other workers on the same PostgreSQL database.
    """
    import time

    from publisher.delivery.worker import Tally
    from publisher.logs import configure
    from publisher.web.metrics import serve_worker_metrics

    context = get_context(ctx)
    context.require_secret()
    settings = context.settings
    configure(settings, service=True)
    try:
        metrics_server = serve_worker_metrics(context.ready_engine(), settings)
    except OSError as exc:
        fail(
            f"cannot serve metrics on {settings.worker_metrics_host}:"
            f"{settings.worker_metrics_port} ({exc.strerror or exc}): change worker_metrics_port"
        )
    if metrics_server is not None:
        host = settings.worker_metrics_host
        shown = f"[{host}]" if ":" in host else host
        console.print(f"Metrics at http://{safe(shown)}:{metrics_server.server_port}/metrics")
    last = [time.monotonic()]

    def on_progress(tally: Tally) -> None:
        if time.monotonic() - last[0] >= 5:
            last[0] = time.monotonic()
            console.print(
                f"sent {tally.sent} · deferred {tally.deferred} · failed {tally.failed}"
                f" · {tally.rate:.0f}/s"
            )

    senders = context.senders
    with senders.stopped_by_signals():
        sending = senders.start(
            None, by="publisher worker", until_idle=False, on_progress=on_progress
        )
        console.print(
            f"Worker {sending.worker.id} sending via {settings.smtp_host}:{settings.smtp_port}. "
            "Ctrl-C to stop."
        )
        sending.wait_forever()
    if metrics_server is not None:
        metrics_server.shutdown()
    if sending.refused is not None:
        fail(str(sending.refused))
    console.print("Worker stopped; its unsent recipients were handed back.")
