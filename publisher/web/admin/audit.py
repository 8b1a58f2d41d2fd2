"""The audit log for staff: newest first, filtered by action and actor, paged, and as CSV.

Read-only by design: these are the only routes under ``/admin/audit`` and both are GETs, so
nobody, admins included, can change or delete an entry from the admin.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from publisher.audit import AuditAction, AuditEntry, entries
from publisher.subscribers.export import spreadsheet_cell
from publisher.web.admin.auth import Admin
from publisher.web.admin.render import csv_download, engine_of, render

PAGE_SIZE = 50
CSV_COLUMNS = ("at", "actor", "client", "action", "subject", "detail")
MAX_PAGE = 1_000_000

router = APIRouter()


def _action(value: str) -> AuditAction | None:
    return AuditAction(value) if value in AuditAction.__members__ else None


@router.get("/admin/audit")
def audit_page(
    request: Request,
    staff: Admin,
    action: str = "",
    actor: str = "",
    page: int = 1,
) -> Response:
    chosen = _action(action)
    typed = actor.strip()[:320]
    page = min(max(page, 1), MAX_PAGE)
    with Session(engine_of(request)) as session:
        rows, total = entries(
            session, action=chosen, actor=typed, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    query = {"action": chosen.value if chosen else "", "actor": typed}
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "admin/audit.html",
        staff=staff,
        active="audit",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        actions=list(AuditAction),
        chosen=chosen.value if chosen else "",
        actor=typed,
        page_url=lambda number: f"/admin/audit?{urlencode({**query, 'page': number})}",
        csv_url=f"/admin/audit.csv?{urlencode(query)}",
    )


def _csv_row(entry: AuditEntry) -> list[str]:
    return [
        spreadsheet_cell(value)
        for value in (
            entry.at.isoformat(),
            entry.actor,
            entry.client,
            entry.action,
            entry.subject,
            entry.detail,
        )
    ]


@router.get("/admin/audit.csv")
def audit_csv(request: Request, staff: Admin, action: str = "", actor: str = "") -> Response:
    """The filtered log as CSV, formulas neutralised as in the register's export."""
    chosen = _action(action)
    typed = actor.strip()[:320]
    engine = engine_of(request)

    def chunks() -> Iterator[bytes]:
        text = io.StringIO()
        writer = csv.writer(text)
        text.write("\ufeff")
        writer.writerow(CSV_COLUMNS)
        offset = 0
        with Session(engine) as session:
            while True:
                rows, _ = entries(session, action=chosen, actor=typed, offset=offset, limit=1000)
                for entry in rows:
                    writer.writerow(_csv_row(entry))
                yield text.getvalue().encode("utf-8")
                text.seek(0)
                text.truncate()
                if len(rows) < 1000:
                    return
                offset += len(rows)

    return csv_download(request, chunks(), "dnevnik")
