"""The staff admin at ``/admin``: server-rendered pages that call the same domain functions
as the CLI (editions, ledger, register, store), never copies of them.

``install(app)`` adds the routes and the admin's per-process state (the login throttle);
sending goes through the app's one :class:`~publisher.delivery.runner.Senders`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response

from publisher.staff.models import Role
from publisher.web.admin import (
    articles,
    audit,
    auth,
    dashboard,
    digests,
    editions,
    editor,
    staff,
    subscribers,
    two_factor,
)
from publisher.web.admin.auth import (
    RoleRefused,
    current_staff,
    require_role,
    setting_up_only,
)
from publisher.web.admin.render import render
from publisher.web.ratelimit import LoginThrottle, rate_limit_storage


@dataclass
class AdminState:
    throttle: LoginThrottle


def _protected() -> APIRouter:
    """Every page but the login page: only for a logged-in staff member (any role; the
    routes that need more say so with :func:`require_role`)."""
    router = APIRouter(dependencies=[Depends(require_role(Role.editor))])
    for module in (
        dashboard,
        editor,
        articles,
        digests,
        editions,
        subscribers,
        audit,
        staff,
        two_factor,
    ):
        router.include_router(module.router)
    return router


def install(app: FastAPI) -> None:
    app.state.admin = AdminState(
        throttle=LoginThrottle(storage=rate_limit_storage(app.state.settings)),
    )
    app.include_router(auth.router)
    app.include_router(_protected())
    app.add_exception_handler(RoleRefused, _role_refused)


def _role_refused(request: Request, exc: Exception) -> Response:
    """The admin's own page (in Slovenian, with its navigation), not the bare error text."""
    return render(
        request,
        "admin/forbidden.html",
        staff=current_staff(request),
        status_code=403,
        error=str(getattr(exc, "detail", "")),
    )


def not_found_page(request: Request) -> Response | None:
    """The admin's 404 page (in Slovenian, with its navigation and a way back to the
    dashboard) for a signed-in staff member; None for anyone else, who keeps the plain answer
    (a missing page is no reason to show a stranger the admin's frame)."""
    account = current_staff(request)
    if account is None or setting_up_only(request, account):
        return None
    return render(request, "admin/not_found.html", staff=account, status_code=404)
