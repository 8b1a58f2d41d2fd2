"""Lists, subscribers and articles in the admin: counts, search, CSV import and export,
publish and withdraw, topics; and the ``publisher staff`` commands."""

from __future__ import annotations

import csv
import io

from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from publisher.articles.models import ArticleStatus
from publisher.articles.store import get_article
from publisher.cli import app as cli_app
from publisher.config import ScheduleEntry
from publisher.db import session_scope
from publisher.digests.editions import get_or_create_edition
from publisher.digests.periods import parse_period
from publisher.staff.accounts import authenticate, find_staff
from publisher.subscribers.lists import get_list, status_counts
from tests.delivery.sending_support import LIST, stock
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in, token_for

admin_site = admin_support.admin_site

UPLOAD = (
    "email;ime;jezik\n"
    "janez.novak@example.org;Janez Novak;sl\n"
    "to ni naslov;Nekdo;sl\n"
    "mojca@example.org;Mojca;de\n"
    'maja@example.org;"Maja\nKovač";en\n'
    "JANEZ.NOVAK@example.org;Janez;sl\n"
    "peter@example.org;Peter Žagar;en\n"
)


def test_staff_give_a_topic_an_english_name_that_english_pages_show(
    admin_site: AdminSite,
) -> None:
    client = logged_in(admin_site)
    form = {"name": "Kultura in šport", "slug": "kultura", "name_en": "  Culture   and sport "}
    saved = client.post("/admin/topics", data={"csrf_token": token_for(client), **form})
    assert saved.status_code == 303
    assert '<span lang="en">Culture and sport</span>' in client.get("/admin/topics").text
    assert "Culture and sport" in client.get("/topics/kultura?lang=en").text
    assert "Culture and sport" not in client.get("/topics/kultura").text

    too_long = client.post(
        "/admin/topics", data={"csrf_token": token_for(client), **form, "name_en": "x" * 201}
    )
    assert too_long.status_code == 400
    assert "Angleško ime je predolgo: največ 200 znakov." in too_long.text
    assert "Culture and sport" in client.get("/topics/kultura?lang=en").text  # unchanged

    emptied = {**form, "name_en": ""}
    client.post("/admin/topics", data={"csrf_token": token_for(client), **emptied})
    assert "Kultura in šport" in client.get("/topics/kultura?lang=en").text


def test_admins_give_a_list_an_english_name(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 1)
    client = logged_in(admin_site)
    page = client.get(f"/admin/lists/{LIST}")
    assert 'name="name_en"' in page.text
    saved = client.post(
        f"/admin/lists/{LIST}/name-en",
        data={"csrf_token": token_for(client), "name_en": " Weekly  news "},
    )
    assert saved.status_code == 303
    after = client.get(saved.headers["location"]).text
    assert "Angleško ime seznama je shranjeno." in after and 'value="Weekly news"' in after
    assert '(angl. <span lang="en">Weekly news</span>)' in client.get("/admin/lists").text
    with Session(admin_site.engine) as session:
        assert get_list(session, LIST).name_en == "Weekly news"

    too_long = client.post(
        f"/admin/lists/{LIST}/name-en", data={"csrf_token": token_for(client), "name_en": "x" * 201}
    )
    assert too_long.status_code == 400
    assert "Angleško ime je predolgo: največ 200 znakov." in too_long.text
    client.post(
        f"/admin/lists/{LIST}/name-en", data={"csrf_token": token_for(client), "name_en": ""}
    )
    with Session(admin_site.engine) as session:
        assert get_list(session, LIST).name_en is None


def test_lists_page_counts_subscribers_by_status(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 4)
    client = logged_in(admin_site)
    page = client.get("/admin/lists")
    assert page.status_code == 200
    assert "Tedenske novice" in page.text and '<td class="num">4</td>' in page.text
    dashboard = client.get("/admin")
    assert "Tedenske novice" in dashboard.text and f"/admin/digests/{LIST}/" in dashboard.text


