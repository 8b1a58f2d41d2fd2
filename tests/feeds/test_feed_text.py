"""Text typed in an article or a setting reaches feed readers as text, in every field.

RSS ``<description>`` is HTML by convention: a plain-text summary escaped only once for XML
arrives as markup, and a reader runs the ``<script>`` an editor typed. Every text field of
every format is read back here as a reader would (feedparser, without its sanitiser).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from publisher.articles.drafts import TopicRef
from publisher.cli import app
from tests.feeds.helpers import add_articles, draft

runner = CliRunner()

INTACT = "Tom & Jerry „Novo mesto“"
EVIL = f'<script>alert(1)</script><img src="x" onerror="alert(2)"> {INTACT}'


@pytest.fixture
def built(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLISHER_BASE_URL", "https://novice.test")
    monkeypatch.setenv("PUBLISHER_SITE_NAME", EVIL)
    typed = draft(
        1,
        title=EVIL,
        summary=EVIL,
        image_caption=EVIL,
        image_url="https://novice.test/slike/trg.jpg",
        body_html=f"<p>{EVIL.replace('&', '&amp;')}</p>",
    )
    typed.topics = [TopicRef(slug="promet", name=EVIL)]
    add_articles(engine, typed, draft(2, title="Druga"))
    result = runner.invoke(app, ["feeds", "build", "--out", "out"])
    assert result.exit_code == 0, result.output
    return tmp_path / "out"


def check_html(value: str, where: str) -> None:
    """As a reader renders it: no script element, no handler, and the text intact."""
    root = lxml.html.fragment_fromstring(value, create_parent="div")
    assert not root.xpath("//script"), f"{where}: a <script> element"
    handlers = [name for el in root.iter() for name in el.attrib if name.lower().startswith("on")]
    assert not handlers, f"{where}: event handler attributes {handlers}"
    assert INTACT in root.text_content(), f"{where}: the text did not survive: {value!r}"


def check_detail(detail: Any, where: str) -> None:
    if detail.type in {"text/html", "application/xhtml+xml"}:
        check_html(detail.value, where)
    else:
        assert detail.type == "text/plain", where
        assert INTACT in detail.value, f"{where}: {detail.value!r}"


@pytest.mark.parametrize(
    "name", ["rss.xml", "atom.xml", "topics/promet/rss.xml", "topics/promet/atom.xml"]
)
def test_xml_feeds_carry_typed_text_as_text_in_every_field(built: Path, name: str) -> None:
    parsed = feedparser.parse((built / name).read_bytes(), sanitize_html=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    feed = parsed.feed
    check_detail(feed.title_detail, f"{name} feed title")
    check_detail(feed.subtitle_detail, f"{name} feed subtitle")
    evil_entries = [entry for entry in parsed.entries if entry.title != "Druga"]
    assert evil_entries
    for entry in evil_entries:
        where = f"{name} entry {entry.id}"
        check_detail(entry.title_detail, f"{where} title")
        if "summary_detail" in entry:
            check_detail(entry.summary_detail, f"{where} summary")
        for content in entry.get("content", []):
            check_detail(content, f"{where} content")
        for tag in entry.get("tags", []):
            for value in (tag.get("term"), tag.get("label")):
                if value and value != "promet":
                    assert INTACT in value, f"{where} category {value!r}"
        author = entry.get("author_detail", {}).get("name") or entry.get("author", "")
        assert INTACT in author, f"{where} author {author!r}"


def test_rss_description_is_the_summary_escaped_for_html(built: Path) -> None:
    parsed = feedparser.parse((built / "rss.xml").read_bytes(), sanitize_html=False)
    first = next(entry for entry in parsed.entries if entry.title != "Druga")
    assert first.summary_detail.type == "text/html"
    assert "&lt;script&gt;" in first.summary_detail.value
    check_html(first.summary_detail.value, "rss description")


@pytest.mark.parametrize("name", ["feed.json", "topics/promet/feed.json"])
def test_json_feed_keeps_text_fields_text_and_content_html_clean(built: Path, name: str) -> None:
    feed = json.loads((built / name).read_text(encoding="utf-8"))
    for text in (feed["title"], feed["description"], feed["authors"][0]["name"]):
        assert INTACT in text  # JSON Feed: plain text, shown as text
    items = [item for item in feed["items"] if item["title"] != "Druga"]
    assert items
    for item in items:
        check_html(item["content_html"], f"{name} {item['id']} content_html")
        assert INTACT in item["title"] and INTACT in item["authors"][0]["name"]
        for tag in item.get("tags", []):
            assert INTACT in tag
