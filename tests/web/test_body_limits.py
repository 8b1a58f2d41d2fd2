"""Large bodies are refused while they stream in, and strangers' uploads before they start.

Each attack streams a 200 MB body (a generator, chunked, no Content-Length) and counts what
the client managed to send before the answer came: a server that spooled the body first
would have taken all of it.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import h11
import httpx

from publisher.db import session_scope
from publisher.staff.api_tokens import create_token
from publisher.web.admin.subscribers import MAX_UPLOAD
from publisher.web.body import FORM_BODY_LIMIT
from tests.delivery.sending_support import LIST, stock
from tests.web import admin_support
from tests.web.admin_support import AdminSite, csrf_of, logged_in, token_for

admin_site = admin_support.admin_site

HUGE = 200 * 1024 * 1024
CHUNK = 256 * 1024
SLACK = 16 * 1024 * 1024
"""What socket buffers may swallow after the server stopped reading."""
BOUNDARY = "----publisher-test"


@dataclass
class Answer:
    status: int
    text: str
    sent: int
    """Bytes of the body the client had sent when the answer came."""


def multipart(prefix: bytes = b"") -> Iterator[bytes]:
    """A multipart body with one 200 MB CSV file (after ``prefix``, other fields)."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    yield prefix + head
    line = b"ana@example.org,Ana\r\n" * (CHUNK // 21)
    for _ in range(HUGE // len(line)):
        yield line


def post_streamed(
    site: AdminSite,
    path: str,
    body: Iterator[bytes],
    client: httpx.Client | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> Answer:
    """POST ``body`` chunked, as a browser or script would, but stop sending as soon as an
    answer arrives: what was sent by then is what the server could have read."""
    url = httpx.URL(site.url)
    fields = {
        "Host": f"{url.host}:{url.port}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Transfer-Encoding": "chunked",
        **(headers or {}),
    }
    if client is not None and client.cookies:
        fields["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    sent = 0
    with socket.create_connection((url.host, url.port), timeout=60) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n")
        for chunk in body:
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered: stop, as curl does
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
        else:
            sock.sendall(b"0\r\n\r\n")
        return _read_answer(sock, sent)


def _read_answer(sock: socket.socket, sent: int) -> Answer:
    parser = h11.Connection(h11.CLIENT)
    parser.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    status, text = 0, b""
    while True:
        event = parser.next_event()
        if event is h11.NEED_DATA:
            parser.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            text += bytes(event.data)
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return Answer(status, text.decode("utf-8"), sent)


def csrf_field(token: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
    ).encode()


def test_a_strangers_upload_is_refused_before_it_is_read(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 1)
    for path in (f"/admin/lists/{LIST}/import", "/admin/login", "/admin/topics"):
        answer = post_streamed(admin_site, path, multipart())
        assert answer.status == 403, path
        assert answer.sent < SLACK, (path, answer.sent)


def test_a_stranger_with_a_genuine_csrf_cookie_is_still_refused_before_the_upload(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 1)
    with admin_site.client() as client:
        token = csrf_of(client.get("/admin/login"))  # cookie and token, but no session
        body = multipart(csrf_field(token))
        answer = post_streamed(admin_site, f"/admin/lists/{LIST}/import", body, client)
        assert answer.status == 403
        assert "prijaviti" in answer.text
        assert answer.sent < SLACK


def test_the_login_form_takes_no_more_than_a_form(admin_site: AdminSite) -> None:
    with admin_site.client() as client:
        token = csrf_of(client.get("/admin/login"))
        answer = post_streamed(admin_site, "/admin/login", multipart(csrf_field(token)), client)
        assert answer.status == 413
        assert "preveliki" in answer.text
        assert answer.sent < FORM_BODY_LIMIT + SLACK


def test_a_cross_site_form_is_refused_before_its_body_even_with_a_session(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 1)
    client = logged_in(admin_site)
    token = token_for(client)
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        body = multipart(csrf_field(token))
        path = f"/admin/lists/{LIST}/import"
        answer = post_streamed(admin_site, path, body, client, headers)
        assert answer.status == 403, headers
        assert "ni z naše strani" in answer.text
        assert answer.sent < SLACK, headers
    # Our own pages, as a browser marks them, are let through.
    own = {"Origin": admin_site.url, "Sec-Fetch-Site": "same-origin"}
    out = client.post("/admin/logout", data={"csrf_token": token}, headers=own)
    assert out.status_code == 303


def test_staffs_upload_over_the_limit_is_cut_off_at_the_limit(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 1)
    client = logged_in(admin_site)
    body = multipart(csrf_field(token_for(client)))
    answer = post_streamed(admin_site, f"/admin/lists/{LIST}/import", body, client)
    assert answer.status == 413
    assert "50\u00a0MiB" in answer.text
    assert answer.sent < MAX_UPLOAD + SLACK
    assert client.get(f"/admin/lists/{LIST}").status_code == 200  # and the browser goes on


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    admin_site: AdminSite,
) -> None:
    url = httpx.URL(admin_site.url)
    with session_scope(admin_site.engine) as session:
        _, secret = create_token(session, "cms")  # a stranger is refused even sooner: 401
    for path, limit in (("/subscribe", FORM_BODY_LIMIT), ("/api/articles", 2 * 1024 * 1024)):
        with socket.create_connection((url.host, url.port), timeout=60) as sock:
            sock.sendall(  # a promise of a body, never kept: the answer must not wait for it
                f"POST {path} HTTP/1.1\r\nHost: {url.host}\r\nAuthorization: Bearer {secret}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {limit + 1}\r\n\r\n".encode()
            )
            assert _read_answer(sock, 0).status == 413, path


def test_the_api_cuts_off_a_streamed_body_at_its_limit(admin_site: AdminSite) -> None:
    answer = post_streamed(
        admin_site,
        "/api/articles",
        multipart(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    assert answer.status == 401  # who is calling is decided before the body (and its size)
    assert answer.sent < 2 * 1024 * 1024 + SLACK


def test_parallel_strangers_uploads_are_all_refused_before_they_are_read(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 1)

    def attack(path: str) -> Answer:
        return post_streamed(admin_site, path, multipart())

    paths = [f"/admin/lists/{LIST}/import", "/admin/login"] * 4
    with ThreadPoolExecutor(len(paths)) as pool:
        answers = list(pool.map(attack, paths))
    assert {answer.status for answer in answers} == {403}
    assert all(answer.sent < SLACK for answer in answers)
