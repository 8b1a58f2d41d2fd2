"""The audit log over real HTTP and the real CLI: each action the data protection officer
cares about leaves exactly one entry; staff read, filter and export it; nobody edits it."""

from __future__ import annotations

import csv
import io
import logging

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from publisher.audit import RESIDENT, AuditAction, AuditEntry, record
from publisher.cli import app as cli_app
from publisher.db import session_scope
from publisher.subscribers.subscriptions import find_subscriber
from publisher.tokens import Purpose, Tokens
from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import (
    STAFF_EMAIL,
    AdminSite,
    csrf_of,
    logged_in,
    login,
    token_for,
    wait_until,
)
from tests.web.residents_support import token_uid
from tests.web.test_admin_login_throttle import client_from

admin_site = admin_support.admin_site


def audit_rows(engine: Engine, action: AuditAction | None = None) -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)  # type: ignore[arg-type]
        if action is not None:
            query = query.where(AuditEntry.action == action.value)
        return list(session.exec(query).all())


def only(engine: Engine, action: AuditAction) -> AuditEntry:
    rows = audit_rows(engine, action)
    assert len(rows) == 1, f"{action}: {[(row.actor, row.subject) for row in rows]}"
    return rows[0]


def test_sign_in_failure_and_logouts_leave_one_entry_each(
    admin_site: AdminSite, caplog: pytest.LogCaptureFixture
) -> None:
    client = admin_site.client()
    with caplog.at_level(logging.INFO, logger="publisher.audit"):
        assert login(client, password="napačno-geslo-123").status_code == 401
    failed = only(admin_site.engine, AuditAction.sign_in_failed)
    assert failed.actor == STAFF_EMAIL and failed.client == "127.0.0.1"
    line = next(r.getMessage() for r in caplog.records if r.name == "publisher.audit")
    assert f"action=sign_in_failed actor={STAFF_EMAIL} client=127.0.0.1" in line
    assert audit_rows(admin_site.engine, AuditAction.sign_in) == []

    assert login(client).status_code == 303
    signed_in = only(admin_site.engine, AuditAction.sign_in)
    assert signed_in.actor == STAFF_EMAIL and signed_in.client == "127.0.0.1"
    assert client.post("/admin/logout", data={"csrf_token": token_for(client)}).status_code == 303
    assert only(admin_site.engine, AuditAction.sign_out).actor == STAFF_EMAIL

    other = logged_in(admin_site)
    ended = other.post("/admin/logout/everywhere", data={"csrf_token": token_for(other)})
    assert ended.status_code == 303
    assert only(admin_site.engine, AuditAction.sign_out_everywhere).actor == STAFF_EMAIL


def test_every_failed_attempt_leaves_one_entry_and_throttling_is_visible(
    admin_site: AdminSite,
) -> None:
    client = admin_site.client()
    answers = [login(client, password=f"ugib-{n}-napak").status_code for n in range(7)]
    assert answers[:5] == [401] * 5 and answers[-1] == 429
    failed = audit_rows(admin_site.engine, AuditAction.sign_in_failed)
    assert len(failed) == 7 and {row.actor for row in failed} == {STAFF_EMAIL}
    assert failed[-1].detail == "throttled" and failed[0].detail == ""
    desk = client_from(admin_site, "127.0.0.5")
    assert login(desk).status_code == 303
    page = desk.get("/admin/audit", params={"action": "sign_in_failed"})
    assert page.text.count("<td>preveč poskusov, začasno zaklenjeno</td>") >= 1  # in Slovenian


def test_a_log_line_cannot_be_forged_through_a_typed_address(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="publisher.audit"), session_scope(engine) as session:
        record(
            session,
            AuditAction.sign_in_failed,
            actor='x\naction=sign_in actor="ana"',
            client="10.0.0.1",
        )
    (line,) = [r.getMessage() for r in caplog.records if r.name == "publisher.audit"]
    assert "\n" not in line
    assert 'actor="x\\x0aaction=sign_in actor=\\"ana\\"" client=10.0.0.1' in line


