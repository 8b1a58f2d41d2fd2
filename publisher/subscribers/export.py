"""Export a list's subscribers as CSV or JSON, streamed a page at a time.

The CSV's columns start with those the importer reads (``email,name,language``), and
``topics`` is written the way the importer splits it, so an export imports back unchanged;
the other columns (status, source, times, suppression) are ignored on import.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from publisher.subscribers.lists import get_list
from publisher.subscribers.models import (
    Subscriber,
    SubscriberTopic,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from publisher.topics import Topic

EXPORT_COLUMNS = (
    "email",
    "name",
    "language",
    "status",
    "topics",
    "source",
    "subscribed_at",
    "confirmed_at",
    "unsubscribed_at",
    "suppressed",
)
PAGE_SIZE = 1000


def _time(value: datetime | None, tz: ZoneInfo | None) -> str:
    if value is None:
        return ""
    return (value.astimezone(tz) if tz else value).isoformat()


def export_rows(
    session: Session,
    list_slug: str,
    *,
    status: SubscriptionStatus | None = None,
    tz: ZoneInfo | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[dict[str, Any]]:
    """One dict per subscriber on the list (optionally of one status), in subscriber order."""
    list_id = get_list(session, list_slug).id
    subscriber = Subscriber.__table__  # type: ignore[attr-defined]
    subscription = Subscription.__table__  # type: ignore[attr-defined]
    chosen = SubscriberTopic.__table__  # type: ignore[attr-defined]
    suppression = Suppression.__table__  # type: ignore[attr-defined]
    topic = Topic.__table__  # type: ignore[attr-defined]
    query = (
        select(
            subscriber.c.id,
            subscriber.c.email,
            subscriber.c.name,
            subscriber.c.language,
            subscription.c.status,
            subscription.c.source,
            subscription.c.created_at,
            subscription.c.confirmed_at,
            subscription.c.unsubscribed_at,
            suppression.c.reason,
        )
        .join(subscription, subscription.c.subscriber_id == subscriber.c.id)
        .outerjoin(suppression, suppression.c.address_hash == subscriber.c.address_hash)
        .where(subscription.c.list_id == list_id)
        .order_by(subscriber.c.id)
        .limit(page_size)
    )
    if status is not None:
        query = query.where(subscription.c.status == status.value)
    last_id = 0
    while True:
        rows = session.execute(query.where(subscriber.c.id > last_id)).all()
        if not rows:
            return
        ids = [row[0] for row in rows]
        topics: dict[int, list[str]] = {}
        for sid, slug in session.execute(
            select(chosen.c.subscriber_id, topic.c.slug)
            .join(topic, topic.c.id == chosen.c.topic_id)
            .where(chosen.c.subscriber_id.in_(ids))
            .order_by(chosen.c.subscriber_id, topic.c.slug)
        ):
            topics.setdefault(sid, []).append(slug)
        for row in rows:
            yield {
                "email": row[1],
                "name": row[2],
                "language": row[3],
                "status": row[4],
                "topics": " ".join(topics.get(row[0], [])),
                "source": row[5],
                "subscribed_at": _time(row[6], tz),
                "confirmed_at": _time(row[7], tz),
                "unsubscribed_at": _time(row[8], tz),
                "suppressed": row[9] or "",
            }
        if len(rows) < page_size:
            return
        last_id = ids[-1]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP)."""


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as text: a leading ``'`` before a formula start.

    Names are typed by anyone on the subscribe form, and ``=HYPERLINK(…)`` in a cell would
    run in the spreadsheet of the staff member who opens the export. The importer takes the
    quote off again (:func:`from_spreadsheet_cell`), so an export still imports back unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def from_spreadsheet_cell(value: str) -> str:
    """A cell as :func:`spreadsheet_cell` wrote it, back as it was typed."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """RFC 4180 CSV with a header row, formulas neutralised; returns the rows written."""
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({key: spreadsheet_cell(value) for key, value in row.items()})
        count += 1
    return count


def write_json(rows: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """A JSON array written element by element (never built whole in memory)."""
    count = 0
    out.write("[")
    for row in rows:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
