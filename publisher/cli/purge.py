"""``publisher purge``: delete or anonymise the personal data kept past its time.

Thin: which rows are expired, and what becomes of them, is
:mod:`publisher.delivery.retention`'s decision; this module shows the plan and the counts.
Staff run it on their own register, so addresses are shown, through :func:`safe`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from publisher.cli.context import Context, console, dumps, get_context, safe
from publisher.cli.output import print_table

if TYPE_CHECKING:
    from datetime import datetime

    from publisher.delivery.retention import PurgePlan, PurgeResult

DOES = {
    "unconfirmed_subscribers": "deleted: people who never confirmed",
    "unconfirmed_subscriptions": "deleted: requests never confirmed (the person stays)",
    "deliveries": "anonymised: copies sent",
    "bounces": "anonymised: bounces and complaints",
}
"""What happens to each kind, in the words of the counts table."""


def purge_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be purged; change nothing.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List each row purged, not only the counts.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON: counts and rows.")] = False,
) -> None:
    """Delete unconfirmed subscriptions and old delivery addresses.

    Subscriptions never confirmed go after `purge_unconfirmed_days`; the address is taken out
    of delivery rows and bounces older than `purge_delivery_months`, and every edition's
    counts stay. `publisher serve` does the same every night at 03:30.
    """
    from publisher.audit import command_line_actor
    from publisher.db import session_scope
    from publisher.delivery.retention import plan_purge, purge

    context = get_context(ctx)
    engine = context.ready_engine()
    with session_scope(engine) as session:
        plan = plan_purge(session, context.settings)
        result = None if dry_run else purge(session, plan, actor=command_line_actor())
    if json_out:
        sys.stdout.write(dumps(_as_json(plan, result)) + "\n")
        return
    _print_rules(context, plan)
    if dry_run or verbose:
        _print_rows(context, plan)
    _print_counts(plan, result)


def _as_json(plan: PurgePlan, result: PurgeResult | None) -> dict[str, object]:
    return {
        "dry_run": result is None,
        "unconfirmed_before": _iso(plan.unconfirmed_before),
        "deliveries_before": _iso(plan.deliveries_before),
        "counts": plan.counts() if result is None else result.counts,
        "consents_deleted": None if result is None else result.consents,
        "rows": [
            {
                "kind": row.kind.value,
                "id": row.id,
                "at": row.at.isoformat(),
                "address": row.address,
                "what": row.what,
            }
            for row in plan.rows
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _print_rules(context: Context, plan: PurgePlan) -> None:
    requests = context.moment(plan.unconfirmed_before) if plan.unconfirmed_before else "never"
    copies = context.moment(plan.deliveries_before) if plan.deliveries_before else "never"
    console.print(f"Requests never confirmed, last made before: {requests}")
    console.print(f"Copies and bounces, from before: {copies}")


def _print_rows(context: Context, plan: PurgePlan) -> None:
    from rich.table import Table

    if not plan.rows:
        return
    table = Table("kind", "id", "date", "address", "list / edition / bounce")
    for row in plan.rows:
        table.add_row(
            row.kind.value, str(row.id), context.moment(row.at), safe(row.address), safe(row.what)
        )
    print_table(table)


def _print_counts(plan: PurgePlan, result: PurgeResult | None) -> None:
    from rich.table import Table

    counts = plan.counts() if result is None else result.counts
    table = Table("kind", "would be" if result is None else "done", "rows")
    for kind, number in counts.items():
        table.add_row(kind, DOES[kind], str(number))
    print_table(table)
    if result is None:
        console.print(f"Dry run: nothing changed ({sum(counts.values())} row(s) would be).")
    elif result.total:
        console.print(
            f"Purged {result.total} row(s), with {result.consents} consent record(s); "
            "recorded in the audit log as retention_purge."
        )
    else:
        console.print("Nothing to purge.")
