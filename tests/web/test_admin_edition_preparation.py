"""Preparing an edition in the admin over HTTP: the editor's note per language, the articles
and their order; the preview, the sent mail and the archive follow; frozen at approval.

The served app sends to a real aiosmtpd; an editor (not an approver) prepares, an approver
approves.
"""

from __future__ import annotations

import html as html_lib
import re
from email import message_from_bytes, policy

import httpx
from sqlmodel import Session, select

from publisher.articles.models import Article
from publisher.db import session_scope
from publisher.digests.editing import NOTE_MAX_CHARS
from publisher.digests.models import Edition
from publisher.staff.accounts import add_staff
from publisher.staff.models import Role
from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in, login, token_for, wait_until

admin_site = admin_support.admin_site
DIGEST = f"/admin/digests/{LIST}/{PERIOD}"
EDITOR = "pripravnik@novomesto.example.org"
EDITOR_PASSWORD = "Urednikovo-geslo-2025"
NOTE_SL = "Drage bralke in bralci,\n\nta teden <zapiramo> most čez Krko."


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def body(html: str) -> str:
    """The visible message from the greeting on (the hidden preheader repeats titles)."""
    return squash(html[html.index('class="intro"') :])


def ids_by_title(site: AdminSite) -> dict[str, int]:
    with Session(site.engine) as session:
        return {a.title[:8]: a.id or 0 for a in session.exec(select(Article)).all()}


def editor_client(site: AdminSite) -> httpx.Client:
    with session_scope(site.engine) as session:
        add_staff(session, EDITOR, EDITOR_PASSWORD, "Pripravnik Peter", Role.editor)
    client = site.client()
    assert login(client, EDITOR, EDITOR_PASSWORD).status_code == 303
    return client


def form(token: str, ids: dict[str, int], chosen: list[str], **fields: str) -> dict:  # type: ignore[type-arg]
    """The preparation form as a browser posts it: every candidate with its number, the
    chosen ones ticked (numbered in the order given)."""
    rows = sorted(
        ids, key=lambda title: (title not in chosen, chosen.index(title) if title in chosen else 0)
    )
    data: dict[str, object] = {
        "csrf_token": token,
        "note_sl": "",
        "note_en": "",
        "article": [str(ids[title]) for title in rows],
        "order": [str(place) for place, _ in enumerate(rows, start=1)],
        "include": [str(ids[title]) for title in chosen],
        "action": "save",
    }
    data.update(fields)
    return data


def test_an_editor_saves_note_and_order_and_the_page_and_preview_show_them(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 2)
    ids = ids_by_title(admin_site)
    client = editor_client(admin_site)
    page = client.get(DIGEST)
    assert page.status_code == 200
    assert (
        "Uvodnik urednika (slovensko)" in page.text and "Uvodnik urednika (angleško)" in page.text
    )
    assert "Shrani izbor" in page.text and "Vrstni red" in page.text
    assert "Odobri in pošlji" not in page.text  # an editor prepares; approving is not theirs

    saved = client.post(
        f"{DIGEST}/content",
        data=form(token_for(client, DIGEST), ids, ["Novica 0", "Novica 2"], note_sl=NOTE_SL),
    )
    assert saved.status_code == 303, saved.text
    again = client.get(saved.headers["location"])
    assert "Uvodnik in izbor člankov sta shranjena" in again.text
    assert html_lib.escape(NOTE_SL, quote=False) in again.text  # in its textarea, as typed
    assert "<zapiramo>" not in again.text
    checked = re.findall(r'name="include" value="(\d+)"( checked)?', again.text)
    assert checked == [
        (str(ids["Novica 0"]), " checked"),
        (str(ids["Novica 2"]), " checked"),
        (str(ids["Novica 1"]), ""),
    ]
    assert "Člankov: 2," in again.text

    sl = body(client.get(f"{DIGEST}/preview.html?lang=sl").text)
    assert "&lt;zapiramo&gt;" in sl and "<zapiramo>" not in sl
    assert sl.index("Drage bralke") < sl.index("Novica 0") < sl.index("Novica 2")
    assert "Novica 1" not in sl
    en = body(client.get(f"{DIGEST}/preview.html?lang=en").text)
    assert "Drage bralke" not in en and en.index("Novica 0") < en.index("Novica 2")
    text = client.get(f"{DIGEST}?lang=sl").text
    assert "Drage bralke in bralci," in text.split("Besedilna različica", 1)[1]

    # The numbers decide the order, not the order of the rows.
    reordered = form(token_for(client, DIGEST), ids, ["Novica 0", "Novica 2"], note_sl=NOTE_SL)
    reordered["order"] = ["2", "1", "3"]
    assert client.post(f"{DIGEST}/content", data=reordered).status_code == 303
    sl = body(client.get(f"{DIGEST}/preview.html?lang=sl").text)
    assert sl.index("Novica 2") < sl.index("Novica 0")

    # Reset: every article, newest first; the note stays.
    reset = form(token_for(client, DIGEST), ids, [], note_sl=NOTE_SL, action="reset")
    response = client.post(f"{DIGEST}/content", data=reset)
    assert response.status_code == 303
    sl = body(client.get(f"{DIGEST}/preview.html?lang=sl").text)
    assert sl.index("Drage") < sl.index("Novica 2") < sl.index("Novica 1") < sl.index("Novica 0")
    with Session(admin_site.engine) as session:
        assert session.exec(select(Edition)).one().chosen_ids is None


