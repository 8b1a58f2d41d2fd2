"""The docs page at ``/api/docs``: Swagger UI from our own copy, under a strict CSP.

The page loads no CDN and runs no inline script, so it works behind the site's security
headers and offline.
"""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI's files as the fastapi-offline package ships them: served by us, no CDN."""

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
</head>
<body>
<noscript><p>The interactive page needs JavaScript; the API is described in
<a href="{root}/openapi.json">openapi.json</a>.</p></noscript>
<div id="swagger-ui"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/init.js"></script>
</body>
</html>
"""

DOCS_INIT = """\
window.ui = SwaggerUIBundle({
  url: document.querySelector('link[rel=stylesheet]').href.replace(
    /\\/docs\\/assets\\/swagger-ui\\.css$/, '/openapi.json'),
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: false,
});
"""

DOCS_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",  # our own copies of Swagger UI and its start-up file; no inline
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",  # fetching openapi.json and "Try it out" calls
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


def install_docs(api: FastAPI) -> None:
    """Serve the docs page, its start-up script and Swagger UI's files on ``api``."""
    api.mount("/docs/assets", StaticFiles(directory=DOCS_ASSETS), name="api-docs-assets")

    @api.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = DOCS_PAGE.format(title=html.escape(api.title), root=html.escape(root))
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    @api.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> PlainTextResponse:
        return PlainTextResponse(
            DOCS_INIT,
            media_type="text/javascript",
            headers={"Content-Security-Policy": DOCS_CSP},
        )
