"""Staff's corrections and imports: an edit is kept, said so, and taken back only on purpose."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from publisher.articles.editing import (
    ArticleInvalid,
    StaleEdit,
    create_article,
    edit_article,
    input_from_article,
    take_imported,
)
from publisher.articles.models import Article, ArticleRevision
from publisher.articles.revisions import waiting_import
from publisher.articles.store import came_public
from publisher.audit import AuditEntry
from publisher.cli import app
from publisher.clock import utcnow
from publisher.db import session_scope
from tests.feeds.helpers import add_articles, draft, make_settings

runner = CliRunner()
EDITOR = "urednica@novomesto.example.org"
EXPORT = """Župan s podžupani na otvoritvi
Odprt prenovljeni most čez Krko
datum: 7. 3. 2025
{body}
\u00a0
Prenova je stala 1,2 milijona €."""


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def correct_title(engine: Engine, database_url: str, key: int, title: str) -> None:
    settings = make_settings(database_url)
    with session_scope(engine) as session:
        article = session.get(Article, key)
        assert article is not None
        form = input_from_article(article, settings.tz)
        form.title = title
        edit_article(session, settings, key, form, actor=EDITOR)


def only_article(engine: Engine) -> Article:
    with Session(engine) as session:
        return session.exec(select(Article)).one()


def test_reimport_after_an_edit_keeps_it_and_says_so_and_overwrite_takes_the_import(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    export = tmp_path / "most.txt"
    export.write_text(EXPORT.format(body="Most je znova odprt."), encoding="utf-8")
    assert run("articles", "import", "most.txt")[0] == 0
    key = only_article(engine).id or 0
    correct_title(engine, database_url, key, "Odprt prenovljeni most čez reko Krko")

    code, out = run("articles", "import", "most.txt")  # the same export again
    assert code == 0 and "kept staff's edit —" not in out
    assert only_article(engine).title == "Odprt prenovljeni most čez reko Krko"

    export.write_text(EXPORT.format(body="Most je znova odprt za pešce."), encoding="utf-8")
    code, out = run("articles", "import", "most.txt")
    assert code == 0
    assert "kept staff's edit — Odprt prenovljeni most čez Krko" in out
    assert "1 kept staff's edit" in out
    assert only_article(engine).title == "Odprt prenovljeni most čez reko Krko"
    with Session(engine) as session:
        held = waiting_import(session, key)
        assert held is not None and "za pešce" in held.body_text

    code, out = run("articles", "import", "most.txt")  # the held version once more
    assert code == 0 and "kept staff's edit —" not in out and "0 kept staff's edit" in out

    code, out = run("articles", "import", "--overwrite", "most.txt")
    assert code == 0 and "1 updated" in out
    article = only_article(engine)
    assert article.title == "Odprt prenovljeni most čez Krko"
    assert "za pešce" in article.body_text and article.body_markdown is None
    assert article.id == key


def test_every_change_is_a_revision_prior_state_first(engine: Engine, database_url: str) -> None:
    add_articles(engine, draft(1, title="Prva", published_at=utcnow() - timedelta(days=2)))
    key = only_article(engine).id or 0
    add_articles(engine, draft(1, title="Prva, popravljena v CMS"))  # an import's update
    correct_title(engine, database_url, key, "Prva, popravljena v uredništvu")
    with Session(engine) as session:
        revisions = session.exec(select(ArticleRevision).order_by(ArticleRevision.id)).all()
        assert [(r.kind, r.title) for r in revisions] == [
            ("imported", "Prva"),
            ("imported", "Prva, popravljena v CMS"),
            ("edited", "Prva, popravljena v uredništvu"),
        ]
        assert revisions[-1].actor == EDITOR
        actions = session.exec(select(AuditEntry.action)).all()
        assert "article_edited" in actions
    article = only_article(engine)
    assert article.edited_by == EDITOR and article.edited_at is not None


def test_a_stale_save_names_who_saved_in_between(engine: Engine, database_url: str) -> None:
    settings = make_settings(database_url)
    add_articles(engine, draft(1, published_at=utcnow() - timedelta(days=1)))
    with Session(engine) as session:
        article = session.exec(select(Article)).one()
        key = article.id or 0
        stale = input_from_article(article, settings.tz)
    correct_title(engine, database_url, key, "Prvi popravek")
    stale.title = "Drugi popravek"
    with session_scope(engine) as session, pytest.raises(StaleEdit) as refused:
        edit_article(session, settings, key, stale, actor="drugi@example.org")
    assert refused.value.who == EDITOR
    assert EDITOR in refused.value.message_sl(settings.tz)
    assert only_article(engine).title == "Prvi popravek"


def test_taking_the_held_import_applies_it_as_a_revision(engine: Engine, database_url: str) -> None:
    add_articles(engine, draft(1, title="Izvirnik", published_at=utcnow() - timedelta(days=1)))
    key = only_article(engine).id or 0
    correct_title(engine, database_url, key, "Popravek")
    add_articles(engine, draft(1, title="Nova uvožena", published_at=utcnow() - timedelta(days=1)))
    assert only_article(engine).title == "Popravek"
    with session_scope(engine) as session:
        take_imported(session, key, actor=EDITOR)
    assert only_article(engine).title == "Nova uvožena"
    with Session(engine) as session:
        assert waiting_import(session, key) is None
        kinds = [r.kind for r in session.exec(select(ArticleRevision).order_by(ArticleRevision.id))]
        assert kinds == ["imported", "edited", "held", "imported"]


def test_one_validation_for_every_field(engine: Engine, database_url: str) -> None:
    settings = make_settings(database_url)
    form = input_from_article(
        Article(
            external_id="x",
            slug="x",
            title="x" * 400,
            published_at=utcnow(),
            body_html="",
            body_text="",
            content_hash="",
        ),
        settings.tz,
    )
    form.day, form.status, form.topics = "1800-01-01", "published", ["ni-take-teme"]
    with session_scope(engine) as session, pytest.raises(ArticleInvalid) as refused:
        create_article(session, settings, form, actor=EDITOR)
    assert set(refused.value.problems) == {"title", "body", "day", "topics"}


def test_a_new_article_gets_an_admin_key_a_slug_and_a_summary_from_its_body(
    engine: Engine, database_url: str
) -> None:
    settings = make_settings(database_url)
    add_articles(engine, draft(1, title="Zapora ceste"))
    with session_scope(engine) as session:
        form = input_from_article(
            Article(
                external_id="x",
                slug="x",
                title="Zapora ceste",
                published_at=utcnow() - timedelta(hours=1),
                body_html="",
                body_text="",
                content_hash="",
            ),
            settings.tz,
        )
        form.body = "Cesta bo zaprta\x07 **tri dni**.\n\nDrugi odstavek."
        form.status = "published"
        article = create_article(session, settings, form, actor=EDITOR)
        assert article.external_id.startswith("admin:")
        assert article.slug == "zapora-ceste-2"
        assert article.summary == "Cesta bo zaprta tri dni."
        assert (
            article.body_html
            == "<p>Cesta bo zaprta <strong>tri dni</strong>.</p>\n<p>Drugi odstavek.</p>"
        )
        assert json.loads(session.exec(select(ArticleRevision.topics)).one()) == []


def test_the_hub_job_learns_which_topics_a_scheduled_article_made_public(
    engine: Engine,
) -> None:
    now = utcnow()
    at = now + timedelta(hours=3)
    add_articles(engine, draft(1, published_at=at, topics=("promet",)))
    with Session(engine) as session:
        assert came_public(session, now, at - timedelta(minutes=1)) is None
        assert came_public(session, at - timedelta(minutes=1), at) == ["promet"]
        assert came_public(session, at, at + timedelta(minutes=1)) is None
