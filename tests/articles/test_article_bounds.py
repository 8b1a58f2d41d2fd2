"""One boundary for articles, whatever brings them (the CLI's JSON, feed and office-export
imports, the CMS API): dates between 1900 and 2199, ids and URLs that fit, and no control
characters in any text, removed the same way everywhere."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from publisher.articles.drafts import ArticleDraft, TopicRef
from publisher.articles.store import list_articles
from publisher.cli import app
from publisher.db import session_scope
from publisher.staff.api_tokens import create_token
from tests.web import conftest as web_fixtures
from tests.web.conftest import LiveSite

live_site = web_fixtures.live_site

GOOD = {
    "id": "dober-1",
    "title": "Obnova Glavnega trga",
    "published_at": "2025-03-07",
    "body_text": "Dela se začnejo v ponedeljek.",
}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
HOSTILE_TITLE = "Zapora\x1b[2J ceste\x07 in\x00 mostu"
FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Novice</title>
<item><title>Stara novica</title><guid>stara</guid>
<pubDate>Sat, 05 Mar 1850 16:00:00 +0100</pubDate><description>Davno.</description></item>
<item><title>Nova novica</title><guid>nova</guid>
<pubDate>Wed, 05 Mar 2025 16:00:00 +0100</pubDate><description>Danes.</description></item>
</channel></rss>
"""


def cli_import(folder: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.chdir(folder.parent)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["articles", "import", folder.name])
    assert result.exit_code == 1, result.output  # something was rejected, and said so
    return result.output


def test_every_import_format_holds_articles_to_the_apis_bounds(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    folder = tmp_path / "uvoz"
    folder.mkdir()
    items = [
        {**GOOD, "id": "davno", "published_at": "1850-03-07"},
        {**GOOD, "id": "prihodnost", "published_at": "2300-01-01T00:00:00+01:00"},
        {**GOOD, "id": "x" * 201},
        {**GOOD, "id": None, "url": "https://www.novomesto.si/" + "a" * 600},
        {**GOOD, "id": "posodobljen", "updated_at": "0281-01-01T00:00:00-22:57"},
        GOOD,
    ]
    (folder / "clanki.json").write_text(json.dumps(items, indent=1), encoding="utf-8")
    (folder / "kanal.xml").write_text(FEED, encoding="utf-8")
    (folder / "zapis.txt").write_text(
        "Stara slika\n\ndatum: 1. 3. 1850\n\nBesedilo o starem mestu.\n", encoding="utf-8"
    )
    output = " ".join(cli_import(folder, monkeypatch, database_url).split())
    assert output.count("must be between 1900 and 2199") == 5
    assert "id is longer than 200 characters" in output
    assert "url is longer than 480 characters" in output
    with Session(engine) as session:
        titles = sorted(article.title for article in list_articles(session))
    assert titles == ["Nova novica", "Obnova Glavnega trga"]


def test_control_characters_are_removed_alike_from_the_api_and_every_file(
    live_site: LiveSite,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    with session_scope(engine) as session:
        _, secret = create_token(session, "cms")
    pushed = {
        "id": "cms-1",
        "title": HOSTILE_TITLE,
        "published_at": "2025-03-05T09:30:00+01:00",
        "body_text": "Besedilo\x1b]8;;http://zlo\x07 z\x08 ubežniki.",
        "summary": "Povzetek\x1b[31m",
        "topics": ["Pro\x1bmet"],
    }
    with httpx.Client(
        base_url=live_site.url + "/api", headers={"Authorization": f"Bearer {secret}"}
    ) as api:
        answer = api.post(
            "/articles", json={**pushed, "title": pushed["title"].replace("\x00", "")}
        )
        assert answer.status_code == 201, answer.text
        article = answer.json()
    stored = [article["title"], article["body_text"], article["summary"], *article["topics"]]
    assert not any(CONTROL.search(text) for text in stored)
    assert article["title"] == "Zapora[2J ceste in mostu"
    assert article["topics"] == ["promet"]

    folder = tmp_path / "uvoz"
    folder.mkdir()
    (folder / "clanek.json").write_text(
        json.dumps(
            [{**pushed, "id": "json-1", "topics": []}, {**GOOD, "published_at": "1850-01-01"}]
        )
    )
    (folder / "zapis.txt").write_text(
        f"{HOSTILE_TITLE}\n\ndatum: 5. 3. 2025\n\nBesedilo\x1b[31m.\n", encoding="utf-8"
    )
    cli_import(folder, monkeypatch, database_url)
    with Session(engine) as session:
        articles = list_articles(session)
    assert sorted(a.title for a in articles) == ["Zapora[2J ceste in mostu"] * 3
    for one in articles:
        texts = [one.title, one.body_text, one.body_html, one.summary, one.external_id]
        assert not any(CONTROL.search(text) for text in texts), one.title


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    text=st.text(),
    moment=st.datetimes(timezones=st.timezones() | st.none()),
)
def test_any_text_and_moment_make_a_clean_draft_or_a_clear_problem(
    text: str, moment: datetime
) -> None:
    """Whatever a source puts in a draft: no control character survives in any text, and the
    bounds answer in words, never with an exception."""
    draft = ArticleDraft(
        external_id=f"json:{text}",
        title=text,
        published_at=moment,
        body_html=text,
        body_text=text,
        summary=text,
        url=text or None,
        topics=[TopicRef(text, text)],
    )
    texts = [draft.title, draft.body_text, draft.summary, draft.external_id, draft.topics[0].name]
    assert not any(CONTROL.search(one) for one in texts)
    for problem in draft.problems():
        assert problem.startswith(("published_at must be", "url is", "the item's id"))
