"""Each feed is built once per change of the store, and its fingerprint needs no build."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from publisher.articles.models import ArticleStatus
from publisher.articles.store import save_topic, set_status
from publisher.db import session_scope
from publisher.feeds.cache import FeedCache
from publisher.feeds.models import FeedFormat, FeedKey
from tests.feeds.helpers import add_articles, draft, make_settings, save


def test_a_feed_is_built_once_until_the_store_changes(engine: Engine, database_url: str) -> None:
    cache = FeedCache(engine, make_settings(database_url))
    add_articles(engine, draft(1, topics=("promet",)))
    key = FeedKey(FeedFormat.atom)

    first = cache.get(key, cache.store_change())
    again = cache.get(key, cache.store_change())
    assert first is again and cache.builds == 1

    changes = [
        lambda: save(engine, draft(2)),  # a new article
        lambda: save(engine, draft(1, title="Popravljen naslov", topics=("promet",))),  # edit
        lambda: _withdraw(engine, "novica-2"),
        lambda: _rename_topic(engine),
    ]
    fingerprints = {first.fingerprint}
    for number, change in enumerate(changes, start=2):
        change()
        built = cache.get(key, cache.store_change())
        assert built is not None and cache.builds == number
        fingerprints.add(built.fingerprint)
    assert len(fingerprints) == 1 + len(changes)


def test_fingerprints_differ_per_document_and_per_shaping_setting(
    engine: Engine, database_url: str
) -> None:
    add_articles(engine, draft(1))
    cache = FeedCache(engine, make_settings(database_url))
    change = cache.store_change()
    keys = [FeedKey(fmt, page=page) for fmt in FeedFormat for page in (None, 1)]
    assert len({cache.fingerprint(key, change) for key in keys}) == len(keys)
    other = FeedCache(engine, make_settings(database_url, base_url="https://drugje.test"))
    assert other.fingerprint(keys[0], change) != cache.fingerprint(keys[0], change)
    assert cache.builds == 0


def _withdraw(engine: Engine, slug: str) -> None:
    with session_scope(engine) as session:
        set_status(session, slug, ArticleStatus.withdrawn)


def _rename_topic(engine: Engine) -> None:
    with session_scope(engine) as session:
        save_topic(session, "promet", "Promet in ceste")
