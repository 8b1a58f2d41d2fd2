"""The admin shows an edition's bounces and complaints beside sent and failed, and lets
approvers open a bounce exactly as it came, as text that never runs."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from publisher.db import session_scope
from publisher.delivery.bounces import handle_message
from publisher.delivery.models import Bounce
from publisher.digests.models import Edition
from publisher.staff.accounts import add_staff
from publisher.staff.models import Role
from tests.delivery.bounce_support import BOUNCE_DOMAIN, dsn, feedback_report, send_edition
from tests.delivery.sending_support import PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in, login

admin_site = admin_support.admin_site

HOSTILE = 'smtp; 550 5.1.1 <script>alert("odboj")</script> no such user'


def test_the_edition_page_counts_bounces_and_the_raw_message_is_plain_text(
    admin_site: AdminSite,
) -> None:
    engine = admin_site.engine
    stock(engine, 5)
    settings = admin_site.settings.model_copy(update={"bounce_domain": BOUNCE_DOMAIN})
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
