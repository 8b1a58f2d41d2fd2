"""The same checks on the admin's dashboard: for admins, run by a button (a CSRF-checked
POST), never by loading the page; what servers said is escaped in the page."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from publisher.db import session_scope
from publisher.staff.accounts import add_staff
from publisher.staff.models import Role
from tests.checks.check_support import DOMAIN, FROM, Pki, dnsmasq, good_records, txt
from tests.web.admin_support import logged_in, login, open_admin_site, token_for

HOSTILE_SPF = 'v=spf1 <script>alert("x")</script> -all'


def test_admins_run_the_checks_with_a_button_and_see_each_line_escaped(
    engine: Engine, database_url: str, pki: Pki
) -> None:
    records = [txt(DOMAIN, HOSTILE_SPF), *good_records(pki.dkim_record)[1:]]
    with (
        dnsmasq(records) as resolver,
        open_admin_site(
            engine,
            database_url,
            from_address=FROM,
            dns_resolver=resolver,
            check_sending_ips=["127.0.0.1"],
        ) as site,
    ):
        client = logged_in(site)
        page = client.get("/admin")
        assert page.status_code == 200
        assert "Preveri namestitev" in page.text
        assert 'id="check-results"' not in page.text, "loading the page checks nothing"
        refused = client.post("/admin/check", data={"csrf_token": "forged"})
        assert refused.status_code == 403
        checked = client.post("/admin/check", data={"csrf_token": token_for(client)})
        client.close()
    assert checked.status_code == 200
    html = checked.text
    assert 'id="check-results"' in html
    assert "Poštni posrednik (SMTP)" in html and "DNS domene pošiljatelja" in html
    assert "&lt;script&gt;alert(" in html and "<script>alert" not in html
    assert 'class="check-fail"' in html, "the unknown SPF mechanism is an error"
    assert "Napak:" in html
    # Each line in Slovenian, as the admin reads: the check's name, finding and fix.
    assert "<td>časovni pas</td>" in html and "po njem tečejo urniki" in html
    assert "<td>Naslov pošiljatelja</td>" in html and "<td>posrednik</td>" in html
    assert "schedules and dates in mails use it" not in html and "the relay accepts" not in html
    assert site.smtp.handler.received == [], "nothing was sent"


def test_editors_see_no_button_and_may_not_run_the_checks(
    engine: Engine, database_url: str
) -> None:
    with open_admin_site(engine, database_url) as site:
        with session_scope(engine) as session:
            add_staff(
                session,
                "urednik@novomesto.example.org",
                "Krka-teče-mimo-2026",
                "Urednik",
                Role.editor,
            )
        client = site.client()
        assert (
            login(client, "urednik@novomesto.example.org", "Krka-teče-mimo-2026").status_code == 303
        )
        page = client.get("/admin")
        assert "Preveri namestitev" not in page.text
        refused = client.post("/admin/check", data={"csrf_token": token_for(client)})
        client.close()
    assert refused.status_code == 403
