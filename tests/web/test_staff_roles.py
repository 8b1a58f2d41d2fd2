"""Staff roles over real HTTP and the real CLI: an editor cannot approve, send or see the
register; an approver sends but cannot see the register; an admin does everything; an API
token's role decides whether it may approve; existing accounts and tokens become admins."""

from __future__ import annotations

import httpx
from sqlalchemy import column, insert, select, table
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from publisher.cli import app as cli_app
from publisher.db import make_engine, session_scope, upgrade
from publisher.digests.editions import editions_of
from publisher.staff.accounts import add_staff, find_staff
from publisher.staff.api_tokens import create_token
from publisher.staff.models import ApiToken, Role
from publisher.subscribers.lists import status_counts
from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import (
    AdminSite,
    csrf_of,
    login,
    roles_needed,
    routes_with_roles,
    token_for,
)

admin_site = admin_support.admin_site
DIGEST = f"/admin/digests/{LIST}/{PERIOD}"
PASSWORD = "Trdina-je-pisal-2025"
REFUSED = "Tega vaša vloga"
UPLOAD = "email;ime;jezik\nnova.naslovnica@example.org;Nova;sl\n"


def signed_in_as(site: AdminSite, role: Role) -> tuple[httpx.Client, str]:
    """A browser signed in as a new staff member with ``role``, and their address."""
    email = f"{role.value}@novomesto.example.org"
    with session_scope(site.engine) as session:
        add_staff(session, email, PASSWORD, f"Vloga {role.value}", role)
    client = site.client()
    assert login(client, email, PASSWORD).status_code == 303
    return client, email


def approve(client: httpx.Client) -> httpx.Response:
    return client.post(
        f"{DIGEST}/approve", data={"csrf_token": token_for(client, DIGEST), "confirm": "yes"}
    )


def import_upload(client: httpx.Client) -> httpx.Response:
    page = client.get("/admin")
    return client.post(
        f"/admin/lists/{LIST}/import",
        data={"csrf_token": csrf_of(page)},
        files={"file": ("novi.csv", UPLOAD.encode(), "text/csv")},
    )


def assert_refused(response: httpx.Response) -> None:
    """403 with the admin's own Slovenian page, not a bare error or a stack trace."""
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert REFUSED in response.text and "Ni dovoljeno" in response.text


def subscriptions(engine: Engine) -> int:
    with Session(engine) as session:
        return sum(sum(counts.values()) for counts in status_counts(session).values())


def test_an_editor_previews_and_tests_but_cannot_approve_nor_see_the_register(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 3)
    client, email = signed_in_as(admin_site, Role.editor)
    page = client.get(DIGEST)
    assert page.status_code == 200
    assert "Odobri in pošlji" not in page.text and "odobritelj" in page.text
    assert 'href="/admin/lists"' not in page.text and 'href="/admin/subscribers"' not in page.text
    assert 'href="/admin/articles"' in page.text
    assert client.get(f"{DIGEST}/preview.html?lang=sl").status_code == 200

    tested = client.post(f"{DIGEST}/test", data={"csrf_token": token_for(client, DIGEST)})
    assert tested.status_code == 303
    assert [to for to, _, _ in admin_site.smtp.handler.received] == [email]

    assert_refused(approve(client))
    with Session(admin_site.engine) as session:
        assert editions_of(session) == []
    assert len(admin_site.smtp.handler.received) == 1  # the test copy, nothing else

    before = subscriptions(admin_site.engine)
    assert_refused(client.get(f"/admin/lists/{LIST}/export.csv"))
    assert_refused(client.get("/admin/lists"))
    assert_refused(client.get(f"/admin/lists/{LIST}"))
    assert_refused(client.get("/admin/subscribers?q=example"))
    assert_refused(import_upload(client))
    assert subscriptions(admin_site.engine) == before
    assert client.get("/admin/articles").status_code == 200
    assert client.get("/admin/topics").status_code == 200


