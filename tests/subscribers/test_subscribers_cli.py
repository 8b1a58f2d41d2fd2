"""`publisher lists` and `publisher subscribers` as staff use them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from publisher.cli import app

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    assert run("init")[0] == 0
    for slug in ("promet", "kultura"):
        assert run("topics", "add", slug, "--name", slug.title())[0] == 0
    code, _, err = run(
        "lists", "create", "tedenske-novice", "--name", "Tedenske novice", "-t", "promet",
        "-t", "kultura", "--description", "Vsak petek.",
    )  # fmt: skip
    assert code == 0, err
    return tmp_path


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_lists_create_list_and_show_counts_by_status(workdir: Path) -> None:
    code, _, err = run("lists", "create", "promet", "--name", "Promet in zapore", "--private")
    assert code == 0, err
    code, _, err = run("lists", "create", "promet", "--name", "Spet")
    assert code == 1 and "already exists" in err
    code, _, err = run("lists", "create", "gledalisce", "--name", "G", "--topic", "gledalisce")
    assert code == 1 and "unknown topic gledalisce" in err
    run("subscribers", "add", "ana@example.org", "--list", "promet", "--confirmed")
    run("subscribers", "add", "bojan@example.org", "--list", "promet")
    code, out, _ = run("lists", "list")
    assert code == 0 and "promet" in out and "private" in out and "tedenske-novice" in out
    code, out, _ = run("lists", "show", "promet")
    assert code == 0
    lines = dict(line.split("\t") for line in out.splitlines() if line.count("\t") == 1)
    assert lines == {
        "Status": "Subscribers",
        "pending": "1",
        "confirmed": "1",
        "unsubscribed": "0",
        "total": "2",
    }
    code, _, err = run("lists", "show", "ni-ga")
    assert code == 1 and "no list 'ni-ga'" in err


def test_add_is_pending_unless_confirmed_and_one_person_however_typed(workdir: Path) -> None:
    code, out, _ = run("subscribers", "add", " Ana@Example.ORG ", "--list", "tedenske-novice",
                       "--name", "Ana Novak", "--language", "en")  # fmt: skip
    assert code == 0 and "Ana@example.org on tedenske-novice: pending (added)" in out
    code, out, _ = run("subscribers", "add", "ana@example.org", "-l", "tedenske-novice",
                       "--confirmed")  # fmt: skip
    assert code == 0 and "confirmed (updated)" in out
    code, _, err = run("subscribers", "add", "ni-naslov", "-l", "tedenske-novice")
    assert code == 1 and "ni-naslov" in err
    code, out, _ = run("subscribers", "data", "ANA@example.org")
    data = json.loads(out)
    assert data["name"] == "Ana Novak" and data["language"] == "en"
    assert [c["source"] for c in data["consents"]] == ["staff"]


def test_import_reports_rejected_lines_prints_a_summary_and_exits_1(workdir: Path) -> None:
    (workdir / "naslovi.csv").write_bytes(
        "email;ime;jezik\r\n"
        "ana@example.org;Ana Žagar;sl\r\n"
        'bojan@example.org;"Bojan\r\nKos";sl\r\n'
        "ANA@example.org;;en\r\n"
        "cvetka@;Cvetka;sl\r\n".encode("cp1250")
    )
    code, out, _ = run("subscribers", "import", "naslovi.csv", "--list", "tedenske-novice")
    assert code == 1
    assert "naslovi.csv:line 3: the name contains a line break" in out
    assert "naslovi.csv:line 6: invalid address 'cvetka@'" in out
    summary = dict(line.split("\t") for line in out.splitlines() if line.count("\t") == 1)
    assert summary["added"] == "1" and summary["merged"] == "1" and summary["rejected"] == "2"
    assert summary["rows read"] == "4"
    assert "decoded from windows-1250" in out
    code, out, _ = run("subscribers", "data", "ana@example.org")
    assert json.loads(out)["name"] == "Ana Žagar"


def test_import_dry_run_saves_nothing_and_a_clean_import_exits_0(workdir: Path) -> None:
    (workdir / "ok.csv").write_text("email\nana@example.org\nbojan@example.org\n", "utf-8")
    code, out, _ = run("subscribers", "import", "ok.csv", "-l", "tedenske-novice", "--dry-run")
    assert code == 0 and "Dry run: nothing was saved" in out
    code, _, err = run("subscribers", "show", "ana@example.org")
    assert code == 1 and "no subscriber" in err
    code, out, _ = run("subscribers", "import", "ok.csv", "-l", "tedenske-novice", "--confirmed")
    assert code == 0
    code, out, _ = run("subscribers", "show", "ana@example.org")
    assert code == 0 and "tedenske-novice" in out and "confirmed" in out and "import" in out
    code, _, err = run("subscribers", "import", "nima.csv", "-l", "tedenske-novice")
    assert code == 1 and "no such file" in err


def test_export_to_stdout_and_to_a_file_in_csv_and_json(workdir: Path) -> None:
    run("subscribers", "add", "ana@example.org", "-l", "tedenske-novice", "--confirmed",
        "--name", "Ana Šuštar")  # fmt: skip
    run("subscribers", "add", "bojan@example.org", "-l", "tedenske-novice")
    code, out, _ = run("subscribers", "export", "--list", "tedenske-novice")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.startswith("email,name,language,status,")
    assert [(r["email"], r["status"]) for r in rows] == [
        ("ana@example.org", "confirmed"),
        ("bojan@example.org", "pending"),
    ]
    code, out, _ = run("subscribers", "export", "-l", "tedenske-novice", "--status", "confirmed",
                       "--format", "json", "--out", "izvoz.json")  # fmt: skip
    assert code == 0 and "1 subscriber(s) written" in out
    [row] = json.loads((workdir / "izvoz.json").read_text(encoding="utf-8"))
    assert row["name"] == "Ana Šuštar"
    code, _, err = run("subscribers", "export", "-l", "tedenske-novice", "--format", "xml")
    assert code == 2 and "csv or json" in err


def test_remove_erase_and_show_tell_the_register_state(workdir: Path) -> None:
    run("subscribers", "add", "ana@example.org", "-l", "tedenske-novice", "--confirmed")
    code, out, _ = run("subscribers", "remove", "ana@example.org", "--list", "tedenske-novice")
    assert code == 0 and "unsubscribed from tedenske-novice" in out
    code, out, _ = run("subscribers", "remove", "ana@example.org")
    assert code == 0 and "suppressed" in out
    code, out, _ = run("subscribers", "show", "ana@example.org")
    assert "Suppressed" in out and "unsubscribed" in out
    code, _, err = run("subscribers", "add", "ana@example.org", "-l", "tedenske-novice")
    assert code == 1 and "suppressed" in err

    code, _, _ = run("subscribers", "erase", "ana@example.org", input="n\n")
    assert code == 1  # declined: nothing erased
    assert run("subscribers", "data", "ana@example.org")[0] == 0
    code, out, _ = run("subscribers", "erase", "ana@example.org", "--yes")
    assert code == 0 and "Erased" in out
    code, _, err = run("subscribers", "data", "ana@example.org")
    assert code == 1 and "no subscriber" in err
    code, _, err = run("subscribers", "show", "ana@example.org")
    assert code == 1 and "suppressed (unsubscribed)" in err


@pytest.mark.parametrize("smtputf8", [True, False])
def test_import_refuses_utf8_mailboxes_by_row_when_the_relay_cannot_mail_them(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, smtputf8: bool
) -> None:
    from tests.delivery.sending_support import SmtpServer

    (workdir / "naslovi.csv").write_text(
        "email,name\nana@šola.si,Ana\nžiga@example.org,Žiga\nbojan@example.org,Bojan\n", "utf-8"
    )
    with SmtpServer(smtputf8=smtputf8) as relay:
        monkeypatch.setenv("PUBLISHER_SMTP_PORT", str(relay.port))
        code, out, _ = run("subscribers", "import", "naslovi.csv", "-l", "tedenske-novice")
    if smtputf8:
        assert code == 0 and "žiga@example.org" not in out
        assert run("subscribers", "show", "žiga@example.org")[0] == 0
    else:
        assert code == 1
        assert "naslovi.csv:line 3: the address has letters such as č, š or ž before the @" in out
        assert "Error" not in out
    assert run("subscribers", "show", "ana@šola.si")[0] == 0
    assert run("subscribers", "show", "bojan@example.org")[0] == 0
