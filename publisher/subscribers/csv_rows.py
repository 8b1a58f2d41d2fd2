"""Reading a spreadsheet's CSV export: its encoding, its separator, its records, each row checked.

What staff bring is a file saved from Excel or LibreOffice: UTF-8 with or without a BOM, or
Windows-1250; ``,`` or ``;`` between fields; quoted names with commas and line breaks. The
file is read once to tell its encoding (without holding it), then streamed through the csv
module. Line numbers are physical lines where the record starts, counting CR, LF and CRLF each
as a line break, as editors show them. Nothing here touches the database.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from publisher.addresses import (
    NO_UTF8_MAILBOXES,
    InvalidAddress,
    mailbox_unreachable,
    parse_address,
)
from publisher.decoding import UndecodableFile, decode_bytes
from publisher.i18n import Language
from publisher.subscribers.export import from_spreadsheet_cell

DELIMITERS = ",;\t"
"""Separators a spreadsheet's CSV export uses."""

_CHUNK = 1 << 20
_SAMPLE = 64 * 1024
_TOPIC_SPLIT = re.compile(r"[\s,;|]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

COLUMN_ALIASES: dict[str, str] = {
    "email": "email",
    "e-mail": "email",
    "e-pošta": "email",
    "e-posta": "email",
    "name": "name",
    "ime": "name",
    "ime in priimek": "name",
    "language": "language",
    "jezik": "language",
    "topics": "topics",
    "teme": "topics",
}
"""Header names accepted for each column (English, and what a Slovenian office writes)."""

EXPORT_ONLY_COLUMNS = frozenset(
    {"status", "source", "subscribed_at", "confirmed_at", "unsubscribed_at", "suppressed"}
)
"""Columns our own export writes; importing an export back ignores them without a word."""


class CsvFileError(Exception):
    """The file as a whole cannot be imported (no email column, unreadable encoding)."""


@dataclass(frozen=True)
class RowRejection:
    line: int
    email: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class CheckedRow:
    """A row's values, checked and normalised, ready to be written."""

    line: int
    email: str
    key: str
    hash: str
    name: str
    language: str | None
    topic_ids: set[int]


def sniff_encoding(binary: IO[bytes], source: str) -> str:
    """The file's text encoding, found in one pass that holds at most a chunk in memory.

    A BOM decides; else the whole file is checked as UTF-8 incrementally; at the first byte
    that is not UTF-8, a sample around it goes to the office-export detector, which tells
    Windows-1250 from ISO-8859-2 by the Slovenian letters they produce.
    """
    binary.seek(0)
    head = binary.read(4)
    binary.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        while chunk := binary.read(_CHUNK):
            try:
                decoder.decode(chunk, final=False)
            except UnicodeDecodeError as exc:
                start = max(0, exc.start - _SAMPLE // 2)
                sample = chunk[start : start + _SAMPLE]
                if b"\x00" in chunk:
                    raise UndecodableFile(source, "the file contains NUL bytes") from None
                _, encoding = decode_bytes(
                    sample if not _is_utf8(sample) else chunk, f"{source} (near byte {offset})"
                )
                return encoding
            offset += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UndecodableFile(source, "the file ends in the middle of a UTF-8 character") from None
    finally:
        binary.seek(0)
    return "utf-8"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sniff_delimiter(header_line: str) -> str:
    """The separator the header uses, of ``,``, ``;`` (Excel in Slovenian) and tab.

    :class:`csv.Sniffer` reads quoted headers too; a header it cannot read (one column, or
    blank) is taken as comma-separated.
    """
    try:
        return csv.Sniffer().sniff(header_line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def read_records(text: IO[str]) -> tuple[str, Iterator[tuple[int, list[str]]]]:
    """The delimiter and (start line, fields) for every record, header first."""
    first = text.readline()
    delimiter = sniff_delimiter(first)

    def lines() -> Iterator[str]:
        yield first
        yield from text

    reader = csv.reader(lines(), delimiter=delimiter, strict=False)

    def records() -> Iterator[tuple[int, list[str]]]:
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise CsvFileError(f"line {start}: {exc}") from None
            except UnicodeDecodeError:
                raise CsvFileError(
                    f"line {start}: the file changes its text encoding here; "
                    "save it as UTF-8 and import it again"
                ) from None
            yield start, fields

    return delimiter, records()


def read_columns(header: list[str], source: str) -> tuple[dict[str, int], list[str]]:
    """Where each known column is, and the header names of the columns that will be ignored."""
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        label = raw.strip().lstrip("\ufeff").strip().lower()
        name = COLUMN_ALIASES.get(label)
        if name is not None and name not in columns:
            columns[name] = index
        elif label and label not in EXPORT_ONLY_COLUMNS:
            ignored.append(raw.strip())
    if "email" not in columns:
        raise CsvFileError(
            f"{source}: line 1 must name the columns and include 'email' "
            f"(found: {', '.join(h.strip() for h in header) or 'nothing'}; "
            "optional: name, language, topics)"
        )
    return columns, ignored


def check_row(
    fields: list[str],
    columns: dict[str, int],
    width: int,
    line: int,
    topics: dict[str, int],
    *,
    utf8_mailboxes: bool = True,
) -> CheckedRow | RowRejection:
    """A row's values checked and normalised, or the reason it cannot be imported.

    ``utf8_mailboxes`` False (the relay does not offer SMTPUTF8) refuses addresses such as
    ``žiga@example.org``, which could never be mailed.
    """

    def value(name: str) -> str:
        index = columns.get(name)
        return (
            from_spreadsheet_cell(fields[index])
            if index is not None and index < len(fields)
            else ""
        )

    raw_email = value("email").strip()
    if len(fields) > width and any(extra.strip() for extra in fields[width:]):
        return RowRejection(
            line,
            raw_email,
            f"{len(fields)} fields but the header names {width}; "
            "put values containing the separator in double quotes",
        )
    try:
        address = parse_address(raw_email)
    except InvalidAddress as exc:
        shown = raw_email.replace("\r", "\\r").replace("\n", "\\n")
        return RowRejection(line, raw_email, f"invalid address {shown!r}: {exc}")
    if mailbox_unreachable(address.email, utf8_mailboxes):
        return RowRejection(line, address.email, NO_UTF8_MAILBOXES)
    name = value("name")
    if "\r" in name or "\n" in name:
        return RowRejection(line, address.email, "the name contains a line break")
    if _CONTROL.search(name):  # NUL and the like: no database stores them, nobody types them
        return RowRejection(line, address.email, "the name contains a control character")
    name = " ".join(name.split())
    if len(name) > 200:
        return RowRejection(line, address.email, "the name is longer than 200 characters")
    language_text = value("language").strip().lower()
    language: str | None = None
    if language_text:
        if language_text not in Language.__members__:
            return RowRejection(
                line, address.email, f"unknown language {language_text!r} (use sl or en)"
            )
        language = language_text
    topic_ids: set[int] = set()
    for slug in _TOPIC_SPLIT.split(value("topics").strip().lower()):
        if not slug:
            continue
        if slug not in topics:
            known = ", ".join(sorted(topics)) or "none"
            return RowRejection(line, address.email, f"unknown topic {slug!r} (known: {known})")
        topic_ids.add(topics[slug])
    return CheckedRow(line, address.email, address.key, address.hash, name, language, topic_ids)


def merge_rows(first: CheckedRow, later: CheckedRow) -> None:
    """A later row for the same address fills in or corrects what it gives; topics add up."""
    if later.name:
        first.name = later.name
    if later.language:
        first.language = later.language
    first.topic_ids |= later.topic_ids
