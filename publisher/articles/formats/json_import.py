"""Articles as JSON (an array, one object, or ``{"articles": [...]}``) or JSON Lines.

Each item is checked on its own: a bad item is rejected with its line number in the file and
the reason, and the other items are still imported.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from publisher.articles.drafts import (
    ArticleDraft,
    ParsedSource,
    Rejection,
    TopicRef,
    source_id_problem,
)
from publisher.articles.sanitize import (
    make_summary,
    normalise_space,
    sanitize_html,
    sanitized_body,
    slugify_title,
    text_to_html,
)
from publisher.slugs import slug_problem

DATE_HINT = "use ISO 8601, e.g. 2025-03-07"
TOO_DEEP = "not an article: the JSON is nested too deeply"

_WHITESPACE = re.compile(r"[ \t\r\n]*")
_SLOVENIAN_DATE = re.compile(r"(\d{1,2})\s*\.\s*(\d{1,2})\s*\.\s*(\d{4})")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_DECODER = json.JSONDecoder()


class _ItemError(ValueError):
    """Why one item cannot become an article, in words for the report."""


def parse_json(text: str, source: str, *, tz: ZoneInfo) -> ParsedSource:
    """Read a JSON document of articles; a syntax error rejects the whole file at its line."""
    parsed = ParsedSource(source=source, format="json")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        parsed.rejections.append(
            Rejection(source, exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})")
        )
        return parsed
    except RecursionError:
        parsed.rejections.append(Rejection(source, 1, TOO_DEEP))
        return parsed
    items = _located_items(text, document)
    if items is None:
        parsed.rejections.append(
            Rejection(
                source, 1, 'expected an article object, a list of them or {"articles": [...]}'
            )
        )
        return parsed
    for line, item in items:
        _add_item(parsed, item, line, tz)
    return parsed


def parse_json_lines(text: str, source: str, *, tz: ZoneInfo) -> ParsedSource:
    """Read one article object per line; a broken line is rejected alone, blank lines skipped."""
    parsed = ParsedSource(source=source, format="jsonl")
    for line, raw in enumerate(text.split("\n"), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            parsed.rejections.append(
                Rejection(source, line, f"not valid JSON: {exc.msg} (column {exc.colno})")
            )
            continue
        except RecursionError:
            parsed.rejections.append(Rejection(source, line, TOO_DEEP))
            continue
        _add_item(parsed, item, line, tz)
    return parsed


def draft_from_object(item: dict[str, Any], source: str, *, tz: ZoneInfo) -> ArticleDraft:
    """One article object read exactly as the JSON import reads it (the CMS API pushes the
    same shape), so it is checked and sanitised the same way, to the same bounds
    (:meth:`ArticleDraft.problems`); raises ``ValueError`` with every problem found,
    separated by ``; ``."""
    draft = _draft_from_item(item, source, 1, tz)
    problems = draft.problems()
    if problems:
        raise _ItemError("; ".join(problems))
    return draft


def _add_item(parsed: ParsedSource, item: Any, line: int, tz: ZoneInfo) -> None:
    try:
        parsed.drafts.append(_draft_from_item(item, parsed.source, line, tz))
    except _ItemError as exc:
        parsed.rejections.append(Rejection(parsed.source, line, str(exc)))


def _located_items(text: str, document: Any) -> list[tuple[int, Any]] | None:
    """Pair each article item with the line it starts on.

    ``json.loads`` forgets positions, so we walk the (already validated) text again with
    ``raw_decode``, which reports where each value ends.
    """
    start = _skip_ws(text, 0)
    if isinstance(document, list):
        return _array_items(text, start)
    if isinstance(document, dict):
        articles = document.get("articles")
        if isinstance(articles, list):
            return _array_items(text, _member_offset(text, start, "articles"))
        return [(_line_at(text, start), document)]
    return None


def _array_items(text: str, pos: int) -> list[tuple[int, Any]]:
    """Elements of the array starting at ``text[pos] == "["``, each with its line."""
    items: list[tuple[int, Any]] = []
    pos = _skip_ws(text, pos + 1)
    if text[pos] == "]":
        return items
    while True:
        value, end = _DECODER.raw_decode(text, pos)
        items.append((_line_at(text, pos), value))
        pos = _skip_ws(text, end)
        if text[pos] == "]":
            return items
        pos = _skip_ws(text, pos + 1)  # past the comma


def _member_offset(text: str, pos: int, wanted: str) -> int:
    """Offset of the value of the last ``wanted`` key in the object at ``text[pos] == "{"``
    (the last, because that is the one ``json.loads`` kept)."""
    found = -1
    pos = _skip_ws(text, pos + 1)
    while text[pos] != "}":
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _skip_ws(text, _skip_ws(text, pos) + 1)  # past the colon
        if key == wanted:
            found = pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip_ws(text, pos)
        if text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
    return found


def _skip_ws(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _line_at(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _draft_from_item(item: Any, source: str, line: int, tz: ZoneInfo) -> ArticleDraft:
    if not isinstance(item, dict):
        raise _ItemError(f"item is a JSON {type(item).__name__}, not an article object")
    problems: list[str] = []

    title = _optional_text(item, "title", problems)
    if "title" not in item or item["title"] is None:
        problems.append("missing title")
    elif isinstance(item["title"], str) and not title:
        problems.append("title is empty")

    published_at = _date_field(item, "published_at", tz, problems, required=True)
    updated_at = _date_field(item, "updated_at", tz, problems, required=False)
    body_html, body_text = _body(item, problems)
    topics = _topics(item.get("topics"), problems)
    summary = _optional_text(item, "summary", problems)
    caption = _optional_text(item, "caption", problems) or _optional_text(
        item, "image_caption", problems
    )
    image_url = _optional_text(item, "image_url", problems) or None
    image_alt = _optional_text(item, "image_alt", problems)
    image_credit = _optional_text(item, "image_credit", problems)
    url = _optional_text(item, "url", problems) or None
    item_id = item.get("id")
    if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, str | int)):
        problems.append("id must be text or a number")
    elif item_id is not None and (problem := source_id_problem(item_id)):
        problems.append(problem)

    if problems or published_at is None:
        raise _ItemError("; ".join(problems))

    if item_id not in (None, ""):
        external_id = f"json:{item_id}"
    elif url:
        external_id = f"url:{url}"
    else:
        external_id = f"json:{slugify_title(title)}@{published_at.date().isoformat()}"

    return ArticleDraft(
        external_id=external_id,
        title=title,
        published_at=published_at,
        body_html=body_html,
        body_text=body_text,
        summary=summary or make_summary(body_text),
        image_caption=caption,
        image_url=image_url,
        image_alt=image_alt,
        image_credit=image_credit,
        fetch_image=image_url is not None,  # fetched once and stored as the photo
        url=url,
        updated_at=updated_at,
        topics=topics,
        source=source,
        line=line,
    )


def _optional_text(item: dict[str, Any], key: str, problems: list[str]) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(f"{key} must be text, not {type(value).__name__}")
        return ""
    return normalise_space(value)


def _date_field(
    item: dict[str, Any], key: str, tz: ZoneInfo, problems: list[str], *, required: bool
) -> datetime | None:
    value = item.get(key)
    if value in (None, ""):
        if required:
            problems.append(f"missing {key} ({DATE_HINT})")
        return None
    parsed = parse_date_value(value, tz) if isinstance(value, str) else None
    if parsed is None:
        problems.append(f"{key} {value!r} is not a date ({DATE_HINT})")
    return parsed


def parse_date_value(value: str, tz: ZoneInfo) -> datetime | None:
    """An aware datetime from ISO 8601 or "7. 3. 2025"; naive values are local time in ``tz``.

    A bare date means local midnight, the same as the office export.
    """
    value = value.strip()
    match = _SLOVENIAN_DATE.fullmatch(value)
    try:
        if match is not None:
            day, month, year = (int(group) for group in match.groups())
            moment = datetime(year, month, day)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _body(item: dict[str, Any], problems: list[str]) -> tuple[str, str]:
    """Sanitised HTML and plain text from ``body_html`` or, failing that, ``body_text``."""
    raw_html, raw_text = item.get("body_html"), item.get("body_text")
    if raw_html is None and raw_text is None:
        problems.append("missing body_html or body_text")
        return "", ""
    wrong = [key for key in ("body_html", "body_text") if not isinstance(item.get(key), str | None)]
    if wrong:
        problems.extend(f"{key} must be text" for key in wrong)
        return "", ""
    if raw_html and raw_html.strip():
        body_html, body_text = sanitized_body(raw_html)
    elif raw_text and raw_text.strip():
        paragraphs = [normalise_space(p) for p in _PARAGRAPH_BREAK.split(raw_text)]
        body_text = "\n\n".join(p for p in paragraphs if p)
        body_html = sanitize_html(text_to_html(paragraphs))
    else:
        body_html = body_text = ""
    if not body_text:
        problems.append("article has no text")
    return body_html, body_text


def _topics(value: Any, problems: list[str]) -> list[TopicRef]:
    """Topics named as strings ("Promet") or as {"slug", "name"}."""
    topics: list[TopicRef] = []
    if value is None:
        return topics
    if not isinstance(value, list):
        problems.append("topics must be a list of names or {slug, name} objects")
        return topics
    for index, entry in enumerate(value):
        topic: TopicRef | None = None
        if isinstance(entry, str) and normalise_space(entry):
            name = normalise_space(entry)
            topic = TopicRef(slug=slugify_title(name), name=name)
        elif isinstance(entry, dict):
            slug, name = entry.get("slug"), entry.get("name")
            if (isinstance(slug, str) and slug.strip()) or (isinstance(name, str) and name.strip()):
                name = normalise_space(name) if isinstance(name, str) and name.strip() else ""
                slug = slug.strip() if isinstance(slug, str) and slug.strip() else ""
                problem = slug_problem(slug) if slug else None
                if problem is not None:
                    problems.append(f"topics[{index}].slug: {problem}")
                    continue
                topic = TopicRef(slug=slug or slugify_title(name), name=name or slug)
        if topic is None:
            problems.append(f"topics[{index}] must be a name or an object with slug and name")
        elif topic.slug not in {t.slug for t in topics}:
            topics.append(topic)
    return topics
