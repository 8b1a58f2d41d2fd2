"""Decoding the text files staff bring: an article export or a subscriber spreadsheet.

Both the article importers and the subscriber CSV import read files saved from whatever
Windows program was at hand, so they share one decoder. It lives at the top of the package,
below ``articles`` and ``subscribers``, so that neither reaches sideways into the other.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

SLOVENIAN_LETTERS = frozenset("čšžćđČŠŽĆĐ")
"""Letters that tell a right Central European decoding from a wrong one."""

LEGACY_ENCODINGS: dict[str, str] = {"cp1250": "windows-1250", "iso8859_2": "iso-8859-2"}
"""Single-byte encodings Slovenian offices still produce, as charset-normalizer names them,
mapped to the names we report."""

_C1_CONTROLS = re.compile(r"[\x80-\x9f]")


class UndecodableFile(Exception):
    """A file whose text encoding we cannot tell with confidence; importing it would mangle
    letters, so we refuse it and say how to fix it."""

    advice = "save it as UTF-8 and import it again"

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}; {self.advice}")


def decode_bytes(data: bytes, source: str) -> tuple[str, str]:
    """Decode a file to text and name the encoding used.

    Order: a BOM wins (UTF-8 or UTF-16); then strict UTF-8, which cannot be mistaken for
    anything else; then the legacy single-byte encodings, via charset-normalizer restricted
    to windows-1250 and iso-8859-2 so it cannot wander off to Cyrillic or Turkish pages.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[len(codecs.BOM_UTF8) :], "utf-8", source), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", source), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise UndecodableFile(source, "the file contains NUL bytes and is not a text file")
    return _decode_legacy(data, source)


def _strict(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UndecodableFile(
            source, f"the file starts with a {encoding} mark but is not valid {encoding}"
        ) from exc


def _decode_legacy(data: bytes, source: str) -> tuple[str, str]:
    """Pick between windows-1250 and iso-8859-2, the two look-alikes of Slovenian offices.

    charset-normalizer is unreliable on short texts: both encodings decode almost any byte,
    and it often ranks windows-1250 first even for iso-8859-2 bytes, turning "š" into "ą".
    The two differ exactly where Slovenian needs them: š ž Š Ž are 0x9A 0x9E 0x8A 0x8E in
    windows-1250, which iso-8859-2 reads as invisible C1 control characters; and they are
    0xB9 0xBE 0xA9 0xAE in iso-8859-2, which windows-1250 reads as "ą ľ © ®". So among the
    candidates charset-normalizer finds plausible we drop any that yields C1 controls and
    prefer the one yielding the most Slovenian letters, keeping its own order on a tie.
    When charset-normalizer finds no plausible candidate at all (binary data, or a few bytes
    too short to judge) the file is refused rather than guessed.
    """
    matches = from_bytes(data, cp_isolation=list(LEGACY_ENCODINGS))
    candidates: list[tuple[int, int, str, str]] = []
    for rank, match in enumerate(matches):
        name = LEGACY_ENCODINGS.get(match.encoding)
        if name is None:
            continue
        text = str(match)
        if _C1_CONTROLS.search(text):
            continue
        letters = sum(1 for char in text if char in SLOVENIAN_LETTERS)
        candidates.append((-letters, rank, text, name))
    if not candidates:
        raise UndecodableFile(
            source, "the file is not UTF-8 and does not read as Windows-1250 or ISO-8859-2 text"
        )
    _, _, text, name = min(candidates)
    return text, name
