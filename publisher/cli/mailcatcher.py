"""``publisher mailcatcher`` and ``serve --dev-smtp``: the development mail catcher.

Both start the catcher's SMTP server (aiosmtpd, loopback only) and its page; the first on its
own, the second inside the public web app at ``/dev/mail``. Neither is ever on unless asked
for on the command line, so a production server never swallows mail.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from publisher.cli.context import console, fail, get_context

if TYPE_CHECKING:
    from fastapi import FastAPI

    from publisher.config import Settings
    from publisher.delivery.catcher import MailCatcher

DEV_MAIL_PATH = "/dev/mail"


def mailcatcher(
    ctx: typer.Context,
    smtp_port: Annotated[
        int | None,
        typer.Option(
            "--smtp-port",
            metavar="PORT",
            min=1,
            max=65535,
            help="SMTP port [default: smtp_port, 8025].",
        ),
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            "--http-port",
            metavar="PORT",
            min=1,
            max=65535,
            help="Page port [default: SMTP port + 1].",
        ),
    ] = None,
    store_path: Annotated[
        Path | None,
        typer.Option(
            "--store",
            metavar="FILE",
            help="SQLite file that keeps the caught mail (default: the one serve --dev-smtp uses).",
        ),
    ] = None,
) -> None:
    """Catch mail on localhost and show it on a page, until Ctrl+C.

    For development only: nothing is delivered.
    """
    import uvicorn

    from publisher.delivery.catcher import DEFAULT_STORE_PATH
    from publisher.web.mailcatcher import create_mailcatcher_app

    store_path = store_path or DEFAULT_STORE_PATH
    settings = get_context(ctx).settings
    smtp_port = smtp_port or settings.smtp_port
    http_port = http_port or smtp_port + 1
    if http_port > 65535 or http_port == smtp_port:
        fail(f"choose a page port with --http-port (not {http_port})")
    with _running_catcher(settings, smtp_port, store_path) as catcher:
        sock = _bind(catcher.host, http_port)
        host = f"[{catcher.host}]" if ":" in catcher.host else catcher.host
        page = f"http://{host}:{http_port}/"
        app = create_mailcatcher_app(catcher.store, settings, smtp_address=catcher.address)
        console.print(
            f"Development mail catcher: SMTP on [bold]{catcher.address}[/bold], "
            f"the caught mail on [bold]{page}[/bold]\n"
            f"Nothing is delivered; {catcher.store.count()} message(s) kept in {store_path}. "
            "Ctrl+C stops."
        )
        server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", server_header=False, lifespan="off")
        )
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass  # uvicorn re-raises the Ctrl+C it handled; here it is the normal way out
        finally:
            sock.close()
        console.print(f"Stopped; {catcher.store.count()} message(s) kept in {store_path}.")


@contextmanager
def dev_mail_catcher(settings: Settings, app: FastAPI, http_host: str) -> Iterator[None]:
    """For ``serve --dev-smtp``: the catcher's SMTP server, and its page at ``/dev/mail``."""
    from publisher.delivery.catcher import DEFAULT_STORE_PATH, CatcherError, check_loopback
    from publisher.web.mailcatcher import create_mailcatcher_app

    try:
        check_loopback(http_host)
    except CatcherError:
        fail(
            f"--dev-smtp shows every caught message to whoever can open the page: serve on "
            f"127.0.0.1 (the default), not {http_host}, or leave out --dev-smtp"
        )
    with _running_catcher(settings, settings.smtp_port, DEFAULT_STORE_PATH) as catcher:
        app.mount(
            DEV_MAIL_PATH,
            create_mailcatcher_app(catcher.store, settings, smtp_address=catcher.address),
        )
        console.print(
            f"Development mail catcher: SMTP on [bold]{catcher.address}[/bold], "
            f"the caught mail at [bold]{DEV_MAIL_PATH}/[/bold] (kept in {DEFAULT_STORE_PATH}; "
            "nothing is delivered)."
        )
        yield


@contextmanager
def _running_catcher(settings: Settings, port: int, store_path: Path) -> Iterator[MailCatcher]:
    from publisher.delivery.catcher import CatcherError, MailCatcher, MailStore, check_loopback

    try:
        check_loopback(settings.smtp_host)  # before the store: a refusal leaves no file
        store = MailStore(store_path)
    except CatcherError as exc:
        fail(str(exc))
    try:
        catcher = MailCatcher(store, settings.smtp_host, port)
        catcher.start()
    except CatcherError as exc:
        store.close()
        fail(str(exc))
    try:
        yield catcher
    finally:
        catcher.stop()
        store.close()


def _bind(host: str, port: int) -> socket.socket:
    """Bind the page's port before serving, so a busy port is a clear error, not a log line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"cannot serve the page on {host}:{port}: {exc.strerror}; choose --http-port")
    return sock
