"""RSS and Atom feeds of partner sites (tourist board, library, schools) as articles.

feedparser is lenient with broken markup, which is what real feeds need; what it does not do
is refuse entity tricks, so the bytes are checked with defusedxml first.
"""

from __future__ import annotations

import calendar
import io
import time
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import ParseError
from zoneinfo import ZoneInfo

import defusedxml.ElementTree
import feedparser
import httpx
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from publisher import __version__
from publisher.articles.drafts import ArticleDraft, ParsedSource, Rejection, TopicRef
from publisher.articles.sanitize import (
    html_to_text,
    make_summary,
    normalise_space,
    sanitize_html,
    slugify_title,
)

FORMAT = "feed"
USER_AGENT = f"publisher/{__version__}"
ENTITIES_REFUSED = "feed declares XML entities; refused for safety"


class FeedFetchError(Exception):
    """A feed URL that could not be downloaded, with the reason in words."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


def fetch_feed(url: str, *, timeout: float = 20.0, max_bytes: int = 20_000_000) -> bytes:
    """Download a feed, refusing error pages, hangs and anything larger than ``max_bytes``."""
    headers = {"User-Agent": USER_AGENT}
    try:
        with (
            httpx.Client(follow_redirects=True, timeout=timeout, headers=headers) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise FeedFetchError(
                    url, f"the server answered HTTP {response.status_code} {response.reason_phrase}"
                )
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FeedFetchError(url, _too_large(max_bytes))
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FeedFetchError(url, _too_large(max_bytes))
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.TimeoutException as exc:
        raise FeedFetchError(url, f"no answer within {timeout:g} seconds") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise FeedFetchError(url, f"could not download the feed: {exc}") from exc


def _too_large(max_bytes: int) -> str:
    return f"the feed is larger than {max_bytes / 1_000_000:g} MB"


def parse_feed(
    data: bytes, source: str, *, tz: ZoneInfo, default_topics: list[TopicRef] | None = None
) -> ParsedSource:
    """Turn each feed entry into a draft; entries without a title or date are rejected.

    ``tz`` is accepted for symmetry with the other formats; feed dates carry their own zone
    and are stored as UTC.
    """
    parsed = ParsedSource(source=source, format=FORMAT)
    if _declares_entities(data):
        parsed.rejections.append(Rejection(source, None, ENTITIES_REFUSED))
        return parsed
    # A stream, never raw bytes: feedparser treats a bytes argument that names a file as a path.
    feed = feedparser.parse(io.BytesIO(data), sanitize_html=True, resolve_relative_uris=True)
    if not feed.version and not feed.entries:
        problem = feed.get("bozo_exception") or "no RSS or Atom elements found"
        parsed.rejections.append(Rejection(source, None, f"not a readable feed: {problem}"))
        return parsed
    parsed.encoding = feed.get("encoding") or parsed.encoding
    for number, entry in enumerate(feed.entries, 1):
        parsed.add(_draft_from_entry(entry, number, source, list(default_topics or [])))
    return parsed


def _declares_entities(data: bytes) -> bool:
    """True when the XML declares entities (billion laughs) or external references (XXE)."""
    try:
        defusedxml.ElementTree.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except (EntitiesForbidden, DTDForbidden, ExternalReferenceForbidden):
        return True
    except (ParseError, ValueError):
        return False  # broken XML is feedparser's to judge; it copes with most of it
    return False


def _draft_from_entry(
    entry: Any, number: int, source: str, topics: list[TopicRef]
) -> ArticleDraft | Rejection:
    title = _title(entry)
    named = f"entry {number} ({title!r})" if title else f"entry {number}"
    if not title:
        return Rejection(source, None, f"{named} has no title")
    published = _utc(_own(entry, "published_parsed")) or _utc(_own(entry, "updated_parsed"))
    if published is None:
        return Rejection(source, None, f"{named} has no publication or update date")

    content = entry.get("content") or []
    raw_html = content[0].get("value", "") if content else entry.get("summary", "")
    body_html = sanitize_html(raw_html or "")
    body_text = html_to_text(body_html)
    if not body_text:
        return Rejection(source, None, f"{named} has no text")
    summary_text = html_to_text(sanitize_html(entry.get("summary", ""))) if content else ""

    link = entry.get("link") or None
    identity = entry.get("id") or link or f"{source}#{slugify_title(title)}@{published.date()}"
    return ArticleDraft(
        external_id=f"feed:{identity}",
        title=title,
        published_at=published,
        body_html=body_html,
        body_text=body_text,
        summary=make_summary(summary_text or body_text),
        image_url=_image_url(entry),
        url=link,
        updated_at=_utc(_own(entry, "updated_parsed")),
        topics=_topics(entry.get("tags") or [], topics),
        source=source,
        line=None,
    )


def _title(entry: Any) -> str:
    """Plain-text title: feedparser unescapes text titles but leaves markup in HTML ones."""
    title = entry.get("title", "")
    detail = entry.get("title_detail") or {}
    if detail.get("type") in ("text/html", "application/xhtml+xml"):
        title = html_to_text(title)
    return normalise_space(title)


def _own(entry: Any, key: str) -> Any:
    """The entry's own value for ``key``: feedparser's ``get`` silently answers
    ``updated_parsed`` with ``published_parsed`` (and warns), which would fake an update."""
    return dict.get(entry, key)


def _utc(parsed: time.struct_time | None) -> datetime | None:
    """feedparser normalises dates to UTC struct_time; make them aware datetimes."""
    if parsed is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def _topics(tags: list[Any], topics: list[TopicRef]) -> list[TopicRef]:
    for tag in tags:
        name = normalise_space(tag.get("label") or tag.get("term") or "")
        if not name:
            continue
        slug = slugify_title(tag.get("term") or name)
        if slug not in {topic.slug for topic in topics}:
            topics.append(TopicRef(slug=slug, name=name))
    return topics


def _image_url(entry: Any) -> str | None:
    """First image among enclosures, Media RSS content and thumbnails."""
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    for media in entry.get("media_content") or []:
        is_image = media.get("medium") == "image" or str(media.get("type", "")).startswith("image/")
        if is_image and media.get("url"):
            return str(media["url"])
    for thumbnail in entry.get("media_thumbnail") or []:
        if thumbnail.get("url"):
            return str(thumbnail["url"])
    return None
