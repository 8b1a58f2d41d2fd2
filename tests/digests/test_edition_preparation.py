"""Preparing a draft edition: the editor's note per language, the articles chosen and their
order; what the preview, the test copy, the sent mail and the archive show; frozen at approval.

Composed through the real code, sent through a real SMTP server (aiosmtpd), on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
from email import message_from_bytes, policy

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from publisher.articles.models import Article, ArticleStatus
from publisher.articles.store import set_status
from publisher.audit import AuditAction, AuditEntry
from publisher.cli import app
from publisher.db import session_scope
from publisher.delivery.runner import Senders
from publisher.digests import workflow
from publisher.digests.editing import (
    NOTE_MAX_CHARS,
    EditionChangeRefused,
    EditionFrozen,
    choose_articles,
    set_edition_note,
)
from publisher.digests.editions import get_or_create_edition, plan, send_test
from publisher.digests.models import Edition, EditionContent
from publisher.digests.periods import parse_period
from publisher.digests.preview import preview
from publisher.subscribers.lists import get_list
from tests.delivery.sending_support import LIST, PERIOD, SmtpServer, settings_for, stock

NOTE_SL = "Drage bralke in bralci,\n\nta teden <b>zapiramo</b> most čez Krko.\nObvoz je označen."
NOTE_EN = "Dear readers,\n\nthe bridge over the Krka is closed this week."


@pytest.fixture
def smtp() -> SmtpServer:
    with SmtpServer() as server:
        yield server


def ids_by_title(engine: Engine) -> dict[str, int]:
    """The three stocked articles: "Novica 0" (oldest) … "Novica 2" (newest)."""
    with Session(engine) as session:
        return {a.title[:8]: a.id or 0 for a in session.exec(select(Article)).all()}


def prepare(engine: Engine, settings, *, notes: dict[str, str], ids: list[int] | None) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        edition = get_or_create_edition(session, get_list(session, LIST), parse_period(PERIOD))
        for language, text in notes.items():
            set_edition_note(session, edition, language, text, actor="urednica")
        choose_articles(session, settings, edition, ids, actor="urednica")


def previews(engine: Engine, settings) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        planned = plan(session, settings, get_list(session, LIST), parse_period(PERIOD))
        return {lang: preview(session, settings, planned, lang) for lang in ("sl", "en")}


def squash(text: str) -> str:
    """The message's parts are wrapped into lines: compare them as one line each."""
    return re.sub(r"\s+", " ", text)


def body(html: str) -> str:
    """The visible message from the greeting on (the hidden preheader repeats titles)."""
    return squash(html[html.index('class="intro"') :])


def positions(text: str, titles: list[str]) -> list[int]:
    return [text.index(title) for title in titles]


def test_the_note_is_shown_in_its_own_language_only_escaped_and_in_paragraphs(
    engine: Engine, database_url: str
) -> None:
    stock(engine, 1)
    settings = settings_for(database_url, 25)
    prepare(engine, settings, notes={"sl": NOTE_SL}, ids=None)
    shown = previews(engine, settings)
    sl, en = shown["sl"], shown["en"]
    sl_html, sl_text = squash(sl.html), squash(sl.text)
    assert "Drage bralke in bralci,</p>" in sl_html  # a paragraph of its own
    assert "&lt;b&gt;zapiramo&lt;/b&gt;" in sl_html and "<b>zapiramo" not in sl_html
    assert "most čez Krko.<br>Obvoz je označen." in sl_html
    assert "Drage bralke in bralci,\n\nta teden <b>zapiramo</b> most" in sl.text
    assert "Obvoz je označen." in sl_text
    # The note comes before the articles, in both parts.
    assert body(sl.html).index("Drage bralke") < body(sl.html).index("Novica 2")
    assert sl.text.index("Drage bralke") < sl.text.index("Novica 2")
    # English readers get no note at all, never the Slovenian one.
    assert "Drage bralke" not in en.html and "Drage bralke" not in en.text
    assert 'class="editor-note"' not in en.html


