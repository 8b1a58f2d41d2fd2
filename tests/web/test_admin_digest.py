"""The digest page over HTTP: preview, a test to myself, approve & send, progress, problems.

Mail goes to a real aiosmtpd; the admin sends in a background thread of the served app.
"""

from __future__ import annotations

import re
import threading
from email import message_from_bytes, policy

import httpx
from sqlmodel import Session

from publisher.audit import AuditAction, entries
from publisher.db import session_scope
from publisher.delivery import ledger
from publisher.digests.editions import editions_of
from publisher.digests.models import EditionStatus
from publisher.staff.api_tokens import create_token
from publisher.staff.models import Role
from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, AdminSite, logged_in, token_for, wait_until

admin_site = admin_support.admin_site
DIGEST = f"/admin/digests/{LIST}/{PERIOD}"


def percent(client: httpx.Client, edition_page: str) -> int:
    found = re.search(r'data-testid="percent">(\d+)\xa0%', client.get(edition_page).text)
    assert found, "the edition page shows no percentage"
    return int(found.group(1))


def approve(client: httpx.Client, token: str) -> httpx.Response:
    return client.post(f"{DIGEST}/approve", data={"csrf_token": token, "confirm": "yes"})


def test_digest_page_previews_the_message_in_both_languages(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 3)
    client = logged_in(admin_site)
    page = client.get(DIGEST)
    assert page.status_code == 200
    assert "Člankov: 3, prejemnikov: 3" in page.text
    assert "Novica 0: obnova ceste v Šmihelu" in page.text
    # The page frames the preview; its policy allows frames from this site only.
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    assert f'src="{DIGEST}/preview.html?lang=sl"' in page.text
    assert "Besedilna različica" in page.text and "Povzetek 0." in page.text

    html = client.get(f"{DIGEST}/preview.html?lang=sl")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    policy_header = html.headers["content-security-policy"]
    assert "sandbox" in policy_header and "frame-ancestors 'self'" in policy_header
    assert "script-src" not in policy_header and "default-src 'none'" in policy_header
    assert html.headers["x-frame-options"] == "SAMEORIGIN"
    assert "Novica 2: obnova ceste v Šmihelu" in html.text
    assert "ana.primer@example.org" not in html.text or "Ana Primer" in html.text

    english = client.get(f"{DIGEST}?lang=en")
    assert 'aria-current="page">angleščina' in english.text
    english_html = client.get(f"{DIGEST}/preview.html?lang=en").text
    assert english_html != html.text
    assert 'lang="en"' in english_html and 'lang="sl"' in html.text


def test_a_period_without_articles_says_there_is_nothing_to_send(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 3)
    client = logged_in(admin_site)
    page = client.get(f"/admin/digests/{LIST}/2024-W10")
    assert page.status_code == 200
    assert "ni kaj poslati" in page.text
    assert "Odobri in pošlji" not in page.text
    assert client.get(f"/admin/digests/{LIST}/not-a-period").status_code == 404
    assert client.get(f"/admin/digests/ni-seznama/{PERIOD}").status_code == 404


def test_a_test_copy_goes_to_my_address_only_and_records_nothing(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 3)
    client = logged_in(admin_site)
    response = client.post(
        f"{DIGEST}/test", data={"csrf_token": token_for(client, DIGEST), "language": "en"}
    )
    assert response.status_code == 303
    assert "notice=test" in response.headers["location"]
    assert "Poskusni izvod je poslan" in client.get(response.headers["location"]).text
    received = admin_site.smtp.handler.received
    assert [recipient for recipient, _, _ in received] == [STAFF_EMAIL]
    message = message_from_bytes(received[0][1], policy=policy.default)
    assert message["To"].addresses[0].addr_spec == STAFF_EMAIL
    assert "[TEST]" in str(message["Subject"])
    with Session(admin_site.engine) as session:
        assert editions_of(session) == []


def test_approve_needs_the_box_ticked(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 3)
    client = logged_in(admin_site)
    response = client.post(f"{DIGEST}/approve", data={"csrf_token": token_for(client)})
    assert response.status_code == 400
    assert "Najprej potrdite" in response.text
    with Session(admin_site.engine) as session:
        assert editions_of(session) == []


