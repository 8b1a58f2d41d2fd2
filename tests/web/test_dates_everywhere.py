"""Every listing of the CLI and every list page of the admin writes a date one way and a date
with a time one way (``publisher.i18n.format_day`` and ``format_moment``): "4. marec 2025",
"1. 12. 2026 ob 18.27", never "01. 12. 2026 18:27", "ob 07:00" or a strftime or ISO leftover."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from typer.testing import CliRunner

from publisher.cli import app
from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in

admin_site = admin_support.admin_site

MOMENT = datetime(2026, 12, 1, 17, 27, tzinfo=UTC)
"""18:27 in Ljubljana on the 1st: a zero-padded day ("01.") would show."""
SHOWN_MOMENT = "1. 12. 2026 ob 18.27"
LEFTOVERS = {
    "a zero-padded day": re.compile(r"(?<![\d.,:])0\d\.\s?\d{1,2}\."),
    "an ISO date and time": re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d"),
    "a strftime code": re.compile(r"%[dmYHMS]"),
    "a time without its 'ob'": re.compile(r"\d{4},? \d\d?[:.]\d\d"),
    "a time not written the Slovenian way": re.compile(r"ob (?:0\d[.:]\d\d|\d\d?:\d\d)"),
}
CLI_LISTINGS = [
    ("articles", "list"),
    ("digest", "status"),
    ("digest", "status", f"{LIST}/{PERIOD}"),
    ("staff", "list"),
    ("api-token", "list"),
    ("lists", "list"),
    ("topics", "list"),
]
ADMIN_PAGES = [
    "/admin",
    "/admin/articles",
    "/admin/editions",
    "/admin/editions/1",
    "/admin/audit",
    "/admin/staff",
    "/admin/subscribers",
    "/admin/lists",
    "/admin/topics",
]


def stray_dates(text: str) -> list[str]:
    """What in ``text`` is a date written some other way, with what it is."""
    return [f"{what}: {found}" for what, rule in LEFTOVERS.items() for found in rule.findall(text)]


def visible(html: str) -> str:
    """A page's text as people read it (a ``<time datetime>`` attribute is for machines)."""
    return re.sub(r"<[^>]*>", " ", html)


def test_every_listing_and_admin_page_writes_dates_the_one_way(
    admin_site: AdminSite, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLISHER_SMTP_PORT", str(admin_site.smtp.port))
    stock(admin_site.engine, 3)  # articles of 4 to 6 March 2025
    runner = CliRunner()
    with time_machine.travel(MOMENT, tick=True):
        client = logged_in(admin_site)  # the staff list's last login
        sent = runner.invoke(app, ["digest", "send", "--list", LIST, "--period", PERIOD, "--yes"])
        assert sent.exit_code == 0, sent.output
        made = runner.invoke(app, ["api-token", "create", "cms"])
        assert made.exit_code == 0, made.output

        # Dates keep day and month together with no-break spaces; the rules read them as spaces.
        shown: dict[str, str] = {}
        for args in CLI_LISTINGS:
            result = runner.invoke(app, list(args))
            assert result.exit_code == 0, (args, result.output)
            shown[" ".join(args)] = result.stdout.replace("\xa0", " ")
        for path in ADMIN_PAGES:
            page = client.get(path)
            assert page.status_code == 200, path
            shown[path] = visible(page.text).replace("\xa0", " ")

    for where, text in shown.items():
        assert stray_dates(text) == [], where
    for where in (
        "digest status",
        "staff list",
        "api-token list",
        "/admin/editions",
        "/admin/staff",
    ):
        assert SHOWN_MOMENT in shown[where], where
    assert "4. marec 2025" in shown["articles list"] and "4. marec 2025" in shown["/admin/articles"]


def test_the_leftovers_are_recognised() -> None:
    """The patterns above catch what they are for (else the test above proves nothing)."""
    assert stray_dates("01. 12. 2026 18:27")
    assert stray_dates("2026-12-01 18:27") and stray_dates("%d. %m. %Y")
    assert stray_dates("1. december 2026, 18:27") and stray_dates("1. 12. 2026 ob 18:27")
    assert stray_dates("10. 3. 2025 ob 07.00")
    assert stray_dates(f"{SHOWN_MOMENT} · 4. marec 2025 · 10. 3. 2025 ob 7.00 · 0,5 %") == []
