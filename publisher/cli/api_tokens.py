"""``publisher api-token``: create, list and revoke the bearer tokens the CMS calls the API with."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from publisher.cli.context import choice, console, err_console, fail, get_context, safe
from publisher.cli.output import JsonOption, print_json, print_table

api_token_app = typer.Typer(
    help="Bearer tokens for the API (/api), e.g. for the CMS.",
    no_args_is_help=True,
)


@api_token_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. cms.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="editor: push articles and topics, read the rest; approver or admin: "
            "also approve and send editions (POST /editions).",
        ),
    ] = "editor",
) -> None:
    """Create a token and print it once: only its hash is kept, so copy it now."""
    from publisher.audit import AuditAction, command_line_actor, record
    from publisher.db import session_scope
    from publisher.staff.api_tokens import ApiTokenError, create_token
    from publisher.staff.models import Role

    chosen = choice(Role, role, "--role")
    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            token, secret = create_token(session, name, chosen)
        except ApiTokenError as exc:
            fail(str(exc))
        record(
            session, AuditAction.api_token_created, actor=command_line_actor(), subject=token.name
        )
        token_name = token.name
    err_console.print(
        f"API token [bold]{safe(token_name)}[/bold] ({chosen}) created. It is shown only now; "
        "store it in the CMS's settings (header: Authorization: Bearer TOKEN)."
    )
    console.print(secret, soft_wrap=True)  # alone on stdout, so scripts can capture it


@api_token_app.command("list")
def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every token: its prefix, when made and last used, whether it is revoked."""
    from publisher.db import session_scope
    from publisher.staff.api_tokens import list_tokens

    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        if as_json:
            print_json(
                [
                    {
                        "name": token.name,
                        "prefix": token.prefix,
                        "role": str(token.role),
                        "created_at": context.iso(token.created_at),
                        "last_used_at": context.iso(token.last_used_at),
                        "revoked_at": context.iso(token.revoked_at),
                    }
                    for token in list_tokens(session)
                ]
            )
            return
        table = Table("name", "prefix", "role", "created", "last used", "state", title="API tokens")
        for token in list_tokens(session):
            state = f"revoked {context.moment(token.revoked_at)}" if token.revoked_at else "active"
            table.add_row(
                safe(token.name),
                f"{token.prefix}…",
                str(token.role),
                context.moment(token.created_at),
                context.moment(token.last_used_at),
                state,
            )
    print_table(table)


@api_token_app.command("revoke")
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The token's name.")],
) -> None:
    """Refuse the token from now on (the record is kept)."""
    from publisher.audit import AuditAction, command_line_actor, record
    from publisher.db import session_scope
    from publisher.staff.api_tokens import ApiTokenError, revoke_token

    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            _, changed = revoke_token(session, name)
        except ApiTokenError as exc:
            fail(str(exc))
        if changed:
            record(session, AuditAction.api_token_revoked, actor=command_line_actor(), subject=name)
    if changed:
        console.print(f"API token {safe(name)} revoked: calls with it now get 401.")
    else:
        console.print(f"API token {safe(name)} was already revoked.")
