"""The admin's list import over real HTTP: the upload is written to disk once as it streams
in, and addresses the relay could never reach are refused exactly as the subscribe form, the
CLI import and the CLI's ``subscribers add`` refuse them."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from publisher.cli import app as cli_app
from tests.delivery.sending_support import LIST, cli_env, stock
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in, open_admin_site, token_for

admin_site = admin_support.admin_site
UNICODE_ROWS = "email;ime\nžiga@example.org;Žiga\nana@šola.si;Ana\nmarko@example.org;Marko\n"


def written_by_this_process() -> int:
    """Bytes this process has passed to write(2) so far (files, not sockets): the server runs
    in a thread of it."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def big_csv(size: int) -> bytes:
    """A CSV of about ``size`` bytes: one resident, then blank records (skipped)."""
    blank = b" " * 1020 + b";\r\n"
    return b"email;ime\r\nnova@example.org;Nova\r\n" + blank * (size // len(blank))


def import_upload(client: httpx.Client, name: str, content: bytes) -> httpx.Response:
    token = token_for(client, f"/admin/lists/{LIST}")
    return client.post(
        f"/admin/lists/{LIST}/import",
        data={"csrf_token": token, "confirmed": "yes"},
        files={"file": (name, content)},
    )


def test_an_upload_is_written_to_disk_once(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 0)
    client = logged_in(admin_site)
    size = 24 * 1024 * 1024
    body = big_csv(size)
    before = written_by_this_process()
    answer = import_upload(client, "velika.csv", body)
    written = written_by_this_process() - before
    assert answer.status_code == 200, answer.text
    assert "Uvoz datoteke velika.csv" in answer.text
    assert 'Dodani</th><td class="num">1<' in answer.text
    assert len(body) <= written < 1.5 * len(body)  # once (a spool and a copy: twice)


def test_the_admin_import_refuses_what_the_relay_cannot_deliver_like_the_form(
    engine: Engine, database_url: str
) -> None:
    with open_admin_site(engine, database_url, smtputf8=False) as site:
        stock(site.engine, 0)
        answer = import_upload(logged_in(site), "naslovi.csv", UNICODE_ROWS.encode())
    assert answer.status_code == 200
    assert 'Dodani</th><td class="num">2<' in answer.text  # ana@šola.si (punycode) and marko
    rejections = answer.text.split('data-testid="rejections"')[1].split("</table>")[0]
    assert "žiga@example.org" in rejections and "SMTPUTF8" in rejections
    assert "šola" not in rejections


def test_with_smtputf8_the_admin_import_takes_such_addresses(admin_site: AdminSite) -> None:
    stock(admin_site.engine, 0)
    answer = import_upload(logged_in(admin_site), "naslovi.csv", UNICODE_ROWS.encode())
    assert 'Dodani</th><td class="num">3<' in answer.text


def test_staff_adding_one_address_from_the_cli_meet_the_same_rule(
    engine: Engine, database_url: str
) -> None:
    with open_admin_site(engine, database_url, smtputf8=False) as site:
        stock(site.engine, 0)
        env = cli_env(database_url, site.smtp.port)
        runner = CliRunner()
        refused = runner.invoke(
            cli_app, ["subscribers", "add", "žiga@example.org", "-l", LIST], env=env
        )
        assert refused.exit_code == 1
        assert "SMTPUTF8" in refused.output
        added = runner.invoke(cli_app, ["subscribers", "add", "ana@šola.si", "-l", LIST], env=env)
        assert added.exit_code == 0, added.output
