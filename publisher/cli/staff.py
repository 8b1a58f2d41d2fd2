"""``publisher staff``: the accounts that may log in to the admin pages."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from publisher.cli.context import choice, console, fail, get_context, safe
from publisher.cli.output import JsonOption, print_json, print_table

staff_app = typer.Typer(help="Staff accounts for the admin pages (/admin).", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    """From standard input (scripts, the demo) or asked twice without echo (people)."""
    from publisher.staff.accounts import MIN_PASSWORD_LENGTH

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt(
        f"Password (at least {MIN_PASSWORD_LENGTH} characters)", hide_input=True, err=True
    )
    second = typer.prompt("The same password again", hide_input=True, err=True)
    if first != second:
        fail("the two passwords differ; nothing was changed")
    return str(first)


RoleOption = Annotated[
    str,
    typer.Option(
        "--role",
        help="editor: articles, previews, test sends; approver: also approves and sends "
        "editions; admin: also staff, lists, the register's import and export, settings.",
    ),
]

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]


@staff_app.command("add")
def staff_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The login: the person's e-mail address.")],
    name: Annotated[str, typer.Option("--name", help="Shown in the admin, e.g. Ana Novak.")] = "",
    role: RoleOption = "editor",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a staff account with a role (asks for the password twice)."""
    from publisher.audit import AuditAction, command_line_actor, record
    from publisher.db import session_scope
    from publisher.links import admin_url
    from publisher.staff.accounts import StaffError, add_staff
    from publisher.staff.models import Role

    chosen = choice(Role, role, "--role")
    context = get_context(ctx)
    engine = context.ready_engine()
    password = _read_password(password_stdin)
    with session_scope(engine) as session:
        try:
            account = add_staff(session, email, password, name, chosen)
        except StaffError as exc:
            fail(str(exc))
        record(session, AuditAction.staff_added, actor=command_line_actor(), subject=account.email)
        console.print(
            f"Staff account {safe(account.email)} ({account.role}) created; log in at "
            f"{safe(admin_url(context.settings, 'login'))}"
        )


@staff_app.command("password")
def staff_password(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (also lifts a lock-out and ends the account's sessions)."""
    from publisher.audit import AuditAction, command_line_actor, record
    from publisher.db import session_scope
    from publisher.staff.accounts import StaffError, set_password

    context = get_context(ctx)
    engine = context.ready_engine()
    password = _read_password(password_stdin)
    with session_scope(engine) as session:
        try:
            account = set_password(session, email, password)
        except StaffError as exc:
            fail(str(exc))
        record(
            session,
            AuditAction.staff_password_changed,
            actor=command_line_actor(),
            subject=account.email,
        )
        console.print(f"New password set for {safe(account.email)}.")


@staff_app.command("list")
def staff_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every staff account, with its role, two-factor sign-in and last login."""
    from publisher.db import session_scope
    from publisher.staff.accounts import list_staff
    from publisher.staff.two_factor import enabled, must_set_up

    context = get_context(ctx)
    required = context.settings.require_two_factor
    with session_scope(context.ready_engine()) as session:
        table = Table("E-mail", "Name", "Role", "Two-factor", "Active", "Last login", title="Staff")
        records = []
        for account in list_staff(session):
            if enabled(account):
                second = "on"
            else:
                second = "required, not set up" if must_set_up(account, required) else "off"
            records.append(
                {
                    "email": account.email,
                    "name": account.name,
                    "role": str(account.role),
                    "two_factor": second,
                    "active": account.active,
                    "last_login_at": context.iso(account.last_login_at),
                }
            )
            table.add_row(
                safe(account.email),
                safe(account.name),
                str(account.role),
                second,
                "yes" if account.active else "no",
                context.moment(account.last_login_at),
            )
    if as_json:
        print_json(records)
    else:
        print_table(table)


@staff_app.command("reset-two-factor")
def staff_reset_two_factor(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
) -> None:
    """Take away an account's second factor (a lost phone) and end its sessions.

    The recovery codes go too. The account signs in with the password alone, or sets up a
    second factor again where one is required.
    """
    from publisher import audit
    from publisher.audit import AuditAction, command_line_actor, record
    from publisher.db import session_scope
    from publisher.staff.accounts import StaffError, get_staff
    from publisher.staff.two_factor import reset

    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            account = get_staff(session, email)
        except StaffError as exc:
            fail(str(exc))
        had = reset(session, account)
        record(
            session,
            AuditAction.two_factor_reset,
            actor=command_line_actor(),
            subject=account.email,
            detail=audit.detail_line(
                audit.PASSWORD_FROM_COMMAND_LINE if had else audit.PASSWORD_FROM_COMMAND_LINE_FIRST
            ),
        )
        if had:
            console.print(f"Two-factor sign-in of {safe(account.email)} reset; its sessions ended.")
        else:
            console.print(f"{safe(account.email)} had no two-factor sign-in; its sessions ended.")


@staff_app.command("remove")
def staff_remove(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
) -> None:
    """Delete a staff account; its open sessions end at their next request."""
    from publisher.audit import AuditAction, command_line_actor, record
    from publisher.db import session_scope
    from publisher.staff.accounts import StaffError, remove_staff

    context = get_context(ctx)
    with session_scope(context.ready_engine()) as session:
        try:
            account = remove_staff(session, email)
        except StaffError as exc:
            fail(str(exc))
        record(
            session, AuditAction.staff_removed, actor=command_line_actor(), subject=account.email
        )
        console.print(f"Staff account {safe(account.email)} removed.")