def test_search_finds_subscribers_by_address_or_name(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 12)
    client = logged_in(admin_site)
    by_address = client.get(f"/admin/lists/{LIST}?q=OBCAN0011").text
    assert "obcan0011@example.org" in by_address and "obcan0010@example.org" not in by_address
    by_name = client.get("/admin/subscribers?q=Številka 3").text
    assert "obcan0003@example.org" in by_name and "potrjeni" in by_name
    nothing = client.get("/admin/subscribers?q=100%25").text  # a literal %, not a wildcard
    assert "Ni zadetkov" in nothing


def test_csv_import_reports_each_bad_line_by_number(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 0)
    client = logged_in(admin_site)
    response = client.post(
        f"/admin/lists/{LIST}/import",
        data={"csrf_token": token_for(client, f"/admin/lists/{LIST}"), "confirmed": "yes"},
        files={"file": ("naslovi-marec.csv", UPLOAD.encode("utf-8"), "text/csv")},
    )
    assert response.status_code == 200, response.text
    text = response.text
    assert "Uvoz datoteke naslovi-marec.csv" in text
    table = text.split('data-testid="rejections"')[1].split("</table>")[0]
    rows = [
        [cell.strip() for cell in row.split("</td>")[:-1]]
        for row in table.split("<tr>")[2:]  # after the header row
    ]
    lines = [int(row[0].rsplit(">", 1)[1]) for row in rows]
    assert lines == [3, 4, 5]  # the bad address, the unknown language, the name's line break
    assert 'Dodani</th><td class="num">2<' in text  # janez and peter
    assert 'Združeni (naslov že prej v datoteki)</th><td class="num">1<' in text
    with Session(admin_site.engine) as session:
        (counts,) = status_counts(session).values()
        assert counts["confirmed"] == 2


def test_an_unreadable_file_is_refused_with_a_reason(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 0)
    client = logged_in(admin_site)
    response = client.post(
        f"/admin/lists/{LIST}/import",
        data={"csrf_token": token_for(client, f"/admin/lists/{LIST}")},
        files={"file": ("prazno.csv", b"ime;jezik\nAna;sl\n", "text/csv")},
    )
    assert response.status_code == 400
    assert "Datoteke ni bilo mogoče uvoziti" in response.text


