"""Who did what, as the admin says it: every actor (a staff member by name, the command line
with its user, an API token, the schedule, the system, a resident) and every action in
Slovenian, on the audit page, the edition page and the digest page, over real HTTP."""

from __future__ import annotations

import ast
import getpass
import html
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import publisher
from publisher.articles.editing import EditStatus
from publisher.audit import (
    ACTION_LABELS,
    DETAIL_VALUES,
    DETAIL_WORDINGS,
    EVERY_STATUS,
    NEW_CODES,
    RESIDENT,
    SET_UP,
    SIGN_IN,
    SYSTEM_ACTORS,
    TURNING_OFF,
    AuditAction,
    api_actor,
    command_line_actor,
    describe_action,
    describe_actor,
    describe_detail,
    detail_line,
    record,
)
from publisher.cli import app as cli_app
from publisher.db import session_scope
from publisher.jobs import PURGE_ACTOR
from publisher.subscribers.models import SubscriptionStatus
from publisher.subscribers.suppression import LIFTABLE
from tests.delivery.sending_support import LIST, PERIOD, stock
from tests.web import admin_support
from tests.web.admin_support import STAFF_EMAIL, AdminSite, logged_in, token_for
from tests.web.test_admin_digest import DIGEST, approve

admin_site = admin_support.admin_site
STAFF_NAME = "Urednica Ana"
ENGLISH_LEFTOVERS = ("(command line)", "(admin)", "API token", "(-a)", "pause by", "schedule (")


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch) -> str:
    """The operating-system user the CLI runs as, whoever runs the tests."""
    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    return "root"


def text_of(page: str) -> str:
    return html.unescape(page)


def test_the_edition_page_says_who_approved_and_paused_it_without_gender_hedging(
    admin_site: AdminSite, database_url: str, root: str
) -> None:
    stock(admin_site.engine, 40)
    admin_site.smtp.handler.script.delay = 0.05
    client = logged_in(admin_site)
    edition_page = approve(client, token_for(client, DIGEST)).headers["location"]
    paused = CliRunner().invoke(
        cli_app,
        ["digest", "pause", f"{LIST}/{PERIOD}"],
        env={"PUBLISHER_DATABASE_URL": database_url},
    )
    assert paused.exit_code == 0, paused.output

    page = text_of(client.get(edition_page).text)
    assert "Odobreno: " in page and f"— {STAFF_NAME}" in page
    assert "Ustavljeno: " in page and "— ukazna vrstica, uporabnik root" in page
    assert not [leftover for leftover in ENGLISH_LEFTOVERS if leftover in page]
    banner = text_of(client.get(DIGEST).text)
    assert "Izdaja je odobrena (" in banner and f"— {STAFF_NAME})" in banner
    assert "(admin)" not in banner
    assert f"— {STAFF_NAME}</td>" in text_of(client.get("/admin/editions").text)


def test_the_audit_page_names_every_kind_of_actor_and_action_in_slovenian(
    admin_site: AdminSite, root: str
) -> None:
    with session_scope(admin_site.engine) as session:
        for actor, action in [
            (STAFF_EMAIL, AuditAction.sign_in),
            (command_line_actor(), AuditAction.staff_added),
            (api_actor("cms"), AuditAction.edition_approved),
            (PURGE_ACTOR, AuditAction.retention_purge),
            (RESIDENT, AuditAction.data_download),
            ("publisher worker", AuditAction.edition_send_started),
        ]:
            record(session, action, actor=actor)
    page = text_of(logged_in(admin_site).get("/admin/audit").text)
    for named in (
        STAFF_NAME,
        "ukazna vrstica, uporabnik root",
        "žeton API »cms«",
        "samodejno po urniku",
        "naročnik prek svoje osebne povezave",
        "sistem, pošiljatelj v ozadju",
    ):
        assert f"<td>{named}" in page, named
    for action in ("prijava", "dodan sodelavec", "odobritev izdaje", "brisanje zastarelih"):
        assert action in page, action
    # The recorded text stays beside the name, so that the "Kdo" filter still finds it.
    assert f'<code class="meta">{STAFF_EMAIL}</code>' in page