def test_an_approver_approves_and_controls_sending_but_cannot_see_the_register(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 3)
    client, _ = signed_in_as(admin_site, Role.approver)
    assert "Odobri in pošlji" in client.get(DIGEST).text
    approved = approve(client)
    assert approved.status_code == 303
    edition_page = approved.headers["location"]
    assert edition_page.startswith("/admin/editions/")
    with Session(admin_site.engine) as session:
        assert len(editions_of(session)) == 1

    editor, _ = signed_in_as(admin_site, Role.editor)
    shown = editor.get(edition_page)
    assert shown.status_code == 200 and "/cancel" not in shown.text
    for action in ("pause", "cancel", "retry", "resume"):
        assert_refused(editor.post(f"{edition_page}/{action}", data={"csrf_token": csrf_of(shown)}))
    own = client.get(edition_page)
    assert "Pošiljanje ustavi" not in own.text
    assert client.post(f"{edition_page}/pause", data={"csrf_token": csrf_of(own)}).status_code in (
        303,
        409,
    )

    page = client.get("/admin")
    assert 'href="/admin/lists"' not in page.text and 'href="/admin/editions"' in page.text
    before = subscriptions(admin_site.engine)
    assert_refused(client.get(f"/admin/lists/{LIST}/export.csv"))
    assert_refused(client.get("/admin/lists"))
    assert_refused(client.get("/admin/subscribers"))
    assert_refused(import_upload(client))
    assert subscriptions(admin_site.engine) == before


def test_an_admin_can_do_everything(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 3)
    client, _ = signed_in_as(admin_site, Role.admin)
    page = client.get("/admin")
    assert 'href="/admin/lists"' in page.text and 'href="/admin/subscribers"' in page.text
    assert client.get("/admin/lists").status_code == 200
    exported = client.get(f"/admin/lists/{LIST}/export.csv")
    assert exported.status_code == 200 and "@" in exported.text
    before = subscriptions(admin_site.engine)
    assert import_upload(client).status_code == 200
    assert subscriptions(admin_site.engine) == before + 1
    assert approve(client).status_code == 303


def test_an_editor_token_cannot_approve_through_the_api(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 3)
    with session_scope(admin_site.engine) as session:
        _, editor = create_token(session, "cms")
        _, approver = create_token(session, "newsroom", Role.approver)
    with httpx.Client(
        base_url=admin_site.url + "/api", headers={"Authorization": f"Bearer {editor}"}
    ) as api:
        assert api.put("/topics/kultura", json={"name": "Kultura"}).status_code == 200
        pushed = api.post(
            "/articles",
            json={
                "id": "cms-1",
                "title": "Razstava v knjižnici",
                "published_at": "2025-03-05T09:30:00+01:00",
                "body_html": "<p>Odprta do konca meseca.</p>",
                "topics": ["kultura"],
            },
        )
        assert pushed.status_code == 201, pushed.text
        refused = api.post("/editions", json={"list": LIST, "period": PERIOD})
        assert refused.status_code == 403
        assert "--role approver" in refused.json()["detail"]
        assert api.get("/editions").status_code == 200
    with Session(admin_site.engine) as session:
        assert editions_of(session) == []
    assert admin_site.smtp.handler.received == []
    with httpx.Client(
        base_url=admin_site.url + "/api", headers={"Authorization": f"Bearer {approver}"}
    ) as api:
        assert api.post("/editions", json={"list": LIST, "period": PERIOD}).status_code == 202


