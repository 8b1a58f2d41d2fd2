"""The weekly digest: preview now; send, status and schedule come with editions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from publisher.cli.context import err_console, fail, get_context
from publisher.db import session_scope, utcnow
from publisher.digests.content import articles_for, compose, sample_recipient
from publisher.digests.periods import BadPeriod, Period, current_period, parse_period
from publisher.subscribers.register import ListNotFound, get_list

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
