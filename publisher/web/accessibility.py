"""``/dostopnost``: the accessibility statement a public body's site must publish (Directive
(EU) 2016/2102; in Slovenia the ZDSMA act), in the site's layout and the reader's language.

The facts it states (the day of the last check, where to report a problem, the supervisory
body's page) are settings; this module only renders them.
"""

from __future__ import annotations

from datetime import datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import Response

from publisher.config import Settings
from publisher.web.layout import page_language, render

router = APIRouter()


@router.api_route("/dostopnost", methods=["GET", "HEAD"])
def accessibility_statement(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    contact = settings.accessibility_contact_in_force
    return render(
        request,
        "accessibility.html",
        lang=page_language(request),
        checked=datetime.combine(settings.accessibility_checked, time(12), tzinfo=settings.tz),
        contact=contact,
        contact_href=contact if contact.startswith("https://") else f"mailto:{contact}",
        supervisor_url=settings.accessibility_supervisor_url,
        site_address=settings.base_url.split("://", 1)[-1],
    )
