"""``publisher serve``: the public web app (pages, feeds, admin, API) under uvicorn.

The app's lifespan owns the process's senders (stopped cleanly on shutdown) and, unless
``--no-jobs``, runs the scheduled jobs (the digest schedule, resuming interrupted sends) when
this process is the one that holds the jobs (see :mod:`publisher.jobs`).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Annotated

import typer

from publisher.cli.context import console, get_context, require_resources, safe

if TYPE_CHECKING:
    from publisher.digests.schedule import ScheduledRun


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
    no_jobs: Annotated[
        bool,
        typer.Option(
            "--no-jobs",
            "--no-schedule",
            help="Never run the scheduled jobs here (digest schedule, resuming sends): for "
            "extra web processes; another serve, or cron, runs them.",
        ),
    ] = False,
) -> None:
    """Serve the site, its feeds, the admin and the API until Ctrl+C.

    It also runs the scheduled jobs (the digest schedule, resuming interrupted sends), unless
    `--no-jobs` is given.
    """
    from publisher.cli.mailcatcher import dev_mail_catcher
    from publisher.cli.schedule import announce_schedule
    from publisher.logs import configure
    from publisher.web.app import create_app
    from publisher.web.server import run, server_config

    require_resources()
    context = get_context(ctx)
    context.require_secret()
    settings = context.settings
    configure(settings, service=True)

    def on_run(run: ScheduledRun) -> None:
        detail = f" ({run.message})" if run.message else ""
        console.print(
            f"Schedule: {safe(run.entry.list)}/{run.period.key} {run.outcome}{safe(detail)}"
        )

    def on_lead(leading: bool) -> None:
        if leading:
            console.print("Jobs: this process runs the scheduled jobs.")
            announce_schedule(context)
        else:
            console.print("Jobs: another process runs the scheduled jobs; this one stands by.")

    app = create_app(
        settings, context.ready_engine(), jobs=not no_jobs, on_run=on_run, on_lead=on_lead
    )
    console.print(
        f"Serving {settings.site_name} on http://{host}:{port}/ "
        f"(links use {settings.base_url}); Ctrl+C stops."
    )
    with dev_mail_catcher(settings, app, host) if dev_smtp else nullcontext():
        run(server_config(app, host, port))
