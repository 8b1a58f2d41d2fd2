"""Rules the W3C Feed Validation Service taught, checked on the running app's responses."""

from __future__ import annotations

import re
from datetime import datetime

import feedparser
import httpx
from sqlalchemy.engine import Engine

from tests.feeds.helpers import add_articles, draft
from tests.web.conftest import LiveSite


def test_atom_entries_carry_each_articles_own_time_not_the_import_time(
    live_site: LiveSite, engine: Engine
) -> None:
    # One import, one moment: before, every entry's <updated> was that moment.
    add_articles(engine, *(draft(n) for n in range(1, 5)))
    parsed = feedparser.parse(httpx.get(live_site.url + "/feeds/atom.xml").content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    updated = {entry.title: datetime.fromisoformat(entry.updated) for entry in parsed.entries}
    for n in range(1, 5):
        assert updated[f"Novica {n}"] == draft(n).published_at  # never changed since
    assert len(set(updated.values())) == len(updated), "two entries share one atom:updated"
    newest = max(updated.values())
    assert datetime.fromisoformat(parsed.feed.updated) == newest


def test_json_feed_date_modified_is_the_articles_own_time(
    live_site: LiveSite, engine: Engine
) -> None:
    add_articles(engine, draft(1), draft(2))
    items = httpx.get(live_site.url + "/feeds/feed.json").json()["items"]
    for item in items:
        assert item["date_modified"] == item["date_published"]


def test_rss_writes_ampersand_and_less_than_as_hexadecimal_references(
    live_site: LiveSite, engine: Engine
) -> None:
    add_articles(engine, draft(1, title="Pešci & kolesarji: 3 < 5 „ceste“"))
    body = httpx.get(live_site.url + "/feeds/rss.xml").content
    assert b"<title>Pe\xc5\xa1ci &#x26; kolesarji: 3 &#x3C; 5" in body
    assert b"&amp;" not in body and b"&lt;" not in body
    assert not re.search(rb"&(?!#x26;|#x3C;|gt;|quot;|apos;|#\d+;|#x[0-9A-Fa-f]+;)", body)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries[0].title == "Pešci & kolesarji: 3 < 5 „ceste“"
