"""Mailing lists and subscribers: create lists, add, import, export, show, remove and erase."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from publisher.cli.context import choice, console, dumps, fail, get_context, safe
from publisher.cli.output import JsonOption, print_json, print_table

if TYPE_CHECKING:
    from sqlmodel import Session

    from publisher.cli.context import Context
    from publisher.subscribers.csv_import import CsvImportReport
    from publisher.subscribers.models import MailingList

lists_app = typer.Typer(help="Mailing lists residents subscribe to.", no_args_is_help=True)
subscribers_app = typer.Typer(
    help="The register of subscribers: add, import, export, show, erase.",
    no_args_is_help=True,
)

ListOption = Annotated[str, typer.Option("--list", "-l", help="The list's slug.")]


def _local(value: str | None, context: Context) -> str:
    """A moment the register reports as ISO text, as the CLI writes dates."""
    return context.moment(datetime.fromisoformat(value) if value else None)


# Lists -------------------------------------------------------------------------------------


@lists_app.command("create")
def lists_create(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Permanent key used in links, e.g. tedenske-novice.")],
    name: Annotated[str, typer.Option("--name", help="The list's name, e.g. Tedenske novice.")],
    name_en: Annotated[
        str | None,
        typer.Option(
            "--name-en",
            help="English name, e.g. Weekly news, shown on English pages and in English mail "
            "(without one they show the Slovenian name).",
        ),
    ] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    private: Annotated[
        bool, typer.Option("--private", help="Not offered on the public subscribe page.")
    ] = False,
    language: Annotated[
        str, typer.Option("--language", help="Language of new subscribers by default.")
    ] = "sl",
    topic: Annotated[
        list[str] | None, typer.Option("--topic", "-t", help="A topic the list carries.")
    ] = None,
) -> None:
    """Create a mailing list carrying some topics."""
    from publisher.audit import command_line_actor
    from publisher.db import session_scope
    from publisher.i18n import Language
    from publisher.subscribers.errors import RegisterError
    from publisher.subscribers.lists import create_list

    chosen_language = choice(Language, language, "--language")
    with session_scope(get_context(ctx).ready_engine()) as session:
        try:
            created = create_list(
                session,
                slug,
                name,
                name_en=name_en,
                description=description,
                public=not private,
                language=chosen_language,
                topics=topic or [],
                actor=command_line_actor(),
            )
        except RegisterError as exc:
            fail(str(exc))
        topics = ", ".join(topic or []) or "no topics"
        console.print(f"List {created.slug}: {safe(created.name)} ({topics}).")


@lists_app.command("list")
def lists_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every list with its subscriptions by status."""
    from publisher.db import session_scope
    from publisher.subscribers.lists import all_lists, list_topic_slugs, status_counts
    from publisher.subscribers.models import SubscriptionStatus

    with session_scope(get_context(ctx).ready_engine()) as session:
        counts = status_counts(session)
        lists = all_lists(session)
        if as_json:
            print_json([_list_record(session, m, counts) for m in lists])
            return
        table = Table(title="Lists")
        table.add_column("Slug", no_wrap=True, min_width=max([4, *(len(m.slug) for m in lists)]))
        table.add_column("Name")
        table.add_column("Access")
        table.add_column("Topics")
        for status in SubscriptionStatus:
            table.add_column(status.value, justify="right")
        for mailing_list in lists:
            assert mailing_list.id is not None
            by_status = counts.get(mailing_list.id, {})
            table.add_row(
                safe(mailing_list.slug),
                safe(mailing_list.name),
                "public" if mailing_list.public else "private",
                safe(", ".join(list_topic_slugs(session, mailing_list.id)) or "-"),
                *[str(by_status.get(s.value, 0)) for s in SubscriptionStatus],
            )
        print_table(table)


@lists_app.command("show")
def lists_show(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(metavar="LIST", help="The list's slug.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the list as a JSON object, for scripts.")
    ] = False,
) -> None:
    """One list: its settings and subscriptions by status."""
    from publisher.db import session_scope
    from publisher.subscribers.errors import RegisterError
    from publisher.subscribers.lists import get_list, list_topic_slugs, status_counts
    from publisher.subscribers.models import SubscriptionStatus

    with session_scope(get_context(ctx).ready_engine()) as session:
        try:
            mailing_list = get_list(session, slug)
        except RegisterError as exc:
            fail(str(exc))
        assert mailing_list.id is not None
        if as_json:
            print_json(_list_record(session, mailing_list, status_counts(session, mailing_list.id)))
            return
        console.print(f"[bold]{safe(mailing_list.name)}[/bold] ({mailing_list.slug})")
        if mailing_list.description:
            console.print(safe(mailing_list.description))
        topics = safe(", ".join(list_topic_slugs(session, mailing_list.id)) or "-")
        access = "public" if mailing_list.public else "private"
        console.print(f"{access} · language {mailing_list.language} · topics: {topics}")
        by_status = status_counts(session, mailing_list.id).get(mailing_list.id, {})
        table = Table("Status", "Subscribers")
        for status in SubscriptionStatus:
            table.add_row(status.value, str(by_status.get(status.value, 0)))
        table.add_row("[bold]total[/bold]", f"[bold]{sum(by_status.values())}[/bold]")
        print_table(table)


