"""Lifting a suppression over real HTTP and the real CLI: staff undo a bounce or complaint
that was a false positive, never a resident's own unsubscribe or erasure, and every lift is in
the audit log with who, from where, which address and why."""

from __future__ import annotations

import httpx
from sqlmodel import Session
from typer.testing import CliRunner

from publisher.addresses import address_hash
from publisher.audit import AuditAction
from publisher.cli import app as cli_app
from publisher.db import session_scope
from publisher.staff.models import Role
from publisher.subscribers.models import SuppressionReason
from publisher.subscribers.suppression import suppress, suppression_of
from tests.delivery.sending_support import stock
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, AdminSite, logged_in, token_for
from tests.web.test_audit_log import audit_rows, only
from tests.web.test_staff_roles import signed_in_as

admin_site = admin_support.admin_site
LIFT = "/admin/subscribers/lift-suppression"


def suppressed(site: AdminSite, address: str, reason: SuppressionReason) -> None:
    with session_scope(site.engine) as session:
        suppress(session, address, reason)


def is_suppressed(site: AdminSite, address: str) -> bool:
    with Session(site.engine) as session:
        return suppression_of(session, address_hash(address)) is not None


def lift(client: httpx.Client, address: str, reason: str) -> httpx.Response:
    token = token_for(client, "/admin/subscribers")
    return client.post(LIFT, data={"csrf_token": token, "email": address, "reason": reason})


def test_an_admin_lifts_a_false_bounce_and_the_audit_log_says_who_which_and_why(
    admin_site: AdminSite,
) -> None:
    bounced, complained = stock(admin_site.engine, 2)
    suppressed(admin_site, bounced, SuppressionReason.hard_bounce)
    suppressed(admin_site, complained, SuppressionReason.complaint)
    client = logged_in(admin_site)
    answer = lift(client, bounced, "Strežnik prejemnika je bil en dan v okvari")
    assert answer.status_code == 200
    assert "je odpravljena" in answer.text and "trajna zavrnitev" in answer.text
    assert not is_suppressed(admin_site, bounced) and is_suppressed(admin_site, complained)
    entry = only(admin_site.engine, AuditAction.suppression_lifted)
    assert (entry.actor, entry.client, entry.subject) == (STAFF_EMAIL, "127.0.0.1", bounced)
    assert entry.detail == "was=hard_bounce why=Strežnik prejemnika je bil en dan v okvari"

    assert lift(client, complained, "").status_code == 400  # a lift needs a reason
    assert is_suppressed(admin_site, complained)
    assert lift(client, complained, "Prijavil jo je sodelavec po pomoti").status_code == 200
    assert len(audit_rows(admin_site.engine, AuditAction.suppression_lifted)) == 2


def test_a_residents_unsubscribe_or_erasure_is_never_lifted_by_staff(
    admin_site: AdminSite,
) -> None:
    left, erased = stock(admin_site.engine, 2)
    suppressed(admin_site, left, SuppressionReason.unsubscribed)
    suppressed(admin_site, erased, SuppressionReason.erased)
    client = logged_in(admin_site)
    for address in (left, erased):
        answer = lift(client, address, "Rad bi jo nazaj")
        assert answer.status_code == 400
        assert "lahko odpravi le sam" in answer.text
        assert is_suppressed(admin_site, address)
    unknown = lift(client, "nihce@example.org", "Pomota")
    assert unknown.status_code == 400 and "ni blokiran" in unknown.text
    assert audit_rows(admin_site.engine, AuditAction.suppression_lifted) == []


def test_only_admins_lift_a_suppression(admin_site: AdminSite) -> None:
    (address,) = stock(admin_site.engine, 1)
    suppressed(admin_site, address, SuppressionReason.hard_bounce)
    for role in (Role.editor, Role.approver):
        client, _ = signed_in_as(admin_site, role)
        token = token_for(client)
        answer = client.post(LIFT, data={"csrf_token": token, "email": address, "reason": "x"})
        assert answer.status_code == 403, role
    assert is_suppressed(admin_site, address)


def test_the_cli_lifts_a_complaint_but_refuses_an_unsubscribe_in_words(
    admin_site: AdminSite, database_url: str
) -> None:
    complained, left = stock(admin_site.engine, 2)
    suppressed(admin_site, complained, SuppressionReason.complaint)
    suppressed(admin_site, left, SuppressionReason.unsubscribed)
    runner = CliRunner()
    env = {"PUBLISHER_DATABASE_URL": database_url}
    done = runner.invoke(
        cli_app,
        ["subscribers", "lift-suppression", complained, "--reason", "Pomotoma prijavljena"],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert "lifted" in done.output and not is_suppressed(admin_site, complained)
    entry = only(admin_site.engine, AuditAction.suppression_lifted)
    assert entry.actor.endswith("(command line)") and entry.subject == complained
    assert entry.detail == "was=complaint why=Pomotoma prijavljena"

    refused = runner.invoke(
        cli_app, ["subscribers", "lift-suppression", left, "--reason", "Hoče nazaj"], env=env
    )
    assert refused.exit_code == 1
    assert "only they can undo it" in refused.output
    assert is_suppressed(admin_site, left)


def test_a_soft_bounce_suppression_is_lifted_like_a_hard_one(
    admin_site: AdminSite, database_url: str
) -> None:
    """Repeated soft bounces (a mailbox full for weeks) are the mail system's verdict too."""
    [full] = stock(admin_site.engine, 1)
    suppressed(admin_site, full, SuppressionReason.soft_bounce)
    done = CliRunner().invoke(
        cli_app,
        ["subscribers", "lift-suppression", full, "--reason", "Nabiralnik spet sprejema pošto"],
        env={"PUBLISHER_DATABASE_URL": database_url},
    )
    assert done.exit_code == 0, done.output
    assert not is_suppressed(admin_site, full)
    entry = only(admin_site.engine, AuditAction.suppression_lifted)
    assert entry.detail == "was=soft_bounce why=Nabiralnik spet sprejema pošto"
