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
        # The feed's identifier (JSON Feed 1.1), so every page of it names the feed itself.
        "feed_url": doc.links.current,
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
        item: dict[str, Any] = {"id": entry.id, "url": entry.url, "title": entry.title}
        # Every item needs content_html or content_text, and no field is an empty string:
        # an article with an empty body carries its summary, else its title, as text.
        if entry.content_html:
            item["content_html"] = entry.content_html
        else:
            item["content_text"] = entry.summary or entry.title
        if entry.summary:
            item["summary"] = entry.summary
        item["date_published"] = entry.published.isoformat()
        item["date_modified"] = entry.updated.isoformat()
        if entry.author:
            item["authors"] = [{"name": entry.author}]
        item["language"] = doc.language
        if entry.categories:
            item["tags"] = [category.name for category in entry.categories]
        if entry.image_url:
            item["image"] = entry.image_url
        items.append(item)
    feed["items"] = items
    # Compact: json.dumps uses its C encoder only without indent, several times faster.
    return json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
