"""Working out an imported file's format from its content, once its text is decoded (by
:func:`publisher.decoding.decode_bytes`).

Staff save exports from whatever Windows program is at hand, so a file name's extension
says little; the content says more.
"""

from __future__ import annotations

import json
import re

_XML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_XML_DECLS = re.compile(r"<[?!][^>]*>")
_FIRST_TAG = re.compile(r"<([A-Za-z_][\w.:-]*)")
_FEED_ROOTS = frozenset({"rss", "feed", "rdf"})
_SNIFF_CHARS = 64_000


def detect_format(text: str, name: str) -> str:
    """Name the import format of ``text`` from its content: json, jsonl, feed or office-export.

    ``name`` is only used by callers for messages; the extension is deliberately ignored.
    Returns "unknown" for XML or HTML that is not a feed, which no parser can read.
    """
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        return "json"
    if head.startswith("{"):
        return "jsonl" if _looks_like_json_lines(head) else "json"
    if head.startswith("<"):
        return "feed" if _xml_root(head[:_SNIFF_CHARS]) in _FEED_ROOTS else "unknown"
    return "office-export"


def _looks_like_json_lines(text: str) -> bool:
    """True for several one-object lines; a (possibly broken) pretty-printed object is JSON."""
    try:
        json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        pass  # too deep for one document; the JSON reader says so
    else:
        return False
    objects = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, dict):
            objects += 1
    return objects >= 2


def _xml_root(head: str) -> str | None:
    """Local name of the first element, skipping the declaration, comments and DOCTYPE."""
    head = _XML_COMMENT.sub("", head)
    head = re.sub(r"<!DOCTYPE[^\[>]*\[.*?\]\s*>", "", head, flags=re.DOTALL | re.IGNORECASE)
    head = _XML_DECLS.sub("", head)
    match = _FIRST_TAG.search(head)
    if match is None:
        return None
    return match.group(1).rsplit(":", 1)[-1].lower()
