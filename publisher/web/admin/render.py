"""How every admin page is rendered: the staff member, the CSRF token, dates, no caching.

Admin pages carry personal data (subscribers' addresses), so they are never cached and never
indexed. The digest page frames the message preview, so its policy also allows frames from
this site (``frame-src 'self'``); every other admin page keeps the site's strict policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.audit import describe_action, describe_actor, describe_detail
from publisher.clock import local_now
from publisher.config import Settings
from publisher.delivery.runner import Senders
from publisher.i18n import format_day, format_moment
from publisher.staff.accounts import staff_names
from publisher.staff.models import Role, StaffAccount
from publisher.staff.two_factor import must_set_up
from publisher.topics import NAME_MAX_LENGTH
from publisher.web.csrf import attach_csrf_cookie, csrf_token
from publisher.web.security import CONTENT_SECURITY_POLICY

CSP_WITH_FRAMES = CONTENT_SECURITY_POLICY + "; frame-src 'self'"
ADMIN_LANGUAGE = "sl"
"""The admin is written in Slovenian, whatever language the public site defaults to."""
LANGUAGE_NAMES = {"sl": "slovenščina", "en": "angleščina"}
"""The languages of subscribers, lists and mail as the admin names them (codes are for forms)."""
ENGLISH_NAME_TOO_LONG = f"Angleško ime je predolgo: največ {NAME_MAX_LENGTH} znakov."
"""What the topic and list forms say when :func:`publisher.topics.clean_english_name` refuses."""
PRIVATE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def senders_of(request: Request) -> Senders:
    """The app's one sender runner: sends started here show wherever this process shows them."""
    senders: Senders = request.app.state.senders
    return senders


def when(settings: Settings, moment: datetime | None, with_time: bool = True) -> str:
    """An admin page's date (``with_time=False``) or date and time; empty for no moment."""
    if moment is None:
        return ""
    formatter = format_moment if with_time else format_day
    return formatter(moment, ADMIN_LANGUAGE, settings.tz)


def actor_names(request: Request) -> Callable[[str], str]:
    """``who(actor)`` for a page: each recorded actor in the admin's language, staff by name
    (the names read once per page, and only by a page that names someone)."""
    engine = engine_of(request)

    @cache
    def names() -> dict[str, str]:
        with Session(engine) as session:
            return staff_names(session)

    return lambda actor: describe_actor(actor, ADMIN_LANGUAGE, names()) if actor else ""


def render(
    request: Request,
    template: str,
    *,
    staff: StaffAccount | None,
    status_code: int = 200,
    frames: bool = False,
    refresh: int | None = None,
    **context: Any,
) -> Response:
    """Render ``templates/web/admin/…`` with what every admin page needs; ``can("approver")``
    tells a template whether to show what only that role (and those above) may do, and
    ``setting_up`` whether the staff member may do nothing but set up two-factor sign-in."""
    settings = settings_of(request)
    templates: Jinja2Templates = request.app.state.templates
    token = csrf_token(request)  # before rendering: the forms carry it
    context.update(
        site_name=settings.site_name,
        lang=ADMIN_LANGUAGE,
        staff=staff,
        csrf=token,
        refresh=refresh,
        can=lambda needed: staff is not None and Role(staff.role).allows(Role(needed)),
        setting_up=staff is not None and must_set_up(staff, settings.require_two_factor),
        when=lambda moment, with_time=True: when(settings, moment, with_time),
        who=actor_names(request),
        action_name=lambda code: describe_action(code, ADMIN_LANGUAGE),
        detail_text=lambda detail: describe_detail(detail or "", ADMIN_LANGUAGE),
        language_name=lambda code: LANGUAGE_NAMES.get(str(code), str(code)),
    )
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(PRIVATE_HEADERS)
    if frames:
        response.headers["Content-Security-Policy"] = CSP_WITH_FRAMES
    attach_csrf_cookie(request, response)
    return response


def csv_download(request: Request, chunks: Iterator[bytes], name: str) -> StreamingResponse:
    """A CSV file streamed as a download named ``name-<today>.csv``, never cached."""
    filename = f"{name}-{local_now(settings_of(request).tz).date().isoformat()}.csv"
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
