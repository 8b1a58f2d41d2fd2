"""The development mail catcher's page: what the catcher caught, for a developer's eyes.

A small FastAPI app of its own, so ``publisher mailcatcher`` can serve it alone and
``publisher serve --dev-smtp`` can mount it at ``/dev/mail``. Links are built from the mount
point (``root_path``), so both work unchanged.

Caught mail is untrusted HTML. The page never inlines it: the HTML part is served from its
own route with a CSP that forbids scripts and sandboxes the document, and is shown in an
``<iframe sandbox>`` without ``allow-scripts`` or ``allow-same-origin``; either alone stops a
message from running code or touching the page.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from publisher.config import Settings
from publisher.delivery.catcher import CaughtMessage, MailStore
from publisher.i18n import format_moment
from publisher.resources import WEB_TEMPLATES_DIR
from publisher.web.body import BodyLimit
from publisher.web.csrf import FIELD as CSRF_FIELD
from publisher.web.csrf import attach_csrf_cookie, csrf_token, require_csrf
from publisher.web.security import SecurityHeadersMiddleware

PAGE_SIZE = 50
STYLESHEET = WEB_TEMPLATES_DIR / "mailcatcher" / "mailcatcher.css"

PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-src 'self'",  # only the sandboxed message body
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
MESSAGE_BODY_CSP = "; ".join(
    [
        "sandbox",  # an opaque origin with no scripts, even if opened outside the iframe
        "default-src 'none'",  # so no script-src, no connect-src, no object-src
        "img-src http: https: data:",  # the digest's logo and photos, as a reader would see
        "style-src 'unsafe-inline'",  # mail is styled inline (premailer)
        "font-src http: https: data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
BODY_HEADERS = {
    "Content-Security-Policy": MESSAGE_BODY_CSP,
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TABS = (("html", "HTML"), ("text", "Besedilo"), ("headers", "Glava"))


def create_mailcatcher_app(
    store: MailStore, settings: Settings, *, smtp_address: str | None = None
) -> FastAPI:
    """The catcher's page over ``store``; ``smtp_address`` is shown so people know where to send.

    ``settings`` give the time zone for dates and the secret that signs the CSRF token of the
    "clear all" form (the same token the site's own forms use when mounted at ``/dev/mail``).
    """
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    templates = Jinja2Templates(directory=WEB_TEMPLATES_DIR)

    def when(moment: datetime) -> str:
        return format_moment(moment, "sl", settings.tz, seconds=True)  # the page is Slovenian

    templates.env.filters["when"] = when
    templates.env.filters["size"] = _human_size
    templates.env.filters["display_name"] = _display_name

    def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
        context["base"] = request.scope.get("root_path", "").rstrip("/")
        context["smtp_address"] = smtp_address
        context["csrf_field"] = CSRF_FIELD
        context["csrf_token"] = csrf_token(request)
        response = templates.TemplateResponse(
            request,
            f"mailcatcher/{template}",
            context,
            status_code=status_code,
            headers=PAGE_HEADERS,
        )
        return attach_csrf_cookie(request, response)

    def caught(message_id: int) -> CaughtMessage:
        message = store.get(message_id)
        if message is None:
            raise HTTPException(404, "Tega sporočila ni (morda je bil lovilec izpraznjen).")
        return message

    @app.get("/")
    def message_list(
        request: Request,
        to: str = Query("", max_length=200),
        page: int = Query(1, ge=1),
    ) -> Response:
        total = store.count(to)
        messages = store.list(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, recipient=to)
        return render(
            request,
            "list.html",
            messages=messages,
            total=total,
            everything=store.count() if to else total,
            to=to.strip(),
            page=page,
            has_newer=page > 1,
            has_older=page * PAGE_SIZE < total,
        )

    @app.get("/messages/{message_id}")
    def message_page(request: Request, message_id: int, view: str = "") -> Response:
        message = caught(message_id)
        shown = message.read()
        tabs = [(key, label) for key, label in TABS if key != "html" or shown.html is not None]
        if view not in {key for key, _ in tabs}:
            view = tabs[0][0]
        return render(
            request,
            "message.html",
            message=message,
            shown=shown,
            tabs=tabs,
            view=view,
        )

    @app.get("/messages/{message_id}/body.html")
    def message_html(message_id: int) -> Response:
        """Only for the iframe: the message's own HTML, sandboxed by CSP as well."""
        html = caught(message_id).read().html
        if html is None:
            raise HTTPException(404, "To sporočilo nima dela HTML.")
        return Response(html, media_type="text/html; charset=utf-8", headers=BODY_HEADERS)

    @app.get("/messages/{message_id}/raw.eml")
    def message_eml(message_id: int) -> Response:
        message = caught(message_id)
        return Response(
            message.raw,
            media_type="message/rfc822",
            headers={
                "Content-Disposition": f'attachment; filename="sporocilo-{message.id}.eml"',
                "Cache-Control": "no-store",
            },
        )

    @app.post("/clear", dependencies=[Depends(require_csrf)])
    def clear(request: Request) -> Response:
        store.clear()
        base = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{base}/", status_code=303)

    @app.get("/mailcatcher.css")
    def stylesheet() -> Response:
        return FileResponse(STYLESHEET, media_type="text/css")

    @app.exception_handler(HTTPException)
    async def plain_errors(request: Request, exc: HTTPException) -> Response:
        return PlainTextResponse(f"{exc.detail}\n", status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_address(request: Request, exc: RequestValidationError) -> Response:
        # /messages/abc or ?page=0: a wrong address, not an API error in JSON.
        return PlainTextResponse("Te strani ni.\n", status_code=404)

    app.add_middleware(BodyLimit)  # its one form: a few bytes
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def _display_name(mailbox: str) -> str:
    """``Občina <novice@…>`` → ``Občina``: the list has room for a name, the page shows all."""
    name, address = parseaddr(mailbox)
    return name or address or mailbox


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size}\u00a0B"  # a no-break space before the unit, as Slovenian sets it
    if size < 1024 * 1024:
        return f"{size / 1024:.1f}\u00a0KB".replace(".", ",")
    return f"{size / 1024 / 1024:.1f}\u00a0MB".replace(".", ",")
