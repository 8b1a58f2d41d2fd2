"""``publisher bounces``: process saved bounces, fetch them from a mailbox, or listen for them.

Thin: what a bounce means is :mod:`publisher.delivery.bounces`'s decision; this module finds
the messages, hands them over and prints what became of each.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from publisher.cli.context import console, err_console, fail, get_context, safe

if TYPE_CHECKING:
    from publisher.delivery.bounces import Handled

bounces_app = typer.Typer(help="Bounces and complaints: process, fetch or listen for them.")

STYLE = {"recorded": "bold", "duplicate": "dim", "ignored": "dim", "not_ours": "yellow"}


def describe(handled: Handled) -> str:
    """One line for one message: what it was, about whom, and what was done."""
    words = [f"[{STYLE[handled.disposition.value]}]{handled.disposition.value}[/]"]
    if handled.kind is not None:
        words.append(handled.kind.value)
    if handled.status:
        words.append(safe(handled.status))
    if handled.address:
        words.append(safe(handled.address))
    words.append(f"- {safe(handled.reason)}")
    return " ".join(words)


@bounces_app.command("process")
def process(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="Saved bounces: .eml files, mbox files, Maildirs or folders of them.",
        ),
    ],
) -> None:
    """Process bounces saved by hand (files or folders of messages).

    Each message is reported; one bad file or message never stops the others. Exits 1 if any
    could not be read or processed.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from publisher.delivery.bounces.saved import process_saved, saved_messages

    context = get_context(ctx)
    context.require_secret()  # VERP addresses are checked with the secret key
    engine = context.ready_engine()
    found = list(saved_messages(paths))
    if not found:
        fail("no messages found in " + ", ".join(str(p) for p in paths))
    counts: Counter[str] = Counter()
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal or len(found) < 20,
    )
    with progress:
        task = progress.add_task("Processing bounces", total=len(found))
        for item in process_saved(engine, context.settings, found):
            if item.handled is None:
                counts["error"] += 1
                err_console.print(f"{safe(item.name)}: [red]error[/red] - {safe(item.error)}")
            else:
                counts[item.handled.disposition.value] += 1
                console.print(f"{safe(item.name)}: {describe(item.handled)}")
            progress.advance(task)
    summary = ", ".join(f"{number} {what}" for what, number in sorted(counts.items()))
    console.print(f"{len(found)} message(s): {summary}.")
    if counts["error"]:
        raise typer.Exit(1)


@bounces_app.command("fetch")
def fetch(ctx: typer.Context) -> None:
    """Read the bounce mailbox (`bounce_imap_url`) once and process our bounces.

    Bounces of ours are processed and moved to `bounce_imap_folder`; everything else is left
    unread where it is. Each message is reported; exits 1 if any could not be processed, 2 if
    the mailbox could not be read.
    """
    from publisher.delivery.bounces.mailbox import Fetched, MailboxError, fetch_bounces

    context = get_context(ctx)
    context.require_secret()
    engine = context.ready_engine()
    settings = context.settings
    counts: Counter[str] = Counter()

    def report(result: Fetched) -> None:
        name = f"UID {result.uid}"
        if result.handled is not None:
            counts[result.handled.disposition.value] += 1
            moved = f" (moved to {safe(settings.bounce_imap_folder)})" if result.moved else ""
            console.print(f"{name}: {describe(result.handled)}{moved}")
        if result.error is not None:
            counts["error"] += 1
            err_console.print(f"{name}: [red]error[/red] - {safe(result.error)}")

    try:
        run = fetch_bounces(engine, settings, on_message=report)
    except MailboxError as exc:
        fail(str(exc), code=2)
    summary = ", ".join(f"{number} {what}" for what, number in sorted(counts.items()))
    console.print(
        f"{safe(run.mailbox)}: {len(run.results)} new message(s)"
        + (f": {summary}." if summary else ".")
    )
    if run.errors:
        raise typer.Exit(1)


@bounces_app.command("listen")
def listen(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to listen on [default: bounce_listen_host]."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port [default: bounce_listen_port, 2525]."),
    ] = None,
    lmtp: Annotated[bool, typer.Option("--lmtp", help="Speak LMTP instead of SMTP.")] = False,
) -> None:
    """Take bounces from the mail server (SMTP or LMTP) until stopped.

    The mail server hands over what arrives for the bounce domain.
    """
    import signal

    from publisher.delivery.bounces.listener import bounce_listener

    context = get_context(ctx)
    context.require_secret()
    engine = context.ready_engine()
    settings = context.settings
    host = host or settings.bounce_listen_host
    port = port or settings.bounce_listen_port

    def on_handled(recipient: str, handled: Handled) -> None:
        console.print(f"{safe(recipient)}: {describe(handled)}")

    server = bounce_listener(
        engine, settings, host=host, port=port, lmtp=lmtp, on_handled=on_handled
    )
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(
        f"Taking bounces for [bold]@{safe(settings.bounce_domain_in_force)}[/bold] over "
        f"{'LMTP' if lmtp else 'SMTP'} on {safe(host)}:{port}. Ctrl+C stops.",
    )
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    console.print("Stopped.")