def test_a_too_long_note_or_an_unknown_article_is_a_clear_400_that_keeps_what_was_typed(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 1)
    ids = ids_by_title(admin_site)
    client = editor_client(admin_site)
    long_note = "Dolgo. " * 200
    typed_en = "Dear readers, kept as typed."
    data = form(
        token_for(client, DIGEST),
        ids,
        ["Novica 1", "Novica 0"],
        note_sl=long_note,
        note_en=typed_en,
    )
    response = client.post(f"{DIGEST}/content", data=data)
    assert response.status_code == 400
    assert f"dovoljenih je največ {NOTE_MAX_CHARS}" in response.text
    assert long_note.strip() in response.text and typed_en in response.text
    checked = re.findall(r'name="include" value="(\d+)"( checked)?', response.text)
    assert checked == [
        (str(ids["Novica 1"]), " checked"),
        (str(ids["Novica 0"]), " checked"),
        (str(ids["Novica 2"]), ""),
    ]

    unknown = form(token_for(client, DIGEST), ids, ["Novica 0"], note_en=typed_en)
    unknown["include"] = [str(ids["Novica 0"]), "999999"]
    response = client.post(f"{DIGEST}/content", data=unknown)
    assert response.status_code == 400
    assert "Med članki tega obdobja za seznam ni: 999999" in response.text
    assert typed_en in response.text

    nothing = form(token_for(client, DIGEST), ids, [], note_en=typed_en)
    response = client.post(f"{DIGEST}/content", data=nothing)
    assert response.status_code == 400 and "Izberite vsaj en članek" in response.text

    bad_number = form(token_for(client, DIGEST), ids, ["Novica 0"])
    bad_number["order"] = ["prvi", "2", "3"]
    response = client.post(f"{DIGEST}/content", data=bad_number)
    assert response.status_code == 400 and "celo število" in response.text
    assert 'value="prvi"' in response.text

    with Session(admin_site.engine) as session:  # nothing of it was saved
        for edition in session.exec(select(Edition)).all():
            assert (edition.notes, edition.chosen_ids) == ("{}", None)
    assert client.post(f"{DIGEST}/content", data={"note_sl": "x"}).status_code == 403  # CSRF


def test_approval_freezes_note_and_order_for_the_mail_the_archive_and_later_changes(
    admin_site: AdminSite,
) -> None:
    addresses = stock(admin_site.engine, 4)
    ids = ids_by_title(admin_site)
    client = logged_in(admin_site)  # the admin account approves
    data = form(token_for(client, DIGEST), ids, ["Novica 1", "Novica 0"], note_sl=NOTE_SL)
    assert client.post(f"{DIGEST}/content", data=data).status_code == 303
    approved = client.post(
        f"{DIGEST}/approve", data={"csrf_token": token_for(client, DIGEST), "confirm": "yes"}
    )
    assert approved.status_code == 303
    edition_page = approved.headers["location"]
    handler = admin_site.smtp.handler
    wait_until(lambda: len(handler.received) == len(addresses), what="every copy arrives")
    for _, raw, _ in handler.received:
        message = message_from_bytes(raw, policy=policy.default)
        html = body(message.get_body(("html",)).get_content())
        text = message.get_body(("plain",)).get_content()
        assert html.index("Novica 1") < html.index("Novica 0") and "Novica 2" not in html
        assert text.index("Novica 1") < text.index("Novica 0")
        if message["Content-Language"] == "sl":
            assert html.index("Drage bralke") < html.index("Novica 1")
            assert "Drage bralke in bralci," in text
        else:
            assert "Drage bralke" not in html and "Drage bralke" not in text

    archived = body(client.get(f"/archive/{LIST}/{PERIOD}/message.html?lang=sl").text)
    assert archived.index("Drage bralke") < archived.index("Novica 1") < archived.index("Novica 0")
    assert "Drage bralke" in client.get(f"/archive/{LIST}/{PERIOD}/message.txt?lang=sl").text

    for path in (DIGEST, edition_page):
        page = client.get(path)
        assert "zamrznjeni ob odobritvi" in page.text
        assert "Shrani izbor" not in page.text and "<textarea" not in page.text
        frozen = page.text.split('data-testid="frozen-order"', 1)[1].split("</ol>", 1)[0]
        assert frozen.index("Novica 1") < frozen.index("Novica 0") and "Novica 2" not in frozen
        assert "Drage bralke in bralci," in page.text and "&lt;zapiramo&gt;" in page.text

    audit = client.get("/admin/audit").text
    assert "uvodnik izdaje" in audit and "izbor člankov izdaje" in audit

    with Session(admin_site.engine) as session:
        before = session.exec(select(Edition)).one()
    late = form(token_for(client, DIGEST), ids, ["Novica 2"], note_sl="Popravek")
    response = client.post(f"{DIGEST}/content", data=late)
    assert response.status_code == 409
    assert "jih ni mogoče spremeniti" in response.text
    with Session(admin_site.engine) as session:
        after = session.exec(select(Edition)).one()
    assert (after.notes, after.chosen_ids, after.article_ids) == (
        before.notes,
        before.chosen_ids,
        before.article_ids,
    )