def test_approve_and_send_reaches_everyone_and_100_percent(admin_site: AdminSite) -> None:
    addresses = stock(admin_site.engine, 40)
    client = logged_in(admin_site)
    response = approve(client, token_for(client, DIGEST))
    assert response.status_code == 303
    edition_page = response.headers["location"]
    assert re.fullmatch(r"/admin/editions/\d+", edition_page)

    first = client.get(edition_page)
    assert first.status_code == 200 and "<progress" in first.text
    wait_until(lambda: percent(client, edition_page) == 100, what="progress reaches 100 %")
    handler = admin_site.smtp.handler
    wait_until(lambda: len(handler.received) == len(addresses), what="every copy arrives")
    assert handler.per_recipient() == dict.fromkeys(addresses, 1)
    done = client.get(edition_page)
    assert 'data-testid="sent">40<' in done.text and "poslana" in done.text
    assert 'http-equiv="refresh"' not in done.text  # nothing left to watch
    with Session(admin_site.engine) as session:
        (edition,) = editions_of(session)
        assert edition.status == EditionStatus.approved
        assert edition.approved_by == f"{STAFF_EMAIL} (admin)"
    dashboard = client.get("/admin").text
    assert f"Tedenske novice {PERIOD}" in dashboard and "poslana" in dashboard
    assert "Tedenske novice" in client.get("/admin/editions").text


def test_the_progress_page_refreshes_itself_while_sending(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 30)
    admin_site.smtp.handler.script.delay = 0.05  # slow enough to see it sending
    client = logged_in(admin_site)
    edition_page = approve(client, token_for(client, DIGEST)).headers["location"]
    page = client.get(edition_page).text
    assert '<meta http-equiv="refresh" content="1">' in page
    assert "Ustavi pošiljanje" in page
    wait_until(lambda: percent(client, edition_page) == 100, what="progress reaches 100 %")


def test_a_double_clicked_approve_and_send_sends_once(admin_site: AdminSite) -> None:
    addresses = stock(admin_site.engine, 60)
    client = logged_in(admin_site)
    token = token_for(client, DIGEST)
    cookies = dict(client.cookies)
    responses: list[httpx.Response] = []
    start = threading.Barrier(2)

    def click() -> None:
        with httpx.Client(base_url=admin_site.url, cookies=cookies, timeout=30) as twin:
            start.wait()
            responses.append(approve(twin, token))

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join()
    assert [r.status_code for r in responses] == [303, 303]
    locations = {r.headers["location"] for r in responses}
    assert len(locations) == 1  # both clicks lead to the one edition
    (edition_page,) = locations

    wait_until(lambda: percent(client, edition_page) == 100, what="progress reaches 100 %")
    handler = admin_site.smtp.handler
    wait_until(lambda: len(handler.received) >= len(addresses), what="every copy arrives")
    assert handler.per_recipient() == dict.fromkeys(addresses, 1)
    with Session(admin_site.engine) as session:
        (edition,) = editions_of(session)
        assert ledger.counts(session, edition.job_id or 0)["sent"] == len(addresses)


def test_failed_recipients_show_the_smtp_reply_and_can_be_retried(admin_site: AdminSite) -> None:
    addresses = stock(admin_site.engine, 10)
    refused = addresses[3]
    admin_site.smtp.handler.script.data[refused].append("554 5.7.1 Sporočilo zavrnjeno: politika")
    client = logged_in(admin_site)
    edition_page = approve(client, token_for(client, DIGEST)).headers["location"]
    wait_until(lambda: percent(client, edition_page) == 100, what="progress reaches 100 %")

    page = client.get(edition_page).text
    assert 'data-testid="failed">1<' in page
    assert refused in page and "554 5.7.1 Sporočilo zavrnjeno: politika" in page
    link = re.search(rf'href="({edition_page}/recipients/\d+)">{re.escape(refused)}<', page)
    assert link, "the failed recipient links to its own page"
    detail = client.get(link.group(1))
    assert detail.status_code == 200
    assert "554" in detail.text and "Sporočilo zavrnjeno: politika" in detail.text
    assert "neuspelo" in detail.text

    retried = client.post(f"{edition_page}/retry", data={"csrf_token": token_for(client)})
    assert retried.status_code == 303 and "notice=retry" in retried.headers["location"]
    handler = admin_site.smtp.handler
    wait_until(lambda: handler.per_recipient()[refused] == 1, what="the retry arrives")
    wait_until(lambda: 'data-testid="failed">0<' in client.get(edition_page).text, what="0 failed")
    assert handler.per_recipient() == dict.fromkeys(addresses, 1)

    # Sent completely: nothing is left to pause, resume, cancel or retry, and no button says so.
    wait_until(lambda: "Pošiljanje je končano." in client.get(edition_page).text, what="sent")
    page = client.get(edition_page).text
    for action in ("pause", "resume", "cancel", "retry"):
        assert f'action="{edition_page}/{action}"' not in page
    cancelled = client.post(f"{edition_page}/cancel", data={"csrf_token": token_for(client)})
    assert cancelled.status_code == 409
    assert "Pošiljanja ni mogoče preklicati, ker je izdaja že v celoti poslana." in cancelled.text
    assert "poslana" in client.get(edition_page).text and "preklicana" not in page


