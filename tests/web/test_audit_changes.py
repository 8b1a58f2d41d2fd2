"""Audit entries for what is done through an API token, and for changes to lists and topics,
over real HTTP and the real CLI: the same entries as from the admin, the token as the actor,
and what a setting was before and after."""

from __future__ import annotations

import json

import httpx
from typer.testing import CliRunner

from publisher.audit import AuditAction
from publisher.cli import app as cli_app
from publisher.db import session_scope
from publisher.staff.api_tokens import create_token
from publisher.staff.models import Role
from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, AdminSite, logged_in, token_for, wait_until
from tests.web.test_audit_log import audit_rows, only

admin_site = admin_support.admin_site
ARTICLE = {
    "id": "cms-7",
    "title": "Razstava v knjižnici",
    "published_at": "2025-03-05T09:30:00+01:00",
    "body_html": "<p>Odprta do konca meseca.</p>",
}


def api_client(site: AdminSite, role: Role = Role.approver) -> httpx.Client:
    with session_scope(site.engine) as session:
        _, secret = create_token(session, "cms", role)
    return httpx.Client(base_url=site.url + "/api", headers={"Authorization": f"Bearer {secret}"})


def before_after(detail: str) -> tuple[object, object]:
    before, _, after = detail.removeprefix("before=").partition(" after=")
    return json.loads(before), json.loads(after)


def test_approving_and_sending_through_the_api_is_recorded_with_the_token_as_actor(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 2)
    with api_client(admin_site) as api:
        assert api.post("/editions", json={"list": LIST, "period": PERIOD}).status_code == 202
    approved = only(admin_site.engine, AuditAction.edition_approved)
    assert (approved.actor, approved.client) == ("API token cms", "127.0.0.1")
    assert approved.subject == f"{LIST}/{PERIOD}"
    wait_until(
        lambda: len(audit_rows(admin_site.engine, AuditAction.edition_send_started)) == 1,
        what="the start of sending is recorded",
    )
    assert only(admin_site.engine, AuditAction.edition_send_started).actor == "API token cms"


def test_withdrawing_and_publishing_through_the_api_or_the_admin_leave_one_entry_each(
    admin_site: AdminSite,
) -> None:
    with api_client(admin_site, Role.editor) as api:
        pushed = api.post("/articles", json=ARTICLE)
        assert pushed.status_code == 201
        assert audit_rows(admin_site.engine, AuditAction.article_published) == []  # a push
        key = pushed.json()["id"]
        assert api.delete(f"/articles/{key}").status_code == 200
        assert api.delete(f"/articles/{key}").status_code == 200  # already withdrawn
        withdrawn = only(admin_site.engine, AuditAction.article_withdrawn)
        assert (withdrawn.actor, withdrawn.client) == ("API token cms", "127.0.0.1")
        assert withdrawn.subject == "json:cms-7"
        back = api.put(f"/articles/{key}", json={**ARTICLE, "status": "published"})
        assert back.status_code == 200
        assert only(admin_site.engine, AuditAction.article_published).actor == "API token cms"

    client = logged_in(admin_site)
    page = f"/admin/articles/{key}"
    answer = client.post(f"{page}/withdraw", data={"csrf_token": token_for(client, page)})
    assert answer.status_code == 303
    entries = audit_rows(admin_site.engine, AuditAction.article_withdrawn)
    assert [entry.actor for entry in entries] == ["API token cms", STAFF_EMAIL]


def test_topic_changes_from_the_api_the_admin_and_the_cli_are_recorded_before_and_after(
    admin_site: AdminSite, database_url: str
) -> None:
    with api_client(admin_site, Role.editor) as api:
        assert api.put("/topics/promet", json={"name": "Promet"}).status_code == 200
        assert api.put("/topics/promet", json={"name": "Promet"}).status_code == 200  # no change
    created = only(admin_site.engine, AuditAction.settings_changed)
    assert (created.actor, created.subject) == ("API token cms", "topic promet")
    assert before_after(created.detail) == (None, {"name": "Promet"})

    client = logged_in(admin_site)
    form = {"csrf_token": token_for(client, "/admin/topics"), "slug": "promet"}
    renamed = client.post("/admin/topics", data={**form, "name": "Promet in ceste"})
    assert renamed.status_code == 303
    changes = audit_rows(admin_site.engine, AuditAction.settings_changed)
    assert (changes[-1].actor, changes[-1].client) == (STAFF_EMAIL, "127.0.0.1")
    assert before_after(changes[-1].detail) == ({"name": "Promet"}, {"name": "Promet in ceste"})

    env = {"PUBLISHER_DATABASE_URL": database_url}
    runner = CliRunner()
    done = runner.invoke(cli_app, ["topics", "add", "promet", "--name", "Zapore"], env=env)
    assert done.exit_code == 0, done.output
    made = runner.invoke(
        cli_app, ["lists", "create", "zapore", "--name", "Zapore cest", "-t", "promet"], env=env
    )
    assert made.exit_code == 0, made.output
    *_, topic, new_list = audit_rows(admin_site.engine, AuditAction.settings_changed)
    assert topic.actor.endswith("(command line)")
    assert before_after(topic.detail) == ({"name": "Promet in ceste"}, {"name": "Zapore"})
    assert new_list.subject == "list zapore"
    before, after = before_after(new_list.detail)
    assert before is None
    assert after == {
        "name": "Zapore cest",
        "description": "",
        "public": True,
        "language": "sl",
        "topics": ["promet"],
    }


def test_a_data_download_and_an_erasure_from_the_cli_are_recorded_without_the_address(
    admin_site: AdminSite, database_url: str
) -> None:
    (address,) = stock(admin_site.engine, 1)
    env = {"PUBLISHER_DATABASE_URL": database_url}
    runner = CliRunner()
    assert runner.invoke(cli_app, ["subscribers", "data", address], env=env).exit_code == 0
    download = only(admin_site.engine, AuditAction.data_download)
    assert download.actor.endswith("(command line)")
    assert download.subject.startswith("subscriber ")
    erased = runner.invoke(cli_app, ["subscribers", "erase", address, "--yes"], env=env)
    assert erased.exit_code == 0, erased.output
    erasure = only(admin_site.engine, AuditAction.erasure)
    assert erasure.subject == download.subject
    assert all(address not in f"{row.subject}{row.detail}" for row in audit_rows(admin_site.engine))
