"""The mail catcher's page over real HTTP, fed over real SMTP; message HTML stays inert."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from publisher.config import load_settings
from publisher.delivery.catcher import MailCatcher, MailStore
from publisher.i18n import format_moment
from publisher.web.csrf import FIELD
from publisher.web.mailcatcher import PAGE_SIZE, create_mailcatcher_app
from tests.delivery.catcher_support import free_port, send, serve_app, utf8_message
from tests.web.browser_support import needs_chromium

SENDER = "novice@novomesto.example.org"
HOSTILE_HTML = (
    '<p id="mark">nedotaknjeno</p>'
    "<script>document.getElementById('mark').textContent = 'skripta je tekla';"
    "parent.document.title = 'vdor';</script>"
    "<img src=x onerror=\"parent.document.body.textContent='vdor'\">"
    "<h1>Obnova Glavnega trga – čšž</h1>"
)


@dataclass
class CatcherSite:
    url: str
    store: MailStore
    catcher: MailCatcher

    def send(self, subject: str, to: str = "ana@example.org", html: str | None = None) -> int:
        send(self.catcher.port, [(SENDER, [to], utf8_message(subject, to=to, html=html))])
        return self.store.list(limit=1)[0].id


@pytest.fixture
def site(tmp_path: Path) -> Iterator[CatcherSite]:
    with (
        MailStore(tmp_path / "mailcatcher.db") as store,
        MailCatcher(store, "127.0.0.1", free_port()) as catcher,
    ):
        settings = load_settings(secret_key="test-secret-for-the-catcher")
        app = create_mailcatcher_app(store, settings, smtp_address=catcher.address)
        with serve_app(app) as url:
            yield CatcherSite(url=url, store=store, catcher=catcher)


def get(url: str, **kwargs: object) -> httpx.Response:
    return httpx.get(url, timeout=10, **kwargs)  # type: ignore[arg-type]


def test_list_shows_sender_recipient_subject_time_and_the_banner(site: CatcherSite) -> None:
    site.send("Tedenske novice, 3.–9. marec 2025")
    page = get(site.url + "/")
    assert page.status_code == 200
    assert "nič od tega ni bilo dostavljeno" in page.text
    assert "nothing here was delivered" in page.text
    assert "Tedenske novice, 3.–9. marec 2025" in page.text
    assert "Mestna občina Novo mesto &lt;novice@novomesto.example.org&gt;" in page.text
    assert "ana@example.org" in page.text
    # Dated as everywhere else (no-break spaces, "ob", the time with full stops), to the second.
    [received] = site.store.list(limit=1)
    shown = format_moment(received.received_at, "sl", ZoneInfo("Europe/Ljubljana"), seconds=True)
    assert re.fullmatch(r"\d+\.\xa0\d+\.\xa0\d{4} ob \d+\.\d\d\.\d\d", shown)
    assert f'">{shown}</time>' in page.text
    assert f"SMTP: <code>{site.catcher.address}</code>" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_empty_catcher_says_where_to_send(site: CatcherSite) -> None:
    page = get(site.url + "/")
    assert "Ni še nobenega sporočila." in page.text
    assert "Izbriši vsa" not in page.text


def test_search_by_recipient_narrows_the_list(site: CatcherSite) -> None:
    site.send("Za Ano", to="ana@example.org")
    site.send("Za Bojana", to="bojan@example.org")
    page = get(site.url + "/", params={"to": "bojan"})
    assert "Za Bojana" in page.text and "Za Ano" not in page.text
    assert 'value="bojan"' in page.text
    nothing = get(site.url + "/", params={"to": "cene"})
    assert "Za „cene“ ni nobenega sporočila." in nothing.text


def test_list_pages_newest_first(site: CatcherSite) -> None:
    for n in range(PAGE_SIZE + 3):
        site.store.add(SENDER, ["ana@example.org"], utf8_message(f"Sporočilo št. {n:03}"))
    first = get(site.url + "/").text
    assert first.index("Sporočilo št. 052") < first.index("Sporočilo št. 051")
    assert "Sporočilo št. 002" not in first and 'rel="next"' in first
    second = get(site.url + "/", params={"page": 2}).text
    assert "Sporočilo št. 002" in second and "Sporočilo št. 000" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_message_html_is_shown_only_in_a_sandboxed_frame(site: CatcherSite) -> None:
    message_id = site.send("Z nevarnim HTML", html=HOSTILE_HTML)
    page = get(f"{site.url}/messages/{message_id}")
    assert page.status_code == 200
    assert "nič od tega ni bilo dostavljeno" in page.text
    [frame] = re.findall(r"<iframe[^>]*>", page.text)
    assert 'sandbox=""' in frame  # no allow-scripts, no allow-same-origin
    assert f'src="/messages/{message_id}/body.html"' in frame
    assert "<script>" not in page.text and "skripta je tekla" not in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]

    body = get(f"{site.url}/messages/{message_id}/body.html")
    assert body.status_code == 200
    policy = [part.strip() for part in body.headers["content-security-policy"].split(";")]
    assert "sandbox" in policy  # sandboxed even when opened on its own
    assert "default-src 'none'" in policy
    assert not [part for part in policy if part.startswith("script-src")]
    assert "frame-ancestors 'self'" in policy
    assert body.headers["x-frame-options"] == "SAMEORIGIN"
    assert "Obnova Glavnega trga – čšž" in body.text


def test_text_and_header_views_and_eml_download(site: CatcherSite) -> None:
    message_id = site.send("Besedilo in glava", html="<p>HTML</p>")
    sent = site.store.get(message_id)
    assert sent is not None

    text = get(f"{site.url}/messages/{message_id}", params={"view": "text"})
    assert "Pozdravljeni, Ana Žagar!" in text.text
    assert "čšž ČŠŽ – obnova ceste v Šmihelu." in text.text
    assert 'aria-current="page">Besedilo</a>' in text.text
    assert "<iframe" not in text.text

    headers = get(f"{site.url}/messages/{message_id}", params={"view": "headers"})
    assert "Subject: Besedilo in glava" in headers.text
    assert "Content-Type: multipart/alternative;" in headers.text
    assert "MAIL FROM:&lt;novice@novomesto.example.org&gt;" in headers.text

    eml = get(f"{site.url}/messages/{message_id}/raw.eml")
    assert eml.content == sent.raw
    assert eml.headers["content-type"] == "message/rfc822"
    assert eml.headers["content-disposition"].startswith("attachment;")


def test_text_only_message_opens_on_its_text(site: CatcherSite) -> None:
    message_id = site.send("Samo besedilo")
    page = get(f"{site.url}/messages/{message_id}")
    assert "<iframe" not in page.text and "Pozdravljeni, Ana Žagar!" in page.text
    assert get(f"{site.url}/messages/{message_id}/body.html").status_code == 404


def test_unknown_messages_and_bad_addresses_are_404(site: CatcherSite) -> None:
    assert get(f"{site.url}/messages/999").status_code == 404
    assert get(f"{site.url}/messages/nekaj").status_code == 404
    assert get(f"{site.url}/", params={"page": 0}).status_code == 404


def test_clear_all_needs_the_csrf_token_of_the_list_page(site: CatcherSite) -> None:
    site.send("Ostane")
    clear = f"{site.url}/clear"
    with httpx.Client(timeout=10) as browser:
        page = browser.get(site.url + "/")
        [token] = re.findall(rf'name="{FIELD}" value="([^"]+)"', page.text)
        assert browser.post(clear).status_code == 403  # no token
        assert browser.post(clear, data={FIELD: token + "x"}).status_code == 403  # forged
    assert httpx.post(clear, data={FIELD: token}).status_code == 403  # token without cookie
    assert site.store.count() == 1

    with httpx.Client(timeout=10, cookies=page.cookies) as browser:
        done = browser.post(clear, data={FIELD: token})
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert site.store.count() == 0


@pytest.fixture
def hostile_site(site: CatcherSite) -> CatcherSite:
    """The catcher holding a mail whose HTML tries to run a script; sent before the browser
    starts, since Playwright's sync API holds the thread's event loop while it runs."""
    site.send("Tedenske novice, 3.–9. marec 2025", html=HOSTILE_HTML)
    return site


@needs_chromium
def test_browser_opens_the_list_clicks_a_message_and_no_script_runs(
    hostile_site: CatcherSite, chromium: tuple[Any, Any]
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    _, browser = chromium
    site = hostile_site
    page = browser.new_page()
    page.goto(site.url + "/")
    page.get_by_role("link", name="Tedenske novice, 3.–9. marec 2025").click()
    heading = page.get_by_role("heading", level=1)
    sync_api.expect(heading).to_have_text("Tedenske novice, 3.–9. marec 2025")
    frame = page.frame_locator("iframe.mail-html")
    sync_api.expect(frame.get_by_role("heading")).to_have_text("Obnova Glavnega trga – čšž")
    sync_api.expect(frame.locator("#mark")).to_have_text("nedotaknjeno")
    assert page.title().startswith("Tedenske novice")
    assert "vdor" not in page.locator("body").inner_text()

    page.get_by_role("link", name="Besedilo").click()
    sync_api.expect(page.locator("pre.mail-text")).to_contain_text("Pozdravljeni")
    page.get_by_role("link", name="Vsa sporočila").click()
    page.get_by_role("button", name=re.compile("Izbriši vsa sporočila")).click()
    sync_api.expect(page.get_by_text("Ni še nobenega sporočila.")).to_be_visible()
    assert site.store.count() == 0


def test_a_huge_form_to_the_catcher_is_refused_without_being_read(site: CatcherSite) -> None:
    site.send("Ostane")
    with httpx.Client(timeout=10) as browser:
        browser.get(site.url + "/")  # the CSRF cookie

        def huge() -> Iterator[bytes]:
            for _ in range(10):
                yield b"x" * (64 * 1024)

        response = browser.post(
            f"{site.url}/clear",
            content=huge(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 413
    assert site.store.count() == 1
