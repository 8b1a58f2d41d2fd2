"""The ``publisher`` command as a staff member uses it."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from publisher.cli import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()

EXPORT = """Župan s podžupani na otvoritvi

Odprt prenovljeni most čez Krko

datum: 7. 3. 2025

Most je po dveh letih prenove znova odprt za pešce & kolesarje.
\u00a0
Prenova je stala 1,2 milijona €.

\u00a0

nazaj"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_init_creates_the_schema_and_is_harmless_to_repeat(workdir: Path) -> None:
    code, out, _ = run("db", "current")
    assert code == 1 and "publisher init" in out
    assert run("init")[0] == 0
    code, out, _ = run("init")
    assert code == 0 and "up to date" in out
    code, out, _ = run("db", "current")
    assert code == 0 and "(up to date)" in out


def test_commands_before_init_say_what_to_do(workdir: Path) -> None:
    code, _, err = run("articles", "list")
    assert code == 1
    assert "publisher init" in err


def test_import_list_show_withdraw_publish(workdir: Path) -> None:
    (workdir / "most.txt").write_text(EXPORT, encoding="utf-8")
    run("init")
    code, out, _ = run("articles", "import", "most.txt", "--topic", "promet")
    assert code == 0, out
    assert "imported" in out and "most.txt" in out

    code, out, _ = run("articles", "list", "--json")
    [article] = json.loads(out)
    assert article["title"] == "Odprt prenovljeni most čez Krko"
    assert article["published_at"] == "2025-03-07T00:00:00+01:00"
    assert article["image_caption"] == "Župan s podžupani na otvoritvi"
    assert article["topics"] == ["promet"]
    assert article["slug"] == "odprt-prenovljeni-most-cez-krko"
    assert article["body_html"] == (
        "<p>Most je po dveh letih prenove znova odprt za pešce &amp; kolesarje.</p>\n"
        "<p>Prenova je stala 1,2 milijona €.</p>"
    )

    code, out, _ = run("articles", "show", str(article["id"]))
    assert code == 0 and "Prenova je stala 1,2 milijona €." in out and "nazaj" not in out

    assert run("articles", "withdraw", article["slug"])[0] == 0
    assert json.loads(run("articles", "list", "--json")[1]) == []
    assert len(json.loads(run("articles", "list", "--json", "--all")[1])) == 1
    assert run("articles", "publish", str(article["id"]))[0] == 0
    assert len(json.loads(run("articles", "list", "--json", "--topic", "promet")[1])) == 1
    assert json.loads(run("articles", "list", "--json", "--topic", "kultura")[1]) == []
    assert len(json.loads(run("articles", "list", "--json", "--since", "7. 3. 2025")[1])) == 1
    assert json.loads(run("articles", "list", "--json", "--since", "2025-03-08")[1]) == []

    code, _, err = run("articles", "show", "999")
    assert code == 1 and "no article" in err


def test_rejected_file_is_named_the_rest_imported_and_exit_status_is_1(workdir: Path) -> None:
    (workdir / "most.txt").write_text(EXPORT, encoding="utf-8")
    (workdir / "brez-datuma.txt").write_text("Naslov\n\nBesedilo.\n", encoding="utf-8")
    run("init")
    code, out, _ = run("articles", "import", "brez-datuma.txt", "most.txt")
    assert code == 1
    assert "brez-datuma.txt" in out and "datum" in out
    assert "1 imported" in out and "1 rejected" in out
    assert len(json.loads(run("articles", "list", "--json")[1])) == 1


def test_bad_since_date_is_a_usage_error(workdir: Path) -> None:
    run("init")
    result = runner.invoke(app, ["articles", "list", "--since", "včeraj"])
    assert result.exit_code == 2
    assert "not a date" in result.output


