"""The admin shows an edition's bounces and complaints beside sent and failed, and lets
approvers open a bounce exactly as it came, as text that never runs."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.bounces import handle_message
from publisher.delivery.models import Bounce, SendJob
from publisher.digests.models import Edition
from publisher.staff.accounts import add_staff
from publisher.staff.models import Role
from tests.delivery.bounce_support import (
    BOUNCE_DOMAIN,
    add_week,
    dsn,
    feedback_report,
    send_edition,
)
from tests.delivery.sending_support import PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in, login

admin_site = admin_support.admin_site

HOSTILE = 'smtp; 550 5.1.1 <script>alert("odboj")</script> no such user'


def bounce_settings(site: AdminSite) -> Settings:
    """The site's settings with the bounce domain the DSNs of bounce_support are sent to."""
    return site.settings.model_copy(update={"bounce_domain": BOUNCE_DOMAIN})


def test_the_edition_page_counts_bounces_and_the_raw_message_is_plain_text(
    admin_site: AdminSite,
) -> None:
    engine, settings = admin_site.engine, bounce_settings(admin_site)
    stock(engine, 5)
    job_id = send_edition(engine, settings, PERIOD)
    senders = admin_site.smtp.handler.envelope_senders
    hard, complaint = "obcan0001@example.org", "obcan0002@example.org"
    for raw in (
        dsn(senders[hard], hard, diagnostic=HOSTILE),
        feedback_report(original_mail_from=senders[complaint], recipient=complaint),
    ):
        with session_scope(engine) as session:
            handle_message(session, settings, raw, source="smtp")
    with Session(engine) as session:
        bounce_id = session.execute(select(Bounce.id).where(Bounce.address == hard)).scalar_one()
        bounced_job = session.execute(
            select(Bounce.job_id).where(Bounce.id == bounce_id)
        ).scalar_one()
    assert bounced_job == job_id

    client = logged_in(admin_site)
    with Session(engine) as session:
        edition = session.execute(select(Edition).where(Edition.job_id == job_id)).scalar_one()
    page = client.get(f"/admin/editions/{edition.id}")
    assert page.status_code == 200
    assert 'data-testid="bounced">1 / 0<' in page.text
    assert 'data-testid="complaints">1<' in page.text
    assert "Odboji in pritožbe" in page.text and hard in page.text and complaint in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;alert" in page.text
    assert f'href="/admin/bounces/{bounce_id}/raw"' in page.text

    raw = client.get(f"/admin/bounces/{bounce_id}/raw")
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "text/plain; charset=utf-8"
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert '<script>alert("odboj")</script>' in raw.text  # shown as it came, as text
    assert "multipart/report" in raw.text
    assert client.get("/admin/bounces/999999/raw").status_code == 404
    assert client.get("/admin/bounces/99999999999999/raw").status_code in (404, 422)

    with session_scope(engine) as session:
        add_staff(session, "pisec@novomesto.example.org", "Pisec-piše-2025-x", "Pisec", Role.editor)
    editor = admin_site.client()
    assert login(editor, "pisec@novomesto.example.org", "Pisec-piše-2025-x").status_code == 303
    assert editor.get(f"/admin/bounces/{bounce_id}/raw").status_code == 403
    shown = editor.get(f"/admin/editions/{edition.id}")
    assert shown.status_code == 200 and "/raw" not in shown.text


def test_the_dashboard_shows_each_lists_bounce_and_complaint_rates_over_its_last_editions(
    admin_site: AdminSite,
) -> None:
    engine, settings = admin_site.engine, bounce_settings(admin_site)
    stock(engine, 4)
    senders = admin_site.smtp.handler.envelope_senders
    first = send_edition(engine, settings, "2025-W10")
    reports = [
        dsn(senders["obcan0001@example.org"], "obcan0001@example.org"),
        dsn(
            senders["obcan0002@example.org"],
            "obcan0002@example.org",
            status="5.2.2",
            diagnostic="smtp; 552 5.2.2 mailbox full",
        ),
        feedback_report(
            original_mail_from=senders["obcan0003@example.org"], recipient="obcan0003@example.org"
        ),
    ]
    for raw in reports:
        with session_scope(engine) as session:
            handle_message(session, settings, raw, source="smtp")
    add_week(engine, "2025-W11", datetime(2025, 3, 11, 9))
    second = send_edition(engine, settings, "2025-W11")  # the suppressed two are skipped
    with session_scope(engine) as session:
        handle_message(
            session,
            settings,
            dsn(senders["obcan0000@example.org"], "obcan0000@example.org"),
            source="smtp",
        )
    with Session(engine) as session:
        names = {job_id: session.get(SendJob, job_id).name for job_id in (first, second)}

    page = logged_in(admin_site).get("/admin")
    assert page.status_code == 200
    section = page.text.split('id="odboji"', 1)[1].split("</section>", 1)[0]
    assert "Trajni odboji" in section and "Začasni odboji" in section and "Pritožbe" in section
    rows = [
        [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>", 1)[1], re.S)
    ]
    assert rows == [
        ["Tedenske novice", names[second], "2", "50,0\xa0% (1)", "0,0\xa0% (0)", "0,00\xa0% (0)"],
        ["Tedenske novice", names[first], "4", "25,0\xa0% (1)", "25,0\xa0% (1)", "25,00\xa0% (1)"],
    ]
