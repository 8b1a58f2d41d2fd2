"""The article store: saving drafts, identity across re-imports, topics, status, queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from publisher.articles.drafts import ArticleDraft, TopicRef
from publisher.articles.models import Article, ArticleStatus
from publisher.articles.store import (
    ArticleNotFound,
    ArticleWriter,
    SaveOutcome,
    article_to_dict,
    get_article,
    list_articles,
    list_topics,
    save_draft,
    set_status,
)
from publisher.db import session_scope
from publisher.topics import Topic

LJUBLJANA = ZoneInfo("Europe/Ljubljana")


def draft(n: int = 1, **changes: object) -> ArticleDraft:
    base = ArticleDraft(
        external_id=f"office-export:clanek-{n}.txt",
        title=f"Obnova ceste št. {n} v Šmihelu",
        published_at=datetime(2025, 3, n, tzinfo=LJUBLJANA),
        body_html=f"<p>Dela na cesti {n} se začnejo v ponedeljek.</p>",
        body_text=f"Dela na cesti {n} se začnejo v ponedeljek.",
        summary=f"Dela na cesti {n}.",
        image_caption="Cesta pred obnovo",
        topics=[TopicRef("promet", "Promet")],
        source=f"clanek-{n}.txt",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def local_days(articles: Sequence[Article]) -> list[int]:
    return [article.published_at.astimezone(LJUBLJANA).day for article in articles]


def test_new_draft_is_stored_with_all_fields(engine: Engine) -> None:
    with session_scope(engine) as session:
        outcome, article = save_draft(session, draft(7))
    assert outcome is SaveOutcome.imported
    with Session(engine) as session:
        stored = get_article(session, article.id)
        assert stored.title == "Obnova ceste št. 7 v Šmihelu"
        assert stored.slug == "obnova-ceste-st-7-v-smihelu"
        assert stored.published_at == datetime(2025, 3, 7, tzinfo=LJUBLJANA)
        assert stored.published_at.tzinfo is not None
        assert stored.image_caption == "Cesta pred obnovo"
        assert stored.uid.startswith("urn:uuid:")
        assert [t.slug for t in stored.topics] == ["promet"]
        assert len(stored.content_hash) == 64
        assert stored.status == ArticleStatus.published


def test_same_draft_again_is_unchanged_and_changed_draft_updates_in_place(engine: Engine) -> None:
    with session_scope(engine) as session:
        _, first = save_draft(session, draft())
    with session_scope(engine) as session:
        outcome, again = save_draft(session, draft())
    assert outcome is SaveOutcome.unchanged and again.id == first.id
    with session_scope(engine) as session:
        outcome, edited = save_draft(session, draft(title="Obnova ceste prestavljena"))
    assert outcome is SaveOutcome.updated
    assert edited.id == first.id and edited.uid == first.uid
    assert edited.slug == first.slug  # permalinks survive title edits
    with Session(engine) as session:
        assert len(session.exec(select(Article)).all()) == 1
        assert get_article(session, first.id).title == "Obnova ceste prestavljena"
        assert get_article(session, first.id).updated_at > first.updated_at


def test_equal_titles_get_distinct_slugs(engine: Engine) -> None:
    with session_scope(engine) as session:
        slugs = [
            save_draft(session, draft(n, title="Seja občinskega sveta"))[1].slug for n in (1, 2, 3)
        ]
    assert slugs == ["seja-obcinskega-sveta", "seja-obcinskega-sveta-2", "seja-obcinskega-sveta-3"]


def test_topics_are_shared_between_articles_and_keep_their_names(engine: Engine) -> None:
    with session_scope(engine) as session:
        save_draft(session, draft(1, topics=[TopicRef("kultura", "Kultura")]))
        save_draft(
            session, draft(2, topics=[TopicRef("kultura", "kultura"), TopicRef("sport", "Šport")])
        )
    with Session(engine) as session:
        topics = {t.slug: t.name for t in session.exec(select(Topic))}
        counts = {topic.slug: n for topic, n in list_topics(session)}
    assert topics == {"kultura": "Kultura", "sport": "Šport"}
    assert counts == {"kultura": 2, "sport": 1}


def test_listing_is_newest_first_and_filters_topic_date_and_withdrawn(engine: Engine) -> None:
    with session_scope(engine) as session:
        for n in (3, 1, 2):
            topics = [TopicRef("okolje", "Okolje")] if n != 2 else []
            save_draft(session, draft(n, topics=topics))
    with session_scope(engine) as session:
        assert local_days(list_articles(session)) == [3, 2, 1]
        assert local_days(list_articles(session, topic="okolje")) == [3, 1]
        since = datetime(2025, 3, 2, tzinfo=LJUBLJANA)
        assert local_days(list_articles(session, since=since)) == [3, 2]
        third = get_article(session, "obnova-ceste-st-3-v-smihelu")
        article, changed = set_status(session, third.id, ArticleStatus.withdrawn)
        assert changed
    with session_scope(engine) as session:
        assert local_days(list_articles(session)) == [2, 1]
        everything = list_articles(session, include_withdrawn=True)
        assert local_days(everything) == [3, 2, 1]
        _, changed = set_status(session, article.id, ArticleStatus.withdrawn)
        assert not changed
        set_status(session, article.id, ArticleStatus.published)
    with Session(engine) as session:
        assert len(list_articles(session)) == 3


def test_missing_article_is_a_clear_error(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(ArticleNotFound, match="no-such-slug"):
        get_article(session, "no-such-slug")


def test_database_rejects_an_unknown_status(engine: Engine) -> None:
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        _, article = save_draft(session, draft())
        article.status = "deleted"  # type: ignore[assignment]
        session.add(article)
        session.flush()


def test_json_shape_has_local_iso_dates_and_topic_slugs(engine: Engine) -> None:
    with session_scope(engine) as session:
        _, article = save_draft(session, draft(7))
        shape = article_to_dict(article, LJUBLJANA)
    assert shape["published_at"] == "2025-03-07T00:00:00+01:00"
    assert datetime.fromisoformat(shape["published_at"]) - datetime(
        2025, 3, 6, 23, tzinfo=ZoneInfo("UTC")
    ) == timedelta(0)
    assert shape["topics"] == ["promet"]
    for key in ("id", "slug", "title", "image_caption", "body_html"):
        assert key in shape


def test_batch_save_isolates_a_bad_draft_and_keeps_the_others(engine: Engine) -> None:
    broken = draft(2, published_at=datetime(2025, 3, 2))  # naive: the database layer refuses it
    with session_scope(engine) as session:
        results = ArticleWriter(session).save_all([draft(1), broken, draft(3)])
    assert results[0] is SaveOutcome.imported and results[2] is SaveOutcome.imported
    assert isinstance(results[1], SQLAlchemyError)
    with Session(engine) as session:
        assert local_days(list_articles(session)) == [3, 1]
        assert [t.slug for t in get_article(session, "obnova-ceste-st-1-v-smihelu").topics] == [
            "promet"
        ]


def test_batch_save_merges_repeats_and_separates_equal_titles(engine: Engine) -> None:
    same_title = [draft(n, title="Seja sveta četrtne skupnosti") for n in (1, 2)]
    repeated = draft(1, title="Seja sveta četrtne skupnosti", summary="Popravljen povzetek.")
    with session_scope(engine) as session:
        results = ArticleWriter(session).save_all([*same_title, repeated])
    assert results == [SaveOutcome.imported, SaveOutcome.imported, SaveOutcome.updated]
    with Session(engine) as session:
        articles = session.exec(select(Article).order_by(Article.id)).all()
        assert [a.slug for a in articles] == [
            "seja-sveta-cetrtne-skupnosti",
            "seja-sveta-cetrtne-skupnosti-2",
        ]
        assert articles[0].summary == "Popravljen povzetek."