def test_pause_resume_and_cancel_from_the_edition_page(admin_site: AdminSite) -> None:
    addresses = stock(admin_site.engine, 40)
    admin_site.smtp.handler.script.delay = 0.05
    client = logged_in(admin_site)
    edition_page = approve(client, token_for(client, DIGEST)).headers["location"]

    paused = client.post(f"{edition_page}/pause", data={"csrf_token": token_for(client)})
    assert paused.status_code == 303 and "notice=paused" in paused.headers["location"]
    page = client.get(edition_page).text
    assert "ustavljena" in page and "Nadaljuj pošiljanje" in page

    resumed = client.post(f"{edition_page}/resume", data={"csrf_token": token_for(client)})
    assert resumed.status_code == 303
    wait_until(lambda: len(admin_site.smtp.handler.received) > 0, what="sending goes on")

    cancelled = client.post(f"{edition_page}/cancel", data={"csrf_token": token_for(client)})
    assert cancelled.status_code == 303
    page = client.get(edition_page).text
    assert "preklicana" in page
    for action in ("pause", "resume", "cancel"):
        assert f'action="{edition_page}/{action}"' not in page
    # Cancelling twice, or pausing a cancelled edition, says why it cannot.
    again = client.post(f"{edition_page}/pause", data={"csrf_token": token_for(client)})
    assert again.status_code == 409
    assert "Pošiljanja ni mogoče ustaviti, ker je izdaja preklicana." in again.text
    handler = admin_site.smtp.handler
    assert all(count == 1 for count in handler.per_recipient().values())
    assert len(handler.received) <= len(addresses)


def test_a_send_the_relay_stops_says_why_in_slovenian_and_so_does_the_audit_log(
    admin_site: AdminSite,
) -> None:
    addresses = stock(admin_site.engine, 55)  # the stop rule looks at 50 first attempts
    for address in addresses:
        admin_site.smtp.handler.script.rcpt[address] = ["550 5.7.1 Relaying denied"]
    client = logged_in(admin_site)
    edition_page = approve(client, token_for(client, DIGEST)).headers["location"]
    wait_until(lambda: "ustavljena" in client.get(edition_page).text, what="the send pauses")
    page = client.get(edition_page).text
    assert (
        "ustavljeno: 50 od zadnjih 50 prvih poskusov ni uspelo (meja je 50%); "
        "zadnji odgovor: 550 5.7.1 Relaying denied"
    ) in page
    assert "first attempts failed" not in page and "last reply" not in page

    client.post(f"{edition_page}/cancel", data={"csrf_token": token_for(client)})
    audit = client.get("/admin/audit").text
    assert "<td>preklicano</td>" in audit and "<td>cancelled</td>" not in audit
    with Session(admin_site.engine) as session:  # the log itself keeps the English code
        cancelled, _ = entries(session, action=AuditAction.edition_cancelled)
        assert [entry.detail for entry in cancelled] == ["cancelled"]


def test_a_send_started_through_the_api_shows_live_on_the_admin_progress_page(
    admin_site: AdminSite,
) -> None:
    """One runner per process: the admin sees a send the CMS started, as if it were its own."""
    addresses = stock(admin_site.engine, 60)
    admin_site.smtp.handler.script.delay = 0.05
    with session_scope(admin_site.engine) as session:
        _, secret = create_token(session, "cms", Role.approver)
    with httpx.Client(
        base_url=admin_site.url + "/api", headers={"Authorization": f"Bearer {secret}"}
    ) as api:
        started = api.post("/editions", json={"list": LIST, "period": PERIOD})
    assert started.status_code == 202
    edition_page = f"/admin/editions/{started.json()['id']}"
    client = logged_in(admin_site)
    page = client.get(edition_page)
    assert "Pošiljanje poteka" in page.text
    assert '<meta http-equiv="refresh"' in page.text
    wait_until(lambda: percent(client, edition_page) == 100, 60, "the API's send finishes")
    assert sorted(admin_site.smtp.handler.per_recipient()) == sorted(addresses)
    assert "Pošiljanje poteka" not in client.get(edition_page).text
