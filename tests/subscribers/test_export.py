"""Export: CSV and JSON, streamed, and an export imports back to the same register."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session

from publisher.subscribers.csv_import import import_csv
from publisher.subscribers.export import EXPORT_COLUMNS, export_rows, write_csv, write_json
from publisher.subscribers.models import Source, SubscriptionStatus, SuppressionReason
from publisher.subscribers.subscriptions import subscribe, unsubscribe
from publisher.subscribers.suppression import suppress

SOURCE = (
    "email;name;language;topics\r\n"
    "ana.novak@example.org;Ana Novak;sl;promet\r\n"
    'Bojan.Kos@Example.org;"Kos, Bojan";en;kultura sport\r\n'
    "cvetka@example.org;Cvetka Župančič;;\r\n"
    "david@example.org;David Hočevar;en;okolje\r\n"
)


def csv_text(session: Session, slug: str, status: SubscriptionStatus | None = None) -> str:
    out = io.StringIO(newline="")
    write_csv(export_rows(session, slug, status=status), out)
    return out.getvalue()


def people(text: str) -> list[tuple[str, ...]]:
    rows = csv.DictReader(io.StringIO(text, newline=""))
    return [(r["email"], r["name"], r["language"], r["topics"]) for r in rows]


def test_export_has_the_header_and_one_row_per_subscriber(
    session: Session, write_file: Callable[..., Path]
) -> None:
    import_csv(session, write_file(SOURCE), "tedenske-novice", confirmed=True)
    text = csv_text(session, "tedenske-novice")
    assert text.splitlines()[0] == ",".join(EXPORT_COLUMNS)
    assert text.startswith("email,name,language,status,")
    assert people(text) == [
        ("ana.novak@example.org", "Ana Novak", "sl", "promet"),
        ("Bojan.Kos@example.org", "Kos, Bojan", "en", "kultura sport"),
        ("cvetka@example.org", "Cvetka Župančič", "sl", ""),
        ("david@example.org", "David Hočevar", "en", "okolje"),
    ]


def test_an_export_imports_back_to_the_same_register(
    session: Session, write_file: Callable[..., Path]
) -> None:
    import_csv(session, write_file(SOURCE), "tedenske-novice", confirmed=True)
    exported = csv_text(session, "tedenske-novice", SubscriptionStatus.confirmed)
    report = import_csv(session, write_file(exported, "izvoz.csv"), "promet", confirmed=True)
    assert report.ok and report.ignored_columns == []
    assert {o.value: n for o, n in report.counts.items() if n} == {"added": 4}
    assert people(csv_text(session, "promet")) == people(exported)
    # Re-importing the export into its own list changes nothing.
    again = import_csv(session, write_file(exported, "izvoz.csv"), "tedenske-novice")
    assert {o.value: n for o, n in again.counts.items() if n} == {"unchanged": 4}


def test_status_filter_and_suppression_column(session: Session) -> None:
    for email in ("a@example.org", "b@example.org", "c@example.org"):
        subscribe(session, email, "promet", source=Source.staff, confirmed=True)
    subscribe(session, "d@example.org", "promet", source=Source.web)
    unsubscribe(session, "b@example.org", "promet")
    suppress(session, "c@example.org", SuppressionReason.hard_bounce)
    rows = list(export_rows(session, "promet", page_size=2))
    assert [(r["email"], r["status"], r["suppressed"]) for r in rows] == [
        ("a@example.org", "confirmed", ""),
        ("b@example.org", "unsubscribed", ""),
        ("c@example.org", "confirmed", "hard_bounce"),
        ("d@example.org", "pending", ""),
    ]
    confirmed = list(export_rows(session, "promet", status=SubscriptionStatus.confirmed))
    assert [r["email"] for r in confirmed] == ["a@example.org", "c@example.org"]


def test_json_export_is_an_array_of_the_same_rows(session: Session) -> None:
    out = io.StringIO()
    assert write_json(export_rows(session, "promet"), out) == 0
    assert json.loads(out.getvalue()) == []
    subscribe(session, "ana@example.org", "promet", source=Source.staff, name="Ana Žnidaršič")
    out = io.StringIO()
    assert write_json(export_rows(session, "promet"), out) == 1
    [row] = json.loads(out.getvalue())
    assert row["email"] == "ana@example.org" and row["name"] == "Ana Žnidaršič"
    assert set(row) == set(EXPORT_COLUMNS)
