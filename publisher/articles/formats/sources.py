"""From files and downloaded bytes to a ParsedSource: decode, detect the format, dispatch.

Bad content never raises here: it comes back as rejections the CLI and web can list, so one
broken file in a folder does not stop the others from being imported.
"""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from publisher.articles.drafts import ParsedSource, Rejection
from publisher.articles.formats.detect import detect_format
from publisher.articles.formats.feed_import import parse_feed
from publisher.articles.formats.json_import import parse_json, parse_json_lines
from publisher.articles.formats.office_export import parse_office_export
from publisher.articles.sanitize import without_controls
from publisher.decoding import UndecodableFile, decode_bytes
from publisher.media.formats import EXTENSIONS, is_photo_name

log = logging.getLogger(__name__)


MAX_FILE_BYTES = 20_000_000
"""Larger files are not articles; reading them would only waste memory."""
PHOTO_SUFFIXES = frozenset(EXTENSIONS)
"""Endings of photo files: in a folder, they are the photos of the office exports beside them
(``novica.jpg`` of ``novica.txt``), not articles."""

_TEXT_PARSERS = {
    "office-export": parse_office_export,
    "json": parse_json,
    "jsonl": parse_json_lines,
}


def parse_source(data: bytes, source: str, *, tz: ZoneInfo) -> ParsedSource:
    """Read one file's or feed's bytes into drafts and rejections; ``source`` names it.

    Whatever the bytes, this returns: a reader that fails on something nobody foresaw (a
    file nested a million levels deep, say) costs that one file a rejection in words, and
    the rest of the batch is still imported.
    """
    try:
        parsed = _parse_source(data, source, tz=tz)
    except RecursionError:
        return _rejected(source, "the file is nested too deeply to be an article file")
    except Exception:
        log.exception("the article importer failed on %s", source)
        return _rejected(
            source,
            "could not be read: the importer met something in this file it cannot handle; "
            "the file was skipped (the server log has the details)",
        )
    return parsed.refuse_invalid()  # the bounds every way in shares (ArticleDraft)


def _parse_source(data: bytes, source: str, *, tz: ZoneInfo) -> ParsedSource:
    try:
        text, encoding = decode_bytes(data, source)
    except UndecodableFile as exc:
        if data.lstrip().startswith(b"<"):
            # XML names its own encoding in its declaration; let the feed parser read it.
            return parse_feed(data, source, tz=tz)
        return _rejected(source, f"{exc.reason}; {exc.advice}")
    if not text.strip("\ufeff \t\r\n\xa0"):
        return _rejected(source, "the file is empty", encoding=encoding)

    kind = detect_format(text, source)
    if kind == "feed":
        # Bytes, not our decoded text: feedparser honours the XML encoding declaration.
        return parse_feed(data, source, tz=tz)
    if kind == "unknown":
        return _rejected(
            source, "looks like XML or HTML but is not an RSS or Atom feed", encoding=encoding
        )
    # Control characters (NUL first: PostgreSQL refuses it in text) are nothing anyone typed.
    text = without_controls(text)
    parsed = _TEXT_PARSERS[kind](text, source, tz=tz)
    parsed.encoding = encoding
    return parsed


def parse_path(path: Path, *, tz: ZoneInfo) -> ParsedSource:
    """Read a file from disk; unreadable or oversized files become one rejection."""
    source = str(path)
    try:
        if path.is_dir():
            return _rejected(source, "is a folder, not a file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return _rejected(
                source,
                f"the file is {size / 1_000_000:.1f} MB; an article file may be at most "
                f"{MAX_FILE_BYTES / 1_000_000:g} MB",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        return _rejected(source, "no such file")
    except OSError as exc:
        return _rejected(source, f"cannot read the file: {exc.strerror or exc}")
    return parse_source(data, source, tz=tz)


def iter_import_paths(paths: list[Path]) -> list[Path]:
    """Expand folders into the files below them, sorted, skipping hidden files and folders
    and photos (each one is its office export's, read with it).

    Files named explicitly are kept as given, even missing or huge ones, so ``parse_path``
    can report them instead of them vanishing silently.
    """
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            found.append(path)
            continue
        found.extend(
            sorted(
                child
                for child in path.rglob("*")
                if child.is_file()
                and not is_photo_name(child.name)
                and not any(part.startswith(".") for part in child.relative_to(path).parts)
            )
        )
    return found


def _rejected(source: str, reason: str, *, encoding: str = "") -> ParsedSource:
    return ParsedSource(
        source=source,
        format="unknown",
        rejections=[Rejection(source, None, reason)],
        encoding=encoding or "unknown",
    )