def test_the_chosen_order_is_the_order_of_preview_test_copy_sent_mail_and_archive(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    addresses = stock(engine, 3)
    settings = settings_for(database_url, smtp.port)
    ids = ids_by_title(engine)
    order = ["Novica 0", "Novica 2"]  # oldest first, and without "Novica 1"
    prepare(
        engine,
        settings,
        notes={"sl": NOTE_SL, "en": NOTE_EN},
        ids=[ids[title] for title in order],
    )
    for shown in previews(engine, settings).values():
        assert positions(body(shown.html), order) == sorted(positions(body(shown.html), order))
        assert positions(shown.text, order) == sorted(positions(shown.text, order))
        assert "Novica 1" not in shown.html and "Novica 1" not in shown.text

    with Session(engine) as session:
        planned = plan(session, settings, get_list(session, LIST), parse_period(PERIOD))
    assert [a.title[:8] for a in planned.articles] == order
    outcome = asyncio.run(send_test(settings, planned, "urednica@example.org", "en"))
    assert outcome.verdict == "sent"

    with Session(engine) as session:
        mailing_list = get_list(session, LIST)
    events = list(
        workflow.send_or_resume(
            engine,
            settings,
            Senders(engine, settings),
            mailing_list,
            parse_period(PERIOD),
            by="test",
            wait=True,
        )
    )
    assert isinstance(events[-1], workflow.Finished)
    received = {rcpt: raw for rcpt, raw, _ in smtp.handler.received}
    assert sorted(received) == sorted([*addresses, "urednica@example.org"])
    for recipient, raw in received.items():
        message = message_from_bytes(raw, policy=policy.default)
        language = message["Content-Language"]
        html = body(message.get_body(("html",)).get_content())
        text = message.get_body(("plain",)).get_content()
        note_start = {"sl": "Drage bralke", "en": "Dear readers"}[language]
        other = {"sl": "Dear readers", "en": "Drage bralke"}[language]
        assert note_start in html and note_start in text, recipient
        assert other not in html and other not in text, recipient
        assert html.index(note_start) < html.index("Novica 0") < html.index("Novica 2")
        assert text.index("Novica 0") < text.index("Novica 2") and "Novica 1" not in text

    with Session(engine) as session:
        edition = session.exec(select(Edition)).one()
        assert edition.article_ids == f"[{ids['Novica 0']}, {ids['Novica 2']}]"
        archived = {c.language: c for c in session.exec(select(EditionContent)).all()}
    assert "Drage bralke" in archived["sl"].html and "Drage bralke" in archived["sl"].text
    assert "Dear readers" in archived["en"].html and "Drage bralke" not in archived["en"].html
    archived_sl = body(archived["sl"].html)
    assert (
        archived_sl.index("Drage") < archived_sl.index("Novica 0") < archived_sl.index("Novica 2")
    )


def test_after_approval_note_and_choice_are_refused_with_a_message_and_nothing_changes(
    engine: Engine, database_url: str, smtp: SmtpServer
) -> None:
    stock(engine, 2)
    settings = settings_for(database_url, smtp.port)
    ids = ids_by_title(engine)
    prepare(engine, settings, notes={"sl": NOTE_SL}, ids=[ids["Novica 1"]])
    with Session(engine) as session:
        mailing_list = get_list(session, LIST)
    list(
        workflow.send_or_resume(
            engine, settings, None, mailing_list, parse_period(PERIOD), by="t", start=False
        )
    )
    with Session(engine) as session:
        before = session.exec(select(Edition)).one()
    with session_scope(engine) as session:
        edition = session.get(Edition, before.id)
        assert edition is not None
        with pytest.raises(EditionFrozen, match="frozen at approval") as refused:
            set_edition_note(session, edition, "sl", "Popravek", actor="urednica")
        assert "zamrznjeni" in refused.value.reason_sl
        assert "is being sent:" in str(refused.value)  # the state in words
        with pytest.raises(EditionFrozen, match="cannot be changed"):
            choose_articles(session, settings, edition, [ids["Novica 0"]], actor="urednica")
        with pytest.raises(EditionFrozen):
            choose_articles(session, settings, edition, None, actor="urednica")
    with Session(engine) as session:
        after = session.exec(select(Edition)).one()
        assert (after.notes, after.chosen_ids, after.article_ids) == (
            before.notes,
            before.chosen_ids,
            before.article_ids,
        )
    shown = previews(engine, settings)["sl"]
    assert shown.frozen and "Drage bralke" in shown.html and "Popravek" not in shown.html
    assert "Novica 1" in shown.html and "Novica 0" not in shown.html


def test_an_article_withdrawn_after_being_chosen_is_dropped_from_the_draft(
    engine: Engine, database_url: str
) -> None:
    stock(engine, 1)
    settings = settings_for(database_url, 25)
    ids = ids_by_title(engine)
    prepare(engine, settings, notes={}, ids=[ids["Novica 2"], ids["Novica 0"]])
    with session_scope(engine) as session:
        set_status(session, ids["Novica 2"], ArticleStatus.withdrawn)
    with Session(engine) as session:
        planned = plan(session, settings, get_list(session, LIST), parse_period(PERIOD))
    assert [a.title[:8] for a in planned.articles] == ["Novica 0"]
    shown = previews(engine, settings)["sl"]
    assert "Novica 2" not in shown.html and "Novica 0" in shown.html


def test_invalid_notes_and_choices_are_refused_at_the_boundary(
    engine: Engine, database_url: str
) -> None:
    stock(engine, 1)
    settings = settings_for(database_url, 25)
    ids = ids_by_title(engine)
    with session_scope(engine) as session:
        edition = get_or_create_edition(session, get_list(session, LIST), parse_period(PERIOD))
        with pytest.raises(EditionChangeRefused, match=f"at most {NOTE_MAX_CHARS}"):
            set_edition_note(session, edition, "sl", "a" * (NOTE_MAX_CHARS + 1), actor="u")
        with pytest.raises(EditionChangeRefused, match="no language"):
            set_edition_note(session, edition, "de", "Hallo", actor="u")
        with pytest.raises(EditionChangeRefused, match=r"not an article .*: 999999"):
            choose_articles(session, settings, edition, [ids["Novica 0"], 999999], actor="u")
        with pytest.raises(EditionChangeRefused, match="at least one article"):
            choose_articles(session, settings, edition, [], actor="u")
        stored = set_edition_note(
            session, edition, "sl", "  Zdravo\x1b[31m!\r\n\r\n\r\n\r\nKonec\x00 ", actor="u"
        )
        assert stored == "Zdravo[31m!\n\nKonec"
        # Everything, in the usual order, is no choice: later articles still join.
        everything = [ids["Novica 2"], ids["Novica 1"], ids["Novica 0"]]
        assert choose_articles(session, settings, edition, everything, actor="u") is None
        assert (
            choose_articles(session, settings, edition, everything[::-1], actor="u")
            == (everything[::-1])
        )
        assert choose_articles(session, settings, edition, None, actor="u") is None
        assert edition.chosen_ids is None
    with Session(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEntry)).all()]
    assert actions.count(AuditAction.edition_note_set) == 1
    assert actions.count(AuditAction.edition_articles_chosen) == 2  # the reversal and the reset