def test_every_actor_and_action_has_a_slovenian_wording_and_keeps_english_for_en() -> None:
    for action, label in ACTION_LABELS.items():
        assert describe_action(action.value, "sl") != label, f"{action}: no Slovenian name"
        assert describe_action(action.value, "en") == label
    for system in SYSTEM_ACTORS:
        assert describe_actor(system, "sl", {}).startswith("sistem")
    assert describe_actor("ana@example.org (admin)", "sl", {"ana@example.org": "Ana"}) == "Ana"
    assert describe_actor("ana@example.org", "sl", {}) == "ana@example.org"
    assert describe_actor("root (command line)", "en", {}) == "command line, user root"
    assert describe_actor("schedule (every Friday at 12:00)", "sl", {}) == "samodejno po urniku"


WORD = re.compile(r"[A-Za-z]{2,}")
SAMPLES = {
    "count": "3",
    "language": "sl",
    "revision": "12",
    "format": "csv",
    "before": '{"ime": "Novice"}',
    "after": '{"ime": "Občinske novice"}',
    "why": "Strežnik prejemnika je bil en dan v okvari",
    "slug": "zapora-ceste",
}
"""Outside values (counts, names, a reason typed by staff): shown as they came."""
SPOKEN = {"purpose", "status", "was"}
"""Placeholders that take the program's own words (:data:`DETAIL_VALUES`), translated too."""


def every_detail() -> Iterator[tuple[str, str]]:
    """Each wording with each of the program's words its values can be: (source, line)."""
    for source in DETAIL_WORDINGS:
        names = sorted(set(re.findall(r"%\((\w+)\)s", source)))
        choices = [DETAIL_VALUES if name in SPOKEN else [SAMPLES[name]] for name in names]
        for values in itertools.product(*choices):
            yield source, detail_line(source, **dict(zip(names, values, strict=True)))


def english_words(source: str, line: str) -> set[str]:
    fixed = re.sub(r"%\(\w+\)s", " ", source)
    return set(WORD.findall(fixed)) | {word for word in DETAIL_VALUES if word in line}


def test_every_detail_the_code_writes_reads_in_slovenian_and_stays_english_in_the_log() -> None:
    statuses = {str(status) for status in SubscriptionStatus} | {EVERY_STATUS}
    written = statuses | {str(reason) for reason in LIFTABLE} | {str(s) for s in EditStatus}
    assert written <= set(DETAIL_VALUES)
    assert {SIGN_IN, SET_UP, NEW_CODES, TURNING_OFF} <= set(DETAIL_VALUES)
    for source, line in every_detail():
        shown = describe_detail(line, "sl")
        left = english_words(source, line) & set(WORD.findall(shown))
        assert not left, f"{line!r} shows as {shown!r}: English {sorted(left)}"
        assert describe_detail(line, "en") == line
    assert describe_detail("sign-in: wrong", "sl") == "prijava: napačna koda"
    assert describe_detail("with password", "sl") == "z geslom"
    assert describe_detail("status=all format=json", "sl") == "stanje: vsi, oblika: json"


def test_every_writer_stores_a_worded_detail() -> None:
    """A detail written as a literal or an f-string at the call has a second home for its
    wording, which the admin would not know: each is made by a function of the audit module
    (detail_line, settings_change) or is data (ids, field names, counts)."""
    made_here = []
    for path in sorted(Path(publisher.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or not any(k.arg == "actor" for k in call.keywords):
                continue
            for keyword in call.keywords:
                if keyword.arg != "detail":
                    continue
                branches = [keyword.value]
                while any(isinstance(branch, ast.IfExp) for branch in branches):
                    branches = [
                        part
                        for branch in branches
                        for part in (
                            (branch.body, branch.orelse)
                            if isinstance(branch, ast.IfExp)
                            else (branch,)
                        )
                    ]
                made_here += [
                    f"{path.name}:{call.lineno}"
                    for branch in branches
                    if isinstance(branch, (ast.Constant, ast.JoinedStr, ast.BinOp))
                ]
    assert not made_here


def test_the_audit_page_shows_each_detail_in_slovenian_and_an_older_one_as_stored(
    admin_site: AdminSite,
) -> None:
    older = 'reset <b>by hand</b> & "later"'
    lines = list(dict(every_detail()).items())  # one line of each wording
    with session_scope(admin_site.engine) as session:
        record(session, AuditAction.settings_changed, actor=STAFF_EMAIL, detail=older)
        for _, line in lines:
            record(session, AuditAction.sign_in, actor=STAFF_EMAIL, detail=line)
    page = logged_in(admin_site).get("/admin/audit").text
    for _, line in lines:
        assert f"<td>{describe_detail(line, 'sl')}</td>" in text_of(page), line
    assert "<td>reset &lt;b&gt;by hand&lt;/b&gt; &amp; &#34;later&#34;</td>" in page
    assert "<b>by hand</b>" not in page
