"""Import formats for articles: the office text export, JSON / JSON Lines, RSS and Atom.

Callers need only ``parse_path`` (files and folders via ``iter_import_paths``) or
``fetch_feed`` followed by ``parse_source``; the format is detected from content.
"""

from publisher.articles.formats.detect import detect_format
from publisher.articles.formats.feed_fetch import FeedFetchError, FetchPolicy, fetch_feed
from publisher.articles.formats.feed_import import parse_feed
from publisher.articles.formats.json_import import parse_json, parse_json_lines
from publisher.articles.formats.office_export import parse_office_export
from publisher.articles.formats.sources import (
    MAX_FILE_BYTES,
    iter_import_paths,
    parse_path,
    parse_source,
)

__all__ = [
    "MAX_FILE_BYTES",
    "FeedFetchError",
    "FetchPolicy",
    "detect_format",
    "fetch_feed",
    "iter_import_paths",
    "parse_feed",
    "parse_json",
    "parse_json_lines",
    "parse_office_export",
    "parse_path",
    "parse_source",
]