def run_installed(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real command in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def test_wrong_setting_fails_at_start_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "publisher.toml").write_text('smtp_hots = "relay.example.org"\n', encoding="utf-8")
    result = run_installed("articles", "list", cwd=tmp_path, env={})
    assert result.returncode == 2
    assert "smtp_hots" in result.stderr and "unknown setting" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_command_never_prints_secrets(tmp_path: Path) -> None:
    env = {
        "PUBLISHER_SMTP_PASSWORD": "relay-geslo-123",
        "PUBLISHER_SECRET_KEY": "skrivnost-456",
        "PUBLISHER_DATABASE_URL": "postgresql://app:db-geslo-789@db.example.org/novice",
    }
    result = run_installed("config", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    for secret in env.values():
        assert secret not in result.stdout
    for secret in ("relay-geslo-123", "skrivnost-456", "db-geslo-789"):
        assert secret not in result.stdout + result.stderr
    assert "db.example.org" in result.stdout


# --- what loading the command costs ---------------------------------------------------------

HEAVY_LIBRARIES = (
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "pydantic_settings",
    "argon2",
    "aiosmtplib",
    "premailer",
    "lxml",
)
"""What only a command's body may import: ``publisher --help`` must not wait for them."""


def libraries_loaded_by(code: str) -> list[str]:
    """The heavy libraries in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = set(result.stdout.split())
    return [name for name in HEAVY_LIBRARIES if name in loaded]


def test_loading_the_command_imports_no_web_database_or_mail_library() -> None:
    assert libraries_loaded_by("import publisher.cli") == []


def test_each_command_module_imports_the_domain_only_inside_its_commands() -> None:
    # Each module on its own, so that one lazy module cannot hide behind another.
    alone = """
import importlib, pkgutil, sys, types
import publisher
package = types.ModuleType("publisher.cli")
package.__path__ = [publisher.__path__[0] + "/cli"]
sys.modules["publisher.cli"] = package
for module in pkgutil.iter_modules(package.__path__):
    importlib.import_module("publisher.cli." + module.name)
"""
    assert libraries_loaded_by(alone) == []


def test_article_titles_with_control_characters_are_shown_not_obeyed(
    workdir: Path, tmp_path: Path
) -> None:
    """An imported title is outside text: the import drops its control characters, and what
    is left (a bidi override, Rich markup) is shown as text by every view, never obeyed."""
    assert run("init")[0] == 0
    items = [
        {
            "title": "Zapora\x1b[2J\x1b]0;pwned\x07 \u202egnp.exe [bold]ceste[/bold]",
            "published_at": "2025-03-05",
            "body_text": "Besedilo\x1b[31m novice.",
        }
    ]
    (tmp_path / "novice.json").write_text(json.dumps(items), encoding="utf-8")
    code, out, err = run("articles", "import", "novice.json")
    assert code == 0, out + err
    assert "\x1b" not in out + err
    for args in (("articles", "list"), ("articles", "show", "1"), ("articles", "list", "--json")):
        code, out, _ = run(*args)
        assert code == 0, args
        assert not {"\x1b", "\x07", "\u202e"} & set(out), (args, out)
    code, out, _ = run("articles", "list")
    assert "pwned" in out and "[bold]ceste[/bold]" in out
    listed = json.loads(run("articles", "list", "--json")[1])
    assert listed[0]["title"].startswith("Zapora") and "\x1b" not in listed[0]["title"]


LONG_SLUG = "obvestila-cetrtne-skupnosti-zalog-in-ulice-ob-krki-za-stanovalce"
LONG_NAME = "Obvestila četrtne skupnosti Žabja vas, Šmihel in Bršljin za vse stanovalce"
LONG_TITLE = "Zapora Šmihelske ceste in obvoz čez Žabjo vas bosta trajala do konca meseca"


def long_values_stored(workdir: Path) -> None:
    run("init")
    assert run("topics", "add", "zapore", "--name", "Zapore in obvozi čez Šmihel")[0] == 0
    code, out, err = run("lists", "create", LONG_SLUG, "--name", LONG_NAME, "-t", "zapore")
    assert code == 0, out + err
    items = [{"title": LONG_TITLE, "published_at": "2025-03-05", "body_text": "Besedilo."}]
    (workdir / "zapora.json").write_text(json.dumps(items), encoding="utf-8")
    assert run("articles", "import", "zapora.json", "--topic", "zapore")[0] == 0


def test_listings_piped_print_whole_values_one_tab_separated_line_per_row(
    workdir: Path,
) -> None:
    """Off a terminal (a pipe, a file, CI) nothing is cut to the width of a screen: a header
    line, then each row on one line with its cells whole and split by tabs."""
    long_values_stored(workdir)

    code, out, err = run("lists", "list")
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split("\t")[:4] == ["Slug", "Name", "Access", "Topics"]
    assert row.split("\t")[:4] == [LONG_SLUG, LONG_NAME, "public", "zapore"]
    assert "…" not in out and "│" not in out

    code, out, err = run("articles", "list")
    assert out.splitlines()[0] == "ID\tDate\tTitle\tTopics\tStatus"
    [row] = out.splitlines()[1:]
    assert row.split("\t")[1:] == ["5.\xa0marec 2025", LONG_TITLE, "zapore", "published"]
    assert "1 article(s)." in err  # the count is for eyes: not among the rows

    code, out, _ = run("topics", "list")
    assert "zapore\tZapore in obvozi čez Šmihel\t1" in out.splitlines()


def listed(*args: str) -> object:
    """``publisher ARGS --json``, parsed; the bytes are UTF-8 as written, never ``\\u`` escapes."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert "\\u0" not in result.stdout  # č, š, ž come out as themselves
    return json.loads(result.stdout)


def test_every_listing_gives_json_with_stable_keys_iso_dates_and_utf8(workdir: Path) -> None:
    long_values_stored(workdir)
    staff = runner.invoke(
        app, ["staff", "add", "ziga@example.org", "--name", "Žiga Šuštar", "--password-stdin"],
        input="dolgo-geslo-za-test\n",
    )  # fmt: skip
    assert staff.exit_code == 0, staff.output
    assert runner.invoke(app, ["api-token", "create", "spletna-stran"]).exit_code == 0

    [article] = listed("articles", "list")
    assert article["title"] == LONG_TITLE and article["topics"] == ["zapore"]
    assert article["published_at"] == "2025-03-05T00:00:00+01:00"

    topics = listed("topics", "list")
    assert {"slug": "zapore", "name": "Zapore in obvozi čez Šmihel", "name_en": None,
            "articles": 1} in topics  # fmt: skip

    lists = {found["slug"]: found for found in listed("lists", "list")}
    assert lists[LONG_SLUG] == listed("lists", "show", LONG_SLUG)
    assert lists[LONG_SLUG]["name"] == LONG_NAME and lists[LONG_SLUG]["topics"] == ["zapore"]
    assert lists[LONG_SLUG]["subscriptions"] == {"pending": 0, "confirmed": 0, "unsubscribed": 0}

    [account] = listed("staff", "list")
    assert account == {"email": "ziga@example.org", "name": "Žiga Šuštar", "role": "editor",
                       "two_factor": "off", "active": True, "last_login_at": None}  # fmt: skip

    [token] = listed("api-token", "list")
    assert token["name"] == "spletna-stran" and token["revoked_at"] is None
    assert datetime.fromisoformat(token["created_at"]).utcoffset() is not None

    assert listed("digest", "status") == []
    assert listed("digest", "schedule") == []


def every_command() -> list[tuple[list[str], object]]:
    """Each command and group of ``publisher``, with the words that call it."""
    found = []

    def walk(command: object, words: list[str]) -> None:
        found.append((words, command))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*words, name])

    walk(typer.main.get_command(app), [])
    return found


