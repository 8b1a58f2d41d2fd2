"""``publisher serve``: the public web app (pages and feeds) under uvicorn."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated

import typer

from publisher.cli.context import console, get_context


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    dev_smtp: Annotated[
        bool,
        typer.Option(
            "--dev-smtp",
            help="Development only: also catch mail on smtp_host:smtp_port (loopback) "
            "and show it at /dev/mail.",
        ),
    ] = False,
    no_schedule: Annotated[
        bool,
        typer.Option(
            "--no-schedule",
            help="Do not run the digest schedule here (cron, a timer or another server does).",
        ),
    ] = False,
) -> None:
    """Serve the home page, article and topic pages and every feed, until Ctrl+C."""
    import uvicorn

    from publisher.cli.mailcatcher import dev_mail_catcher
    from publisher.cli.schedule import running_schedule
    from publisher.web.app import create_app

    context = get_context(ctx)
    app = create_app(context.settings, context.ready_engine())
    console.print(
        f"Serving {context.settings.site_name} on http://{host}:{port}/ "
        f"(links use {context.settings.base_url}); Ctrl+C stops."
    )
    with (
        dev_mail_catcher(context.settings, app, host) if dev_smtp else nullcontext(),
        running_schedule(context.settings, context.engine, enabled=not no_schedule),
    ):
        uvicorn.run(app, host=host, port=port, proxy_headers=True, server_header=False)