def test_export_downloads_the_list_as_csv_that_imports_back(admin_site: AdminSite) -> None:
    addresses = stock(admin_site.engine, 5)
    client = logged_in(admin_site)
    response = client.get(f"/admin/lists/{LIST}/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["email"] for row in rows] == addresses
    assert rows[1]["name"] == "Občan Številka 1" and rows[0]["status"] == "confirmed"
    confirmed = client.get(f"/admin/lists/{LIST}/export.csv?status=pending")
    assert confirmed.text.strip().count("\n") == 0  # the header alone


def test_staff_withdraw_and_publish_an_article(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 0)
    client = logged_in(admin_site)
    listing = client.get("/admin/articles")
    assert "Novica 1: obnova ceste v Šmihelu" in listing.text
    page = client.get("/admin/articles/2")
    assert page.status_code == 200 and "Umakni članek" in page.text
    withdrawn = client.post("/admin/articles/2/withdraw", data={"csrf_token": token_for(client)})
    assert withdrawn.status_code == 303
    with Session(admin_site.engine) as session:
        article = get_article(session, 2)
        assert article.status == ArticleStatus.withdrawn
        slug = article.slug
    assert client.get(f"/articles/{slug}").status_code == 410
    assert "Objavi članek" in client.get("/admin/articles/2").text
    client.post("/admin/articles/2/publish", data={"csrf_token": token_for(client)})
    assert client.get(f"/articles/{slug}").status_code == 200
    assert client.get("/admin/articles/999").status_code == 404


def test_staff_name_and_rename_topics(admin_site: AdminSite) -> None:
    client = logged_in(admin_site)
    saved = client.post(
        "/admin/topics",
        data={"csrf_token": token_for(client), "name": "Kultura in šport", "slug": ""},
    )
    assert saved.status_code == 303
    page = client.get("/admin/topics").text
    assert "Kultura in šport" in page and "kultura-in-sport" in page
    client.post(
        "/admin/topics",
        data={"csrf_token": token_for(client), "name": "Kultura", "slug": "kultura-in-sport"},
    )
    assert (
        '<a href="/admin/articles?topic=kultura-in-sport">Kultura</a>'
        in client.get("/admin/topics").text
    )


def test_staff_commands_add_list_and_remove_accounts(engine: Engine, database_url: str) -> None:
    runner = CliRunner()
    env = {"PUBLISHER_DATABASE_URL": database_url}
    added = runner.invoke(
        cli_app,
        ["staff", "add", "Mojca.Urednik@Example.org", "--name", "Mojca", "--password-stdin"],
        input="dolgo-geslo-123\n",
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert "mojca.urednik@example.org" in added.output
    again = runner.invoke(
        cli_app,
        ["staff", "add", "mojca.urednik@example.org", "--password-stdin"],
        input="dolgo-geslo-123\n",
        env=env,
    )
    assert again.exit_code == 1 and "already" in again.output
    short = runner.invoke(
        cli_app, ["staff", "add", "b@example.org", "--password-stdin"], input="kratko\n", env=env
    )
    assert short.exit_code == 1 and "at least 10" in short.output
    prompted = runner.invoke(
        cli_app, ["staff", "add", "c@example.org"], input="prvo-geslo-1\ndrugo-geslo-2\n", env=env
    )
    assert prompted.exit_code == 1 and "differ" in prompted.output
    changed = runner.invoke(
        cli_app,
        ["staff", "password", "mojca.urednik@example.org", "--password-stdin"],
        input="novo-dolgo-geslo\n",
        env=env,
    )
    assert changed.exit_code == 0 and "New password" in changed.output
    with Session(engine) as session:
        assert authenticate(session, "Mojca.Urednik@example.org", "novo-dolgo-geslo")
    listed = runner.invoke(cli_app, ["staff", "list"], env=env)
    assert "mojca.urednik@example.org" in listed.output and "Mojca" in listed.output
    removed = runner.invoke(cli_app, ["staff", "remove", "mojca.urednik@example.org"], env=env)
    assert removed.exit_code == 0
    with Session(engine) as session:
        assert find_staff(session, "mojca.urednik@example.org") is None


def test_dashboard_shows_the_schedule_and_drafts_waiting_for_approval(
    admin_site: AdminSite,
) -> None:
    stock(admin_site.engine, 2)
    entry = ScheduleEntry(list=LIST, day="fri", time="12:00", approval=True)
    admin_site.app.state.settings = admin_site.settings.model_copy(update={"schedule": [entry]})
    with session_scope(admin_site.engine) as session:
        get_or_create_edition(session, get_list(session, LIST), parse_period("2025-W10"))
    page = logged_in(admin_site).get("/admin").text
    assert "Naslednje načrtovane izdaje" in page and "čaka na vašo odobritev" in page
    waiting = page.split('id="cakajo"')[1].split("</section>")[0]
    assert f'href="/admin/digests/{LIST}/2025-W10"' in waiting


def test_staff_file_an_article_under_topics(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 0, topics=True)
    client = logged_in(admin_site)
    client.post(
        "/admin/topics", data={"csrf_token": token_for(client), "name": "Kultura", "slug": ""}
    )
    page = client.get("/admin/articles/1")
    assert 'name="topics" value="promet" checked' in page.text
    assert 'name="topics" value="kultura"' in page.text
    saved = client.post(
        "/admin/articles/1/topics", data={"csrf_token": token_for(client), "topics": ["kultura"]}
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("notice=topics")
    with Session(admin_site.engine) as session:
        assert [topic.slug for topic in get_article(session, 1).topics] == ["kultura"]
    culture = client.get("/feeds/topics/kultura/atom.xml")
    assert culture.status_code == 200 and "Novica 0: obnova ceste" in culture.text
    forged = client.post("/admin/articles/1/topics", data={"topics": ["promet"]})
    assert forged.status_code == 403
    unknown = client.post(
        "/admin/articles/1/topics", data={"csrf_token": token_for(client), "topics": ["ni-je"]}
    )
    assert unknown.status_code == 400
    with Session(admin_site.engine) as session:
        assert [topic.slug for topic in get_article(session, 1).topics] == ["kultura"]