def test_register_export_from_the_admin_and_the_cli_is_recorded(
    admin_site: AdminSite, database_url: str
) -> None:
    stock(admin_site.engine, 2)
    client = logged_in(admin_site)
    export = client.get(f"/admin/lists/{LIST}/export.csv")
    assert export.status_code == 200
    entry = only(admin_site.engine, AuditAction.register_export)
    assert (entry.actor, entry.client, entry.subject) == (STAFF_EMAIL, "127.0.0.1", LIST)

    result = CliRunner().invoke(
        cli_app,
        ["subscribers", "export", "--list", LIST],
        env={"PUBLISHER_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    exports = audit_rows(admin_site.engine, AuditAction.register_export)
    assert len(exports) == 2 and exports[1].actor.endswith("(command line)")


def test_a_residents_data_download_and_erasure_are_recorded_without_the_address(
    admin_site: AdminSite,
) -> None:
    (address,) = stock(admin_site.engine, 1)
    with Session(admin_site.engine) as session:
        subscriber = find_subscriber(session, address)
        assert subscriber is not None and subscriber.id is not None
        sid = subscriber.id
    token = Tokens.from_settings(admin_site.settings).make(
        Purpose.preferences, token_uid(admin_site.engine, sid)
    )
    resident = admin_site.client()
    assert resident.get(f"/preferences/{token}/data").status_code == 200
    download = only(admin_site.engine, AuditAction.data_download)
    assert (download.actor, download.subject) == (RESIDENT, f"subscriber {sid}")
    assert download.client == "127.0.0.1"

    form = resident.get(f"/preferences/{token}")
    erased = resident.post(
        f"/preferences/{token}/erase", data={"csrf_token": csrf_of(form), "confirm_erase": "yes"}
    )
    assert erased.status_code == 200
    erasure = only(admin_site.engine, AuditAction.erasure)
    assert erasure.subject == f"subscriber {sid}"
    assert all(address not in f"{row.subject}{row.detail}" for row in audit_rows(admin_site.engine))


def test_approving_and_sending_an_edition_is_recorded_once(admin_site: AdminSite) -> None:
    addresses = stock(admin_site.engine, 3)
    admin_site.smtp.handler.script.data[addresses[0]].append("554 5.7.1 Zavrnjeno: politika")
    client = logged_in(admin_site)
    digest = f"/admin/digests/{LIST}/{PERIOD}"
    response = client.post(
        f"{digest}/approve", data={"csrf_token": token_for(client, digest), "confirm": "yes"}
    )
    assert response.status_code == 303
    approved = only(admin_site.engine, AuditAction.edition_approved)
    assert approved.actor == f"{STAFF_EMAIL} (admin)" and approved.client == "127.0.0.1"
    assert approved.subject == f"{LIST}/{PERIOD}"
    wait_until(
        lambda: len(audit_rows(admin_site.engine, AuditAction.edition_send_started)) == 1,
        what="the start of sending is recorded",
    )
    edition_page = response.headers["location"]
    wait_until(lambda: f'"{edition_page}/retry"' in client.get(edition_page).text, what="1 failed")
    retried = client.post(f"{edition_page}/retry", data={"csrf_token": token_for(client)})
    assert retried.status_code == 303
    entry = only(admin_site.engine, AuditAction.edition_retried)
    assert entry.actor == STAFF_EMAIL and entry.detail == "retry"
    wait_until(lambda: len(admin_site.smtp.handler.received) == 3, what="every copy arrives")
    # Nothing left to retry: refused with the reason, and nothing more is recorded.
    again = client.post(f"{edition_page}/retry", data={"csrf_token": token_for(client)})
    assert again.status_code == 409
    assert "Ni neuspelih prejemnikov, ki bi jih lahko poskusili znova." in again.text
    only(admin_site.engine, AuditAction.edition_retried)


def test_staff_and_token_changes_from_the_cli_are_recorded(
    database_url: str, engine: Engine
) -> None:
    runner = CliRunner()
    env = {"PUBLISHER_DATABASE_URL": database_url}
    added = runner.invoke(
        cli_app,
        ["staff", "add", "mojca@example.org", "--password-stdin"],
        input="dolgo-geslo-123\n",
        env=env,
    )
    assert added.exit_code == 0, added.output
    entry = only(engine, AuditAction.staff_added)
    assert entry.subject == "mojca@example.org" and entry.actor.endswith("(command line)")
    refused = runner.invoke(
        cli_app,
        ["staff", "add", "mojca@example.org", "--password-stdin"],
        input="dolgo-geslo-123\n",
        env=env,
    )
    assert refused.exit_code == 1
    assert len(audit_rows(engine, AuditAction.staff_added)) == 1  # nothing happened, nothing logged

    created = runner.invoke(cli_app, ["api-token", "create", "cms"], env=env)
    assert created.exit_code == 0, created.output
    assert only(engine, AuditAction.api_token_created).subject == "cms"
    assert created.stdout.strip() not in str([(r.subject, r.detail) for r in audit_rows(engine)])
    revoked = runner.invoke(cli_app, ["api-token", "revoke", "cms"], env=env)
    assert revoked.exit_code == 0
    runner.invoke(cli_app, ["api-token", "revoke", "cms"], env=env)
    assert only(engine, AuditAction.api_token_revoked).subject == "cms"
    removed = runner.invoke(cli_app, ["staff", "remove", "mojca@example.org"], env=env)
    assert removed.exit_code == 0
    assert only(engine, AuditAction.staff_removed).subject == "mojca@example.org"


def _seed(engine: Engine, count: int) -> None:
    with session_scope(engine) as session:
        for n in range(count):
            record(
                session,
                AuditAction.register_export,
                actor=f"oseba{n % 2}@example.org",
                client="10.0.0.9",
                subject=f"seznam-{n:03d}",
            )
        record(session, AuditAction.staff_added, actor="root (command line)", subject="nova")


def test_the_audit_page_lists_newest_first_filters_and_pages(admin_site: AdminSite) -> None:
    _seed(admin_site.engine, 60)
    client = logged_in(admin_site)
    assert 'href="/admin/audit"' in client.get("/admin").text
    first = client.get("/admin/audit")
    assert first.status_code == 200
    table = first.text.split('data-testid="audit"')[1]
    assert table.index("sign_in") < table.index("staff_added") < table.index("seznam-059")
    assert "seznam-009" not in table  # on the second page
    second = client.get("/admin/audit", params={"page": 2}).text
    assert "seznam-009" in second and "seznam-000" in second

    exports = client.get("/admin/audit", params={"action": "register_export", "actor": "OSEBA1"})
    body = exports.text.split('data-testid="audit"')[1]
    assert "seznam-059" in body and "seznam-058" not in body and "staff_added" not in body
    assert "vnosov: 30" in exports.text
    assert client.get("/admin/audit", params={"page": "ni-stevilka"}).status_code == 422
    assert client.get("/admin/audit", params={"page": 10**12}).status_code == 200

    stranger = admin_site.client()
    assert stranger.get("/admin/audit").status_code == 303  # to the login page
    assert stranger.get("/admin/audit.csv").status_code == 303


def test_the_audit_csv_is_formula_safe_and_filtered(admin_site: AdminSite) -> None:
    with session_scope(admin_site.engine) as session:
        record(session, AuditAction.sign_in_failed, actor='=HYPERLINK("http://evil.example")')
        record(session, AuditAction.sign_in_failed, actor="+1", detail="\tcmd")
        record(session, AuditAction.staff_added, actor="-2", subject="@SUM(A1)")
    client = logged_in(admin_site)
    response = client.get("/admin/audit.csv", params={"action": "sign_in_failed"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["at", "actor", "client", "action", "subject", "detail"]
    assert [row[1] for row in rows[1:]] == ["'+1", '\'=HYPERLINK("http://evil.example")']
    assert rows[1][5] == "'\tcmd"
    everything = list(csv.reader(io.StringIO(client.get("/admin/audit.csv").text.lstrip("\ufeff"))))
    cells = [cell for row in everything[1:] for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_no_route_changes_or_deletes_an_entry(admin_site: AdminSite, method: str) -> None:
    _seed(admin_site.engine, 1)
    client = logged_in(admin_site)
    token = token_for(client)
    before = [(row.id, row.actor, row.subject) for row in audit_rows(admin_site.engine)]
    for path in ("/admin/audit", "/admin/audit.csv", "/admin/audit/1", "/admin/audit/1/delete"):
        response = client.request(
            method, path, data={"csrf_token": token}, headers={"Origin": admin_site.url}
        )
        assert response.status_code in (404, 405), (method, path, response.status_code)
    after = [(row.id, row.actor, row.subject) for row in audit_rows(admin_site.engine)]
    assert after == before
