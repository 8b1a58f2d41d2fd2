"""Who did what, as the admin says it: every actor (a staff member by name, the command line
with its user, an API token, the schedule, the system, a resident) and every action in
Slovenian, on the audit page, the edition page and the digest page, over real HTTP."""

from __future__ import annotations

import getpass
import html

import pytest
from typer.testing import CliRunner

from publisher.audit import (
    ACTION_LABELS,
    RESIDENT,
    SYSTEM_ACTORS,
    AuditAction,
    api_actor,
    command_line_actor,
    describe_action,
    describe_actor,
    record,
)
from publisher.cli import app as cli_app
from publisher.db import session_scope
from publisher.jobs import PURGE_ACTOR
from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, AdminSite, logged_in, token_for
from tests.web.test_admin_digest import DIGEST, approve

admin_site = admin_support.admin_site
STAFF_NAME = "Urednica Ana"
ENGLISH_LEFTOVERS = ("(command line)", "(admin)", "API token", "(-a)", "pause by", "schedule (")


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch) -> str:
    """The operating-system user the CLI runs as, whoever runs the tests."""
    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    return "root"


def text_of(page: str) -> str:
    return html.unescape(page)


def test_the_edition_page_says_who_approved_and_paused_it_without_gender_hedging(
    admin_site: AdminSite, database_url: str, root: str
) -> None:
    stock(admin_site.engine, 40)
    admin_site.smtp.handler.script.delay = 0.05
    client = logged_in(admin_site)
    edition_page = approve(client, token_for(client, DIGEST)).headers["location"]
    paused = CliRunner().invoke(
        cli_app,
        ["digest", "pause", f"{LIST}/{PERIOD}"],
        env={"PUBLISHER_DATABASE_URL": database_url},
    )
    assert paused.exit_code == 0, paused.output

    page = text_of(client.get(edition_page).text)
    assert "Odobreno: " in page and f"— {STAFF_NAME}" in page
    assert "Ustavljeno: " in page and "— ukazna vrstica, uporabnik root" in page
    assert not [leftover for leftover in ENGLISH_LEFTOVERS if leftover in page]
    banner = text_of(client.get(DIGEST).text)
    assert "Izdaja je odobrena (" in banner and f"— {STAFF_NAME})" in banner
    assert "(admin)" not in banner
    assert f"— {STAFF_NAME}</td>" in text_of(client.get("/admin/editions").text)


def test_the_audit_page_names_every_kind_of_actor_and_action_in_slovenian(
    admin_site: AdminSite, root: str
) -> None:
    with session_scope(admin_site.engine) as session:
        for actor, action in [
            (STAFF_EMAIL, AuditAction.sign_in),
            (command_line_actor(), AuditAction.staff_added),
            (api_actor("cms"), AuditAction.edition_approved),
            (PURGE_ACTOR, AuditAction.retention_purge),
            (RESIDENT, AuditAction.data_download),
            ("publisher worker", AuditAction.edition_send_started),
        ]:
            record(session, action, actor=actor)
    page = text_of(logged_in(admin_site).get("/admin/audit").text)
    for named in (
        STAFF_NAME,
        "ukazna vrstica, uporabnik root",
        "žeton API »cms«",
        "samodejno po urniku",
        "naročnik prek svoje osebne povezave",
        "sistem, pošiljatelj v ozadju",
    ):
        assert f"<td>{named}" in page, named
    for action in ("prijava", "dodan sodelavec", "odobritev izdaje", "brisanje zastarelih"):
        assert action in page, action
    # The recorded text stays beside the name, so that the "Kdo" filter still finds it.
    assert f'<code class="meta">{STAFF_EMAIL}</code>' in page


def test_every_actor_and_action_has_a_slovenian_wording_and_keeps_english_for_en() -> None:
    for action, label in ACTION_LABELS.items():
        assert describe_action(action.value, "sl") != label, f"{action}: no Slovenian name"
        assert describe_action(action.value, "en") == label
    for system in SYSTEM_ACTORS:
        assert describe_actor(system, "sl", {}).startswith("sistem")
    assert describe_actor("ana@example.org (admin)", "sl", {"ana@example.org": "Ana"}) == "Ana"
    assert describe_actor("ana@example.org", "sl", {}) == "ana@example.org"
    assert describe_actor("root (command line)", "en", {}) == "command line, user root"
    assert describe_actor("schedule (every Friday at 12:00)", "sl", {}) == "samodejno po urniku"
