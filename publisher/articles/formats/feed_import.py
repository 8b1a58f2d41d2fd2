"""RSS and Atom feeds of partner sites (tourist board, library, schools) as articles.

feedparser is lenient with broken markup, which is what real feeds need; what it does not do
is refuse entity tricks. So a feed is first decoded here, in whatever encoding it names (any
number of BOMs, UTF-16, Shift_JIS …), re-encoded as UTF-8, and checked with defusedxml; and
feedparser is given those very bytes, so nothing it reads escaped the check.
"""

from __future__ import annotations

import calendar
import codecs
import io
import re
import time
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import ParseError
from zoneinfo import ZoneInfo

import defusedxml.ElementTree
import feedparser
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from publisher.articles.drafts import ArticleDraft, ParsedSource, Rejection, TopicRef
from publisher.articles.sanitize import (
    html_to_text,
    make_summary,
    normalise_space,
    sanitize_html,
    sanitized_body,
    slugify_title,
)

FORMAT = "feed"
ENTITIES_REFUSED = "feed declares XML entities; refused for safety"


def parse_feed(data: bytes, source: str, *, tz: ZoneInfo) -> ParsedSource:
    """Turn each feed entry into a draft; entries without a title or date are rejected.

    ``tz`` is accepted for symmetry with the other formats; feed dates carry their own zone
    and are stored as UTC.
    """
    parsed = ParsedSource(source=source, format=FORMAT)
    decoded = _as_utf8(data)
    if isinstance(decoded, str):
        parsed.rejections.append(Rejection(source, None, decoded))
        return parsed
    utf8, parsed.encoding = decoded
    if _declares_entities(utf8):
        parsed.rejections.append(Rejection(source, None, ENTITIES_REFUSED))
        return parsed
    # A stream, never raw bytes: feedparser treats a bytes argument that names a file as a path.
    feed = feedparser.parse(io.BytesIO(utf8), sanitize_html=True, resolve_relative_uris=True)
    if not feed.version and not feed.entries:
        parsed.rejections.append(
            Rejection(source, None, "not a readable feed: no RSS or Atom elements found")
        )
        return parsed
    for number, entry in enumerate(feed.entries, 1):
        parsed.add(_draft_from_entry(entry, number, source))
    return parsed


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_UTF16_NO_BOM = ((b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))
_DECLARED_ENCODING = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_XML_DECLARATION = re.compile(r"\s*<\?xml[^>]*\?>")
_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.IGNORECASE)
_UTF8_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'


def _as_utf8(data: bytes) -> tuple[bytes, str] | str:
    """The feed as UTF-8 bytes declaring UTF-8, and the encoding it came in; or why not.

    A BOM decides (XML's rule), then the encoding the declaration names, then UTF-8 and, as
    feedparser would, Windows-1252. Extra BOMs after the first are dropped.
    """
    encoding = _encoding_of(data)
    try:
        text = data.decode(encoding)
    except LookupError:
        return f"the feed names an encoding that is not known ({encoding})"
    except UnicodeDecodeError:
        if _DECLARED_ENCODING.match(data) is not None or encoding != "utf-8":
            return f"the feed is not valid {encoding} text"
        encoding = "windows-1252"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            return "the feed is neither UTF-8 nor Windows-1252 text; save it as UTF-8"
    body = _XML_DECLARATION.sub("", text.lstrip("\ufeff \t\r\n"), count=1)
    try:
        return (_UTF8_DECLARATION + body).encode("utf-8"), encoding
    except UnicodeEncodeError:
        return f"the feed is not valid {encoding} text"


def _encoding_of(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    for start, encoding in _UTF16_NO_BOM:
        if data.startswith(start):
            return encoding
    declared = _DECLARED_ENCODING.match(data)
    return declared.group(1).decode("ascii").lower() if declared else "utf-8"


def _declares_entities(utf8: bytes) -> bool:
    """True when the XML declares entities (billion laughs) or external references (XXE).

    ``utf8`` is what :func:`_as_utf8` made, so expat can always read its encoding; XML too
    broken for expat is refused if it so much as mentions an entity declaration.
    """
    try:
        defusedxml.ElementTree.fromstring(
            utf8, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except (EntitiesForbidden, DTDForbidden, ExternalReferenceForbidden):
        return True
    except (ParseError, ValueError):
        # Broken XML is feedparser's to judge (it copes with most of it), but not one that
        # declares entities: feedparser's lenient parser would still read those.
        return _ENTITY_DECLARATION.search(utf8.decode("utf-8")) is not None
    return False


def _draft_from_entry(entry: Any, number: int, source: str) -> ArticleDraft | Rejection:
    title = _title(entry)
    named = f"entry {number} ({title!r})" if title else f"entry {number}"
    if not title:
        return Rejection(source, None, f"{named} has no title")
    published = _utc(_own(entry, "published_parsed")) or _utc(_own(entry, "updated_parsed"))
    if published is None:
        return Rejection(source, None, f"{named} has no publication or update date")

    content = entry.get("content") or []
    raw_html = content[0].get("value", "") if content else entry.get("summary", "")
    body_html, body_text = sanitized_body(raw_html or "")
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
        topics=_topics(entry.get("tags") or []),
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


def _topics(tags: list[Any]) -> list[TopicRef]:
    topics: list[TopicRef] = []
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