def test_the_cli_sets_and_lists_roles(engine: Engine, database_url: str) -> None:
    runner = CliRunner()
    env = {"PUBLISHER_DATABASE_URL": database_url}

    def run(*args: str, stdin: str = "") -> str:
        result = runner.invoke(cli_app, list(args), input=stdin, env=env)
        assert result.exit_code == 0, result.output
        return result.output

    run("staff", "add", "ana@example.org", "--password-stdin", stdin=f"{PASSWORD}\n")
    added = run(
        "staff", "add", "bor@example.org", "--role", "approver", "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )  # fmt: skip
    assert "approver" in added
    wrong = runner.invoke(
        cli_app,
        ["staff", "add", "cvet@example.org", "--role", "boss", "--password-stdin"],
        input=f"{PASSWORD}\n",
        env=env,
    )
    assert wrong.exit_code == 2 and "editor, approver, admin" in wrong.output
    with Session(engine) as session:
        assert find_staff(session, "ana@example.org").role == Role.editor  # type: ignore[union-attr]
        assert find_staff(session, "bor@example.org").role == Role.approver  # type: ignore[union-attr]
        assert find_staff(session, "cvet@example.org") is None
    listed = run("staff", "list")
    assert "Role" in listed and "editor" in listed and "approver" in listed

    run("api-token", "create", "cms")
    run("api-token", "create", "newsroom", "--role", "admin")
    with Session(engine) as session:
        roles = {t.name: t.role for t in session.execute(select(ApiToken)).scalars()}
    assert roles == {"cms": Role.editor, "newsroom": Role.admin}
    tokens = run("api-token", "list")
    assert "editor" in tokens and "admin" in tokens


def test_accounts_and_tokens_from_before_roles_become_admins(database_url: str) -> None:
    """Nothing breaks for a current installation: whoever could do everything still can."""
    engine = make_engine(database_url)
    upgrade(engine, "0006")
    staff = table("staff_account", column("email"), column("name"), column("password_hash"),
                  column("active"), column("created_at"))  # fmt: skip
    tokens = table("api_token", column("name"), column("token_hash"), column("prefix"),
                   column("created_at"))  # fmt: skip
    with engine.begin() as connection:
        connection.execute(
            insert(staff).values(
                email="stara@example.org",
                name="",
                password_hash="x",
                active=True,
                created_at="2025-01-01 00:00:00+00:00",
            )
        )
        connection.execute(
            insert(tokens).values(
                name="cms", token_hash="0" * 64, prefix="pub_", created_at="2025-01-01 00:00:00"
            )
        )
    upgrade(engine)
    with engine.connect() as connection:
        for name in ("staff_account", "api_token"):
            role = connection.execute(select(column("role")).select_from(table(name)))
            assert role.scalar_one() == "admin", name
    with session_scope(engine) as session:
        add_staff(session, "nova@example.org", PASSWORD)
    with Session(engine) as session:
        assert find_staff(session, "nova@example.org").role == Role.editor  # type: ignore[union-attr]
    engine.dispose()


EXPECTED_ROLES = {
    Role.approver: {
        "POST /admin/digests/{slug}/{period_key}/approve",
        "GET /admin/editions/{edition_id}/recipients/{delivery_id}",
        "GET /admin/bounces/{bounce_id}/raw",
        *(
            f"POST /admin/editions/{{edition_id}}/{a}"
            for a in ("pause", "resume", "cancel", "retry")
        ),
    },
    Role.admin: {
        "GET /admin/lists",
        "GET /admin/lists/{slug}",
        "GET /admin/subscribers",
        "POST /admin/subscribers/lift-suppression",
        "POST /admin/lists/{slug}/import",
        "POST /admin/lists/{slug}/name-en",
        "GET /admin/lists/{slug}/export.csv",
        "GET /admin/audit",
        "GET /admin/audit.csv",
        "GET /admin/staff",
        "POST /admin/check",
        "POST /admin/staff/{account_id}/reset-two-factor",
    },
}


def test_every_admin_route_states_its_role(admin_site: AdminSite) -> None:
    """The class, not the examples: every admin page and form checks a role, and the ones
    for approvers and admins are exactly these; only the sign-in forms need none."""
    seen: dict[Role, set[str]] = {role: set() for role in Role}
    for route, inherited in routes_with_roles(admin_site.app.routes):
        if not route.path.startswith("/admin"):
            continue
        roles = inherited + roles_needed(route.dependant)
        for method in sorted(route.methods - {"HEAD"}):
            name = f"{method} {route.path}"
            if route.path.startswith(("/admin/login", "/admin/logout")):
                continue
            assert roles, f"{name} checks no role"
            seen[max(roles, key=lambda role: role.rank)].add(name)
    assert seen[Role.approver] == EXPECTED_ROLES[Role.approver]
    assert seen[Role.admin] == EXPECTED_ROLES[Role.admin]
    assert "GET /admin/digests/{slug}/{period_key}/preview.html" in seen[Role.editor]
    assert "POST /admin/digests/{slug}/{period_key}/test" in seen[Role.editor]
