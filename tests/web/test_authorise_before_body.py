"""Authorisation before the body, for every route that takes one: a staff member whose role
does not allow a form, a caller without a valid API token, or a token whose role does not
allow the call, is refused before a byte of the body is read.

Each attack streams a body far over the route's limit; a route that read the body before
deciding would answer 413 (or read the whole upload), so the refusal's status tells.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from publisher.db import session_scope
from publisher.staff.api_tokens import create_token
from publisher.staff.models import Role
from publisher.web.gate import BODY_METHODS, gated_routes
from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import AdminSite, token_for
from tests.web.test_body_limits import SLACK, csrf_field, multipart, post_streamed
from tests.web.test_staff_roles import EXPECTED_ROLES, signed_in_as

admin_site = admin_support.admin_site
API_BODY_ROUTES = [
    ("POST", "/api/articles"),
    ("POST", "/api/editions"),
    ("PUT", "/api/articles/1"),
    ("DELETE", "/api/articles/1"),
    ("PUT", "/api/topics/promet"),
]


def concrete(path: str) -> str:
    return (
        path.replace("{slug}", LIST)
        .replace("{period_key}", PERIOD)
        .replace("{edition_id}", "1")
        .replace("{delivery_id}", "1")
    )


def json_stream(size: int = 8 * 1024 * 1024) -> Iterator[bytes]:
    """A JSON document of ``size`` bytes, well over the API's 2 MiB."""
    yield b'{"title": "'
    for _ in range(size // (256 * 1024)):
        yield b"x" * (256 * 1024)


def test_an_editors_upload_to_a_list_import_is_refused_before_it_is_read(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 1)
    client, _ = signed_in_as(admin_site, Role.editor)
    body = multipart(csrf_field(token_for(client)))
    answer = post_streamed(admin_site, f"/admin/lists/{LIST}/import", body, client)
    assert answer.status == 403
    assert "Tega vaša vloga" in answer.text  # the admin's own refusal, in Slovenian
    assert answer.sent < SLACK


def test_every_admin_form_above_the_callers_role_is_refused_before_its_body(
    admin_site: AdminSite,
) -> None:
    """The class: each form for approvers or admins, posted by a role below."""
    stock(admin_site.engine, 1)
    editor, _ = signed_in_as(admin_site, Role.editor)
    approver, _ = signed_in_as(admin_site, Role.approver)
    forms = [
        (role, name.removeprefix("POST "))
        for role in (Role.approver, Role.admin)
        for name in EXPECTED_ROLES[role]
        if name.startswith("POST ")
    ]
    assert len(forms) >= 6
    for needed, path in forms:
        for client in [editor] + ([approver] if needed is Role.admin else []):
            body = multipart(csrf_field(token_for(client)))
            answer = post_streamed(admin_site, concrete(path), body, client)
            assert answer.status == 403, (path, answer.status)
            assert answer.sent < SLACK, path


def test_api_calls_without_a_valid_token_are_refused_before_their_body(
    admin_site: AdminSite,
) -> None:
    for method, path in API_BODY_ROUTES:
        for header in ({}, {"Authorization": "Bearer pub_unknown"}):
            answer = post_streamed(
                admin_site,
                path,
                json_stream(),
                headers={"Content-Type": "application/json", **header},
                method=method,
            )
            assert answer.status == 401, (method, path, header, answer.status)
            assert '"detail"' in answer.text


def test_an_editors_token_is_refused_approval_before_the_body(admin_site: AdminSite) -> None:
    with session_scope(admin_site.engine) as session:
        _, editor = create_token(session, "cms")
    answer = post_streamed(
        admin_site,
        "/api/editions",
        json_stream(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {editor}"},
    )
    assert answer.status == 403
    assert "--role approver" in answer.text
    # An editor's own calls still take their body (and its limit).
    pushed = post_streamed(
        admin_site,
        "/api/articles",
        json_stream(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {editor}"},
    )
    assert pushed.status == 413
    with httpx.Client(
        base_url=admin_site.url + "/api", headers={"Authorization": f"Bearer {editor}"}
    ) as api:
        assert api.put("/topics/kultura", json={"name": "Kultura"}).status_code == 200


PUBLIC_BODY_ROUTES = {
    "^/subscribe$",
    "^/admin/login$",
    "^/admin/logout$",
    # The code step: the staff gate refuses it before the body without the half session of a
    # right password (test_the_second_sign_in_step_takes_a_body_only_after_the_password_step).
    "^/admin/login/code$",
    # A resident's signed link is checked before the form is read (residents/preferences.py).
    "^/preferences/(?P<token>[^/]+)$",
    "^/preferences/(?P<token>[^/]+)/unsubscribe$",
    "^/preferences/(?P<token>[^/]+)/erase$",
    "^/unsubscribe/(?P<token>[^/]+)$",
    # Each provider's own authentication, from the headers where its scheme allows, before the
    # route reads the body itself (web/webhooks.py; tests/web/test_bounce_webhooks.py).
    "^/webhooks/bounces/(?P<provider>[^/]+)$",
}


def test_every_route_that_takes_a_body_is_authorised_before_it_or_public_by_design(
    admin_site: AdminSite,
) -> None:
    """The class over the whole app: a route added with a body and a role the gate cannot
    see (or with no check at all) fails here."""
    app = admin_site.app
    seen = set()
    for route in gated_routes(app, app.router.routes):
        if not route.methods & BODY_METHODS:
            continue
        seen.add(route.pattern.pattern)
        if route.pattern.pattern not in PUBLIC_BODY_ROUTES:
            assert route.checks, f"{sorted(route.methods)} {route.pattern.pattern} checks no role"
    assert seen >= PUBLIC_BODY_ROUTES
    assert seen >= {"^/api/articles$", "^/api/editions$", "^/api/articles/(?P<key>[^/]+)$"}


def test_the_second_sign_in_step_takes_a_body_only_after_the_password_step(
    admin_site: AdminSite,
) -> None:
    """Without the half session of a right password, a post to the code step is refused
    before its body is read."""
    with admin_site.client() as client:
        body = multipart(csrf_field(token_for(client, "/admin/login")))
        answer = post_streamed(admin_site, "/admin/login/code", body, client)
    assert answer.status == 403, (answer.status, answer.text)
    assert "prijaviti" in answer.text
    assert answer.sent < SLACK
