"""Forms are accepted only with the token of one of our own pages."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from fastapi.testclient import TestClient

from publisher.config import load_settings
from publisher.web.csrf import COOKIE, FIELD, attach_csrf_cookie, csrf_token, require_csrf


def make_app() -> FastAPI:
    app = FastAPI()
    app.state.settings = load_settings(secret_key="test-secret-for-csrf")

    @app.get("/form")
    def form(request: Request) -> HTMLResponse:
        token = csrf_token(request)
        page = f'<form method="post"><input type="hidden" name="{FIELD}" value="{token}"></form>'
        return attach_csrf_cookie(request, HTMLResponse(page))

    @app.post("/form", dependencies=[Depends(require_csrf)])
    def submit() -> PlainTextResponse:
        return PlainTextResponse("shranjeno")

    return app


def token_from(page: str) -> str:
    return page.split('value="')[1].split('"')[0]


def test_form_from_our_page_is_accepted() -> None:
    client = TestClient(make_app())
    page = client.get("/form")
    assert COOKIE in page.cookies
    cookie_header = page.headers["set-cookie"].lower()
    assert "httponly" in cookie_header and "samesite=lax" in cookie_header
    response = client.post("/form", data={FIELD: token_from(page.text)})
    assert response.status_code == 200 and response.text == "shranjeno"
    assert client.get("/form").headers.get("set-cookie") is None  # the cookie is reused


def test_missing_forged_or_foreign_tokens_are_refused() -> None:
    client = TestClient(make_app())
    token = token_from(client.get("/form").text)
    assert client.post("/form", data={}).status_code == 403
    assert client.post("/form", data={FIELD: token + "x"}).status_code == 403
    other = TestClient(make_app())
    other_token = token_from(other.get("/form").text)
    assert client.post("/form", data={FIELD: other_token}).status_code == 403
    cookieless = TestClient(make_app())
    assert cookieless.post("/form", data={FIELD: token}).status_code == 403
