"""Checks every feed must pass: feedparser without bozo for XML, the JSON Feed 1.1 rules for JSON.

feedparser 6 does not read JSON Feed, so JSON documents are checked against the rules of
https://www.jsonfeed.org/version/1.1/ here instead.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import feedparser

from publisher.feeds.models import FeedFormat


def parse_xml_feed(body: bytes) -> Any:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, f"feed is not well-formed: {parsed.get('bozo_exception')}"
    return parsed


def empty_strings(value: Any, where: str = "feed") -> list[str]:
    """Where ``value`` holds an empty string: JSON Feed readers take "" for a value given."""
    if isinstance(value, str):
        return [where] if not value.strip() else []
    if isinstance(value, dict):
        return [found for key, v in value.items() for found in empty_strings(v, f"{where}.{key}")]
    if isinstance(value, list):
        return [found for n, v in enumerate(value) for found in empty_strings(v, f"{where}[{n}]")]
    return []


def check_json_feed(body: bytes) -> dict[str, Any]:
    feed = json.loads(body.decode("utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert not empty_strings(feed), f"empty strings at {empty_strings(feed)}"
    for key in ("home_page_url", "feed_url", "icon", "favicon", "next_url"):
        if key in feed:
            assert feed[key].startswith(("http://", "https://")), key
    for author in feed.get("authors", []) + [
        a for i in feed["items"] for a in i.get("authors", [])
    ]:
        assert author.keys() & {"name", "url", "avatar"}, "an author needs name, url or avatar"
    assert isinstance(feed["items"], list)
    ids = [item["id"] for item in feed["items"]]
    assert len(ids) == len(set(ids)), "item ids must be unique"
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item.get("content_html") or item.get("content_text"), "an item needs content"
        assert item["url"].startswith(("http://", "https://"))
        for key in ("date_published", "date_modified"):
            if key in item:
                moment = datetime.fromisoformat(item[key])
                assert moment.tzinfo is not None, f"{key} must carry a time zone (RFC 3339)"
        if "tags" in item:
            assert all(isinstance(tag, str) for tag in item["tags"])
        for key in ("title", "summary", "content_text"):
            if key in item:
                assert isinstance(item[key], str), f"{key} is plain text"
        if "image" in item:
            assert item["image"].startswith(("http://", "https://")), "image"
    return feed


def entry_ids(fmt: FeedFormat, body: bytes) -> list[str]:
    """The entry ids in document order, whatever the format."""
    if fmt is FeedFormat.json:
        return [item["id"] for item in check_json_feed(body)["items"]]
    return [entry.id for entry in parse_xml_feed(body).entries]


def check_feed(fmt: FeedFormat, body: bytes) -> Any:
    return check_json_feed(body) if fmt is FeedFormat.json else parse_xml_feed(body)
