"""Which articles a list's digest carries for a period, and the preview staff look at."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from publisher.articles.drafts import ArticleDraft, TopicRef
from publisher.articles.models import ArticleStatus
from publisher.articles.store import save_draft, set_status
from publisher.cli import app
from publisher.config import load_settings
from publisher.db import session_scope
from publisher.digests.content import articles_for, compose
from publisher.digests.periods import parse_period
from publisher.subscribers.lists import create_list

LJUBLJANA = ZoneInfo("Europe/Ljubljana")


def article(n: int, when: datetime, topics: list[str], title: str | None = None) -> ArticleDraft:
    return ArticleDraft(
        external_id=f"test:{n}",
        title=title or f"Novica {n}",
        published_at=when,
        body_html=f"<p>Besedilo {n}.</p>",
        body_text=f"Besedilo {n}.",
        summary=f"Povzetek novice {n}.",
        topics=[TopicRef(slug, slug.capitalize()) for slug in topics],
    )


@pytest.fixture
def stocked(engine: Engine) -> Engine:
    """Articles around week 2025-W10 (3–9 March), on its edges in local time."""
    with session_scope(engine) as session:
        save_draft(session, article(1, datetime(2025, 3, 2, 23, 59, tzinfo=LJUBLJANA), ["promet"]))
        save_draft(session, article(2, datetime(2025, 3, 3, 0, 0, tzinfo=LJUBLJANA), ["promet"]))
        save_draft(session, article(3, datetime(2025, 3, 7, 12, tzinfo=LJUBLJANA), ["kultura"]))
        save_draft(session, article(4, datetime(2025, 3, 9, 23, 59, tzinfo=LJUBLJANA), []))
        save_draft(session, article(5, datetime(2025, 3, 10, 0, 0, tzinfo=LJUBLJANA), ["promet"]))
        save_draft(session, article(6, datetime(2025, 3, 8, 9, tzinfo=LJUBLJANA), ["promet"]))
        set_status(session, "novica-6", ArticleStatus.withdrawn)
        create_list(session, "tedenske-novice", "Tedenske novice")
        create_list(session, "promet", "Promet in zapore", topics=["promet"])
    return engine


def titles_for(engine: Engine, list_slug: str, period: str) -> list[str]:
    settings = load_settings()
    with Session(engine) as session:
        from publisher.subscribers.lists import get_list

        chosen = articles_for(session, get_list(session, list_slug), parse_period(period), settings)
        return [a.title for a in chosen]


def test_week_holds_exactly_its_local_days_newest_first(stocked: Engine) -> None:
    assert titles_for(stocked, "tedenske-novice", "2025-W10") == [
        "Novica 4",
        "Novica 3",
        "Novica 2",
    ]


def test_list_with_topics_gets_only_their_articles(stocked: Engine) -> None:
    assert titles_for(stocked, "promet", "2025-W10") == ["Novica 2"]
    assert titles_for(stocked, "promet", "2025-W11") == ["Novica 5"]


def test_withdrawn_and_empty_periods_carry_nothing(stocked: Engine) -> None:
    assert "Novica 6" not in titles_for(stocked, "tedenske-novice", "2025-W10")
    assert titles_for(stocked, "tedenske-novice", "2025-W20") == []


def test_composed_edition_links_each_article_and_names_the_list(stocked: Engine) -> None:
    settings = load_settings()
    with Session(stocked) as session:
        from publisher.subscribers.lists import get_list

        mailing_list = get_list(session, "tedenske-novice")
        period = parse_period("2025-W10")
        composed = compose(
            settings,
            mailing_list,
            period,
            articles_for(session, mailing_list, period, settings),
            "sl",
        )
    assert composed.subject == "Tedenske novice, 3.–9. marec 2025"
    assert f"{settings.base_url}/articles/novica-3" in composed.html
    assert f"{settings.base_url}/archive/tedenske-novice/2025-W10" in composed.text
    assert "V tej izdaji: 3 članki" in composed.text


def test_preview_command_writes_html_text_and_eml(
    stocked: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    runner = CliRunner()
    html_file, eml_file = tmp_path / "w10.html", tmp_path / "w10.eml"
    result = runner.invoke(
        app,
        [
            "digest",
            "preview",
            "--list",
            "tedenske-novice",
            "--period",
            "2025-W10",
            "--out",
            str(html_file),
            "--eml",
            str(eml_file),
        ],
    )
    assert result.exit_code == 0, result.output
    html = html_file.read_text(encoding="utf-8")
    assert '<html lang="sl"' in html and "Novica 3" in html and "9.\u00a0marec 2025" in html
    assert eml_file.read_bytes().startswith(b"From: ")
    assert result.stdout == ""
    only_eml = tmp_path / "samo.eml"
    week = ["--list", "tedenske-novice", "--period", "2025-W10"]
    alone = runner.invoke(app, ["digest", "preview", *week, "--eml", str(only_eml)])
    assert alone.exit_code == 0, alone.output
    assert alone.stdout == "" and only_eml.read_bytes().startswith(b"From: ")
    assert alone.stderr.strip().splitlines() == [
        f"Wrote the whole message to {only_eml} ({only_eml.stat().st_size:,} bytes, language sl)."
    ]
    text = runner.invoke(
        app,
        ["digest", "preview", "--list", "promet", "--period", "2025-W10", "--text", "--lang", "en"],
    )
    assert text.exit_code == 0
    assert "Hello, Ana Primer!" in text.stdout and "Novica 2" in text.stdout
    empty = runner.invoke(app, ["digest", "preview", "--list", "promet", "--period", "2025-W30"])
    assert empty.exit_code == 0 and "send nothing" in empty.stderr
    unknown = runner.invoke(app, ["digest", "preview", "--list", "ni-je", "--period", "2025-W10"])
    assert unknown.exit_code == 1
    bad = runner.invoke(app, ["digest", "preview", "--list", "promet", "--period", "lani"])
    assert bad.exit_code == 2