def _list_record(
    session: Session, mailing_list: MailingList, counts: Mapping[int, Mapping[str, int]]
) -> dict[str, object]:
    """One list as ``lists list --json`` and ``lists show --json`` give it."""
    from publisher.subscribers.lists import list_topic_slugs
    from publisher.subscribers.models import SubscriptionStatus

    assert mailing_list.id is not None
    by_status = counts.get(mailing_list.id, {})
    return {
        "slug": mailing_list.slug,
        "name": mailing_list.name,
        "name_en": mailing_list.name_en,
        "description": mailing_list.description,
        "public": mailing_list.public,
        "language": str(mailing_list.language),
        "topics": list_topic_slugs(session, mailing_list.id),
        "subscriptions": {s.value: by_status.get(s.value, 0) for s in SubscriptionStatus},
    }


# Subscribers -------------------------------------------------------------------------------


@subscribers_app.command("add")
def subscribers_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument()],
    list_slug: ListOption,
    name: Annotated[str | None, typer.Option("--name")] = None,
    language: Annotated[str | None, typer.Option("--language", help="e.g. en.")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", "-t")] = None,
    confirmed: Annotated[
        bool,
        typer.Option(
            "--confirmed",
            help="Staff vouch for the consent (recorded as such); otherwise the address is "
            "pending until its owner confirms.",
        ),
    ] = False,
) -> None:
    """Add one address to a list (staff)."""
    from publisher.addresses import (
        NO_UTF8_MAILBOXES,
        InvalidAddress,
        mailbox_unreachable,
        needs_smtputf8,
    )
    from publisher.db import session_scope
    from publisher.delivery.outbox import relay_offers_smtputf8
    from publisher.i18n import Language
    from publisher.subscribers.errors import RegisterError
    from publisher.subscribers.models import Source
    from publisher.subscribers.subscriptions import subscribe

    chosen_language = choice(Language, language, "--language") if language else None
    context = get_context(ctx)
    if needs_smtputf8(email) and mailbox_unreachable(
        email, relay_offers_smtputf8(context.settings)
    ):
        fail(f"{email.strip()}: {NO_UTF8_MAILBOXES}")
    with session_scope(context.ready_engine()) as session:
        try:
            result = subscribe(
                session,
                email,
                list_slug,
                source=Source.staff,
                name=name,
                language=chosen_language,
                topics=topic or [],
                confirmed=confirmed,
                evidence="added by staff with --confirmed" if confirmed else "",
            )
        except (InvalidAddress, RegisterError) as exc:
            fail(f"{email.strip()}: {exc}" if isinstance(exc, InvalidAddress) else str(exc))
        console.print(
            f"{safe(result.subscriber.email)} on {list_slug}: {result.subscription.status} "
            f"({result.outcome})."
        )


def _print_report(report: CsvImportReport, *, dry_run: bool) -> None:
    from publisher.subscribers.csv_import import RowOutcome

    for rejection in report.rejections:
        console.print(f"[red]✗[/red] {safe(Path(report.source).name)}:{safe(str(rejection))}")
    if report.ignored_columns:
        console.print(
            f"[yellow]Ignored columns:[/yellow] {safe(', '.join(report.ignored_columns))}"
        )
    table = Table("Outcome", "Rows", title=safe(f"{Path(report.source).name} → {report.list_slug}"))
    for outcome in RowOutcome:
        colour = "red" if outcome is RowOutcome.rejected and report.counts[outcome] else ""
        count = str(report.counts[outcome])
        table.add_row(outcome.value, f"[{colour}]{count}[/{colour}]" if colour else count)
    table.add_row("[bold]rows read[/bold]", f"[bold]{report.rows}[/bold]")
    print_table(table)
    if report.encoding not in {"utf-8", "utf-8-sig"}:
        console.print(f"[dim]decoded from {report.encoding}[/dim]")
    if dry_run:
        console.print("[yellow]Dry run: nothing was saved.[/yellow]")