@pytest.mark.parametrize(
    "words", [words for words, _ in every_command()], ids=lambda words: " ".join(words) or "-"
)
def test_help_reads_like_a_well_kept_cli(words: list[str]) -> None:
    """No Python type names or tracebacks; each command summed up in one line, which is how
    its group lists it."""
    result = runner.invoke(app, [*words, "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert result.exit_code == 0, result.output
    for unwanted in ("<bool>", "<list", "<str>", "<int>", "<path>", "[default: None]", "Traceback"):
        assert unwanted not in result.output, unwanted
    command = dict((tuple(w), c) for w, c in every_command())[tuple(words)]
    for param in command.params:  # `--out FILE`, never `--out OUT`: say what to give
        if param.param_type_name == "option" and "Path" in param.bare_type():
            echo = max(param.opts, key=len).lstrip("-").upper()
            assert param.metavar and param.metavar != echo, param.opts
            shown = rf"{max(param.opts, key=len)}\b[^\n]*\s{re.escape(param.metavar)}\s"
            assert re.search(shown, result.output), param.opts
    summary = inspect.cleandoc(command.help or "").split("\n\n")[0]
    assert summary and "\n" not in summary and len(summary) <= 80, summary
    assert summary.replace("`", "") in result.output
    if words:
        listing = runner.invoke(app, [*words[:-1], "--help"], env={"COLUMNS": "200"})
        assert f" {words[-1]} " in listing.output and summary.replace("`", "") in listing.output
    if len(words) == 1:  # `publisher --help` on an 80-column terminal: one line each
        narrow = runner.invoke(app, ["--help"], env={"COLUMNS": "80"}, terminal_width=80)
        assert summary.replace("`", "") in narrow.output


def test_import_topic_is_added_beside_the_topics_the_file_gives(workdir: Path) -> None:
    run("init")
    items = [
        {"title": "Nova zapora", "published_at": "2025-03-05", "body_text": "Besedilo.",
         "topics": ["Okolje", {"slug": "sport", "name": "Šport"}]},
        {"title": "Brez teme", "published_at": "2025-03-06", "body_text": "Besedilo."},
    ]  # fmt: skip
    (workdir / "novice.json").write_text(json.dumps(items), encoding="utf-8")
    (workdir / "most.txt").write_text(EXPORT, encoding="utf-8")
    code, out, err = run("articles", "import", "novice.json", "most.txt", "-t", "promet",
                         "--topic", "okolje")  # fmt: skip
    assert code == 0, out + err
    filed = {a["title"]: sorted(a["topics"]) for a in listed("articles", "list")}
    assert filed == {
        "Nova zapora": ["okolje", "promet", "sport"],  # the file's two, and promet once more
        "Brez teme": ["okolje", "promet"],
        "Odprt prenovljeni most čez Krko": ["okolje", "promet"],  # an office export names none
    }
    names = {t["slug"]: t["name"] for t in listed("topics", "list")}
    assert names["sport"] == "Šport" and names["okolje"] == "Okolje"
