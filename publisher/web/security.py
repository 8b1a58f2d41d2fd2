"""Security headers on every response, as a plain ASGI middleware (cheap on the 304 path).

HSTS is sent only when the site's ``base_url`` is https: a browser that once saw it refuses
plain http to the host for a year, which would lock out a demo served on http://localhost.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",  # no scripts at all: the pages need none
        "style-src 'self'",
        "img-src 'self' https: data:",  # article photos may live on the municipality's site
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

CSP_WITH_OUR_SCRIPTS = CONTENT_SECURITY_POLICY + "; script-src 'self'"
"""For the few public pages that load a script file of ours (the follow pages' copy buttons);
still no inline script, no script from elsewhere."""

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "camera",
        "microphone",
        "geolocation",
        "payment",
        "usb",
        "interest-cohort",
        "browsing-topics",
    )
)
"""No page needs a device or a tracking API: every powerful feature is off, for frames too."""

STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
)


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` (and HSTS on an https site) unless a route set its own."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = SECURITY_HEADERS + (
            (("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY),) if hsts else ()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