@subscribers_app.command("import")
def subscribers_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="email[,name,language,topics]")],
    list_slug: ListOption,
    confirmed: Annotated[
        bool,
        typer.Option(
            "--confirmed",
            help="The residents already consented (recorded as a staff import of this file).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count everything, save nothing.")
    ] = False,
) -> None:
    """Import subscribers from a CSV file (UTF-8 or Windows-1250, comma or semicolon).

    Bad rows are reported with their line and reason while the rest import; duplicates are
    merged; suppressed or unsubscribed addresses are skipped. Exits 1 if any row was rejected.
    """
    from sqlmodel import Session

    from publisher.delivery.outbox import relay_offers_smtputf8
    from publisher.subscribers.csv_import import CsvFileError, import_csv
    from publisher.subscribers.errors import RegisterError

    context = get_context(ctx)
    engine = context.ready_engine()
    if not file.is_file():
        fail(f"{file}: no such file")
    utf8_mailboxes = relay_offers_smtputf8(context.settings) is not False
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with Session(engine, expire_on_commit=False) as session, progress:
        task = progress.add_task(f"Importing {file.name}", total=file.stat().st_size)

        def on_progress(rows: int, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            report = import_csv(
                session,
                file,
                list_slug,
                confirmed=confirmed,
                on_progress=on_progress,
                utf8_mailboxes=utf8_mailboxes,
            )
        except (CsvFileError, RegisterError) as exc:
            session.rollback()
            progress.stop()
            fail(str(exc))
        if dry_run:
            session.rollback()
        else:
            session.commit()
    _print_report(report, dry_run=dry_run)
    if not report.ok:
        raise typer.Exit(1)


@subscribers_app.command("export")
def subscribers_export(
    ctx: typer.Context,
    list_slug: ListOption,
    status: Annotated[
        str | None, typer.Option("--status", help="Only this status, e.g. confirmed.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="FILE", help="Write here instead of standard output."),
    ] = None,
) -> None:
    """Export a list's subscribers (header: email,name,language,status,…)."""
    from publisher import audit
    from publisher.audit import AuditAction, command_line_actor, record
    from publisher.db import session_scope
    from publisher.subscribers.errors import RegisterError
    from publisher.subscribers.export import export_rows, write_csv, write_json
    from publisher.subscribers.lists import get_list
    from publisher.subscribers.models import SubscriptionStatus

    if fmt not in {"csv", "json"}:
        raise typer.BadParameter("use csv or json", param_hint="--format")
    chosen_status = choice(SubscriptionStatus, status, "--status") if status else None
    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            get_list(session, list_slug)
        except RegisterError as exc:
            fail(str(exc))
        record(
            session,
            AuditAction.register_export,
            actor=command_line_actor(),
            subject=list_slug,
            detail=audit.detail_line(
                audit.EXPORTED_TO_FILE,
                status=chosen_status or audit.EVERY_STATUS,
                format=fmt,
            ),
        )
        rows = export_rows(session, list_slug, status=chosen_status, tz=context.settings.tz)
        target: IO[str]
        with (
            out.open("w", encoding="utf-8", newline="") if out else nullcontext(sys.stdout)
        ) as target:
            count = (write_csv if fmt == "csv" else write_json)(rows, target)
    if out:
        console.print(f"{count} subscriber(s) written to {safe(str(out))}.")


@subscribers_app.command("show")
def subscribers_show(ctx: typer.Context, email: Annotated[str, typer.Argument()]) -> None:
    """One subscriber: lists and statuses, topics, consents, suppression."""
    from publisher.addresses import address_hash
    from publisher.db import session_scope
    from publisher.delivery.bounces.reports import history
    from publisher.subscribers.errors import RegisterError
    from publisher.subscribers.privacy import subscriber_data
    from publisher.subscribers.subscriptions import get_subscriber
    from publisher.subscribers.suppression import suppression_of

    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            data = subscriber_data(session, email)
            bounces = history(session, get_subscriber(session, email).id or 0)
        except RegisterError:
            suppression = suppression_of(session, address_hash(email))
            note = f"; the address is suppressed ({suppression.reason})" if suppression else ""
            fail(f"no subscriber {email.strip()}{note}")
    console.print(f"[bold]{safe(data['email'])}[/bold] {safe(data['name'])}")
    topics = safe(", ".join(data["topics"]) or "all topics")
    since = _local(data["created_at"], context)
    console.print(f"language {safe(data['language'])} · since {since} · {topics}")
    table = Table("List", "Status", "Source", "Subscribed", "Confirmed", "Unsubscribed")
    for sub in data["subscriptions"]:
        table.add_row(
            safe(sub["list"]),
            safe(sub["status"]),
            safe(sub["source"]),
            _local(sub["subscribed_at"], context),
            _local(sub["confirmed_at"], context),
            _local(sub["unsubscribed_at"], context),
        )
    print_table(table)
    consents = Table("Consent given", "List", "Source", "IP", "Wording", "Evidence")
    for consent in data["consents"]:
        consents.add_row(
            _local(consent["given_at"], context),
            safe(consent["list"] or "-"),
            safe(consent["source"]),
            safe(consent["ip_address"] or "-"),
            safe(consent["wording_version"]) or "-",
            safe(consent["evidence"]) or "-",
        )
    print_table(consents)
    suppression = data["suppression"]
    if suppression:
        console.print(
            f"[red]Suppressed[/red] ({safe(suppression['reason'])}) since "
            f"{_local(suppression['since'], context)}: receives no mail."
        )
    else:
        console.print("Not suppressed.")
    if bounces:
        table = Table("Bounced", "Edition", "Kind", "Status", "Diagnostic", "Via", "Id")
        for bounce, edition in bounces:
            table.add_row(
                context.moment(bounce.received_at),
                safe(edition or "-"),
                safe(bounce.kind),
                safe(bounce.status or "-"),
                safe(bounce.diagnostic[:100] or "-"),
                safe(bounce.source),
                str(bounce.id),
            )
        print_table(table)
    else:
        console.print("No bounces or complaints.")


@subscribers_app.command("remove")
def subscribers_remove(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument()],
    list_slug: Annotated[
        str | None,
        typer.Option("--list", "-l", help="Only this list; without it, every list (suppressed)."),
    ] = None,
) -> None:
    """Unsubscribe an address from one list, or from all lists."""
    from publisher.db import session_scope
    from publisher.subscribers.errors import RegisterError
    from publisher.subscribers.subscriptions import unsubscribe

    with session_scope(get_context(ctx).ready_engine()) as session:
        try:
            left = unsubscribe(session, email, list_slug)
        except RegisterError as exc:
            fail(str(exc))
    where = ", ".join(left) if left else "no list (it was not subscribed)"
    console.print(f"{safe(email.strip())}: unsubscribed from {where}.")
    if list_slug is None:
        console.print("The address is suppressed: no import or staff action can add it back.")


@subscribers_app.command("lift-suppression")
def subscribers_lift_suppression(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument()],
    reason: Annotated[
        str,
        typer.Option(
            "--reason", help="Why the bounce or complaint was a false positive (audit log)."
        ),
    ],
) -> None:
    """Mail an address again after a bounce or complaint that was a false positive."""
    from publisher.audit import command_line_actor
    from publisher.db import session_scope
    from publisher.subscribers.errors import RegisterError
    from publisher.subscribers.suppression import lift_suppression

    with session_scope(get_context(ctx).ready_engine()) as session:
        try:
            was = lift_suppression(session, email, why=reason, actor=command_line_actor())
        except RegisterError as exc:
            fail(str(exc))
    console.print(f"{safe(email.strip())}: suppression ({was}) lifted; it receives mail again.")