runner = CliRunner()


def test_the_cli_sets_the_note_and_the_order_and_says_what_it_did(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stock(engine, 1)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    ids = ids_by_title(engine)
    where = ["--list", LIST, "--period", PERIOD]

    def digest(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["digest", *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    code, out = digest("note", *where, "--language", "en", NOTE_EN)
    assert code == 0, out
    assert f"Note (en) of {LIST}/{PERIOD} saved: {len(NOTE_EN)} characters." in out
    code, out = digest("choose", *where, str(ids["Novica 0"]), str(ids["Novica 1"]))
    assert code == 0, out
    assert "carries 2 article(s): the chosen ones, in the chosen order" in out
    assert out.index("Novica 0") < out.index("Novica 1") and "Novica 2" not in out

    code, html = digest("preview", *where, "--lang", "en")
    assert code == 0
    html = body(html)
    assert html.index("Dear readers") < html.index("Novica 0") < html.index("Novica 1")
    assert "Novica 2" not in html

    code, out = digest("choose", *where, "999999")
    assert code != 0 and "not an article" in out and "999999" in out
    code, out = digest("choose", *where, "--all")
    assert code == 0 and "carries 3 article(s): every article of the period, newest" in out
    assert out.index("Novica 2") < out.index("Novica 1") < out.index("Novica 0")
    code, out = digest("note", *where, "--language", "en", "--clear")
    assert code == 0 and f"Edition {LIST}/{PERIOD} has no note in en." in out
    code, html = digest("preview", *where, "--lang", "en")
    assert "Dear readers" not in html

    with Session(engine) as session:
        mailing_list = get_list(session, LIST)
    settings = settings_for(database_url, 25)
    period = parse_period(PERIOD)
    list(workflow.send_or_resume(engine, settings, None, mailing_list, period, by="t", start=False))
    code, out = digest("note", *where, "Prepozno")
    assert code != 0 and "frozen at approval" in out
