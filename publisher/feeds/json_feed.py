"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) from the same document as RSS and Atom."""

from __future__ import annotations

import json
from typing import Any

from publisher.feeds.models import FeedDocument

VERSION = "https://jsonfeed.org/version/1.1"


def build_json_feed(doc: FeedDocument) -> bytes:
    """The document as JSON Feed; ``next_url`` leads to the next older archive page."""
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": doc.title,
        "home_page_url": doc.home_url,
        "feed_url": doc.self_url,
        "description": doc.subtitle,
        "icon": doc.icon_url,
        "favicon": doc.icon_url,
        "language": doc.language,
        "authors": [{"name": doc.author, "url": doc.home_url}],
    }
    if doc.links.prev_archive:
        feed["next_url"] = doc.links.prev_archive
    if doc.hub_url:
        feed["hubs"] = [{"type": "WebSub", "url": doc.hub_url}]
    items = []
    for entry in doc.entries:
        item: dict[str, Any] = {
            "id": entry.id,
            "url": entry.url,
            "title": entry.title,
            "content_html": entry.content_html,
            "summary": entry.summary,
            "date_published": entry.published.isoformat(),
            "date_modified": entry.updated.isoformat(),
            "authors": [{"name": entry.author}],
            "language": doc.language,
        }
        if entry.categories:
            item["tags"] = [category.name for category in entry.categories]
        if entry.image_url:
            item["image"] = entry.image_url
        items.append(item)
    feed["items"] = items
    # Compact: json.dumps uses its C encoder only without indent, several times faster.
    return json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
