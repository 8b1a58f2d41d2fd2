"""Articles and settings for feed and web tests, made through the store like real imports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.articles.drafts import ArticleDraft, TopicRef
from publisher.articles.formats import parse_path
from publisher.articles.sanitize import html_to_text, sanitize_html
from publisher.articles.store import ArticleWriter, last_change, save_draft, save_topic
from publisher.config import Settings, load_settings
from publisher.db import session_scope
from publisher.feeds.documents import build_document, render
from publisher.feeds.models import FeedKey

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": database_url, "base_url": "https://novice.test"}
    values.update(overrides)
    return load_settings(**values)


def draft(
    n: int,
    *,
    title: str | None = None,
    body_html: str | None = None,
    topics: tuple[str, ...] = (),
    published_at: datetime | None = None,
    **extra: Any,
) -> ArticleDraft:
    """Article number ``n``, published ``n`` hours after :data:`START` (so higher is newer)."""
    html = sanitize_html(body_html or f"<p>Besedilo novice številka {n}.</p>")
    return ArticleDraft(
        external_id=f"test-{n}",
        title=title or f"Novica {n}",
        published_at=published_at or START + timedelta(hours=n),
        body_html=html,
        body_text=html_to_text(html),
        topics=[TopicRef(slug=slug, name=slug.capitalize()) for slug in topics],
        **extra,
    )


def add_articles(engine: Engine, *drafts: ArticleDraft) -> None:
    with session_scope(engine) as session:
        writer = ArticleWriter(session)
        for item in drafts:
            writer.save(item)


def save(engine: Engine, item: ArticleDraft) -> None:
    with session_scope(engine) as session:
        save_draft(session, item)


def load_samples(engine: Engine, settings: Settings) -> int:
    """The project's own sample articles and topics, as ``publisher demo`` imports them."""
    samples = resources.files("publisher") / "samples"
    topics = json.loads((samples / "topics.json").read_text(encoding="utf-8"))
    filed: dict[str, list[str]] = json.loads(
        (samples / "article-topics.json").read_text(encoding="utf-8")
    )
    count = 0
    with session_scope(engine) as session:
        for topic in topics:
            save_topic(session, topic["slug"], topic["name"])
    with resources.as_file(samples / "articles") as folder, Session(engine) as session:
        writer = ArticleWriter(session)
        for path in sorted(Path(folder).glob("*.txt")):
            refs = [TopicRef(slug=s, name=s) for s in filed.get(path.name, [])]
            parsed = parse_path(path, tz=settings.tz)
            assert not parsed.rejections, parsed.rejections
            for item in parsed.drafts:
                item.add_topics(refs)
                writer.save(item)
                count += 1
        session.commit()
    return count


def build(engine: Engine, settings: Settings, key: FeedKey) -> bytes:
    """The bytes of ``key``'s document as the feeds endpoint and the export send them."""
    with Session(engine) as session:
        doc = build_document(session, settings, key, last_change(session))
        assert doc is not None, f"no document for {key}"
        return render(doc)