@subscribers_app.command("erase")
def subscribers_erase(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument()],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """GDPR erasure: delete the person and everything about them; keep only the hash."""
    from publisher.audit import AuditAction, command_line_actor, record
    from publisher.db import session_scope
    from publisher.subscribers.errors import RegisterError
    from publisher.subscribers.privacy import erase
    from publisher.subscribers.subscriptions import find_subscriber

    if not yes:
        typer.confirm(f"Erase {email.strip()} and everything held about them?", abort=True)
    with session_scope(get_context(ctx).ready_engine()) as session:
        found = find_subscriber(session, email)
        try:
            digest = erase(session, email)
        except RegisterError as exc:
            fail(str(exc))
        # By number, never the address: the log must not keep what the erasure removed.
        subject = f"subscriber {found.id if found else '?'}"
        record(session, AuditAction.erasure, actor=command_line_actor(), subject=subject)
    console.print(f"Erased. Kept only the suppression hash {digest[:12]}….")


@subscribers_app.command("data")
def subscribers_data(ctx: typer.Context, email: Annotated[str, typer.Argument()]) -> None:
    """GDPR access: everything held about one person, as JSON on standard output."""
    from publisher.audit import AuditAction, command_line_actor, record
    from publisher.db import session_scope
    from publisher.delivery.privacy import person_data
    from publisher.subscribers.errors import RegisterError
    from publisher.subscribers.subscriptions import find_subscriber

    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            data = person_data(session, email, context.settings.tz)
        except RegisterError as exc:
            fail(str(exc))
        found = find_subscriber(session, email)
        subject = f"subscriber {found.id if found else '?'}"
        record(session, AuditAction.data_download, actor=command_line_actor(), subject=subject)
    sys.stdout.write(dumps(data) + "\n")
