"""Import subscribers from a spreadsheet's CSV export, streaming, in set-based batches.

What staff bring is a file saved from Excel or LibreOffice: UTF-8 with or without a BOM, or
Windows-1250; ``,`` or ``;`` between fields; quoted names with commas and line breaks. The
file is read once to tell its encoding (without holding it), then streamed through the csv
module; rows are checked one by one and written a batch at a time with a handful of
set-based statements (``INSERT ... ON CONFLICT DO NOTHING`` on both databases), so memory
stays flat however long the file is and 100,000 rows take seconds, not minutes.

Every bad row is reported with the line it starts on and the reason, and the rest import.
Each address in the file has one outcome (added, updated, unchanged, or skipped because it
is suppressed or unsubscribed from the list); any further row for the same address is
merged into the first, counted as ``merged``, never doubled. Line numbers are physical lines
where the record starts, counting CR, LF and CRLF each as a line break, as editors show them.
"""

from __future__ import annotations

import codecs
import csv
import enum
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    Column,
    MetaData,
    String,
    Table,
    any_,
    bindparam,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from publisher.articles.formats.detect import UndecodableFile, decode_bytes
from publisher.articles.models import Topic
from publisher.db import utcnow
from publisher.subscribers.addresses import InvalidAddress, parse_address
from publisher.subscribers.lists import get_list
from publisher.subscribers.models import (
    Consent,
    Language,
    Source,
    Subscriber,
    SubscriberTopic,
    Subscription,
    SubscriptionStatus,
    Suppression,
)

BATCH_SIZE = 1000
"""Rows per set of statements: large enough to amortise round trips, small enough that the
``IN (...)`` lists stay well under SQLite's and PostgreSQL's parameter limits."""

_CHUNK = 1 << 20
_SAMPLE = 64 * 1024
_TOPIC_SPLIT = re.compile(r"[\s,;|]+")

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

SUBSCRIBER: Table = Subscriber.__table__  # type: ignore[attr-defined]
SUBSCRIPTION: Table = Subscription.__table__  # type: ignore[attr-defined]
SUBSCRIBER_TOPIC: Table = SubscriberTopic.__table__  # type: ignore[attr-defined]
CONSENT: Table = Consent.__table__  # type: ignore[attr-defined]
SUPPRESSION: Table = Suppression.__table__  # type: ignore[attr-defined]


class RowOutcome(enum.StrEnum):
    added = "added"
    updated = "updated"
    unchanged = "unchanged"
    merged = "merged"
    suppressed = "skipped (suppressed)"
    unsubscribed = "skipped (unsubscribed)"
    rejected = "rejected"


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
class CsvImportReport:
    """What an import did, row by row in counts, and every rejected row with its line."""

    source: str
    list_slug: str
    encoding: str = "utf-8"
    delimiter: str = ","
    rows: int = 0
    counts: Counter[RowOutcome] = field(default_factory=Counter)
    rejections: list[RowRejection] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejections


ProgressCallback = Callable[[int, int, int], None]
"""Called after each batch with (rows read, bytes read, file size in bytes)."""


@dataclass
class _Row:
    line: int
    email: str
    key: str
    hash: str
    name: str
    language: str | None
    topic_ids: set[int]


# Reading the file --------------------------------------------------------------------------


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
    """``;`` when the header has more of them than commas (Excel in Slovenian), tab likewise."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records(text: IO[str]) -> tuple[str, Iterator[tuple[int, list[str]]]]:
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
            yield start, fields

    return delimiter, records()


# Importing ---------------------------------------------------------------------------------


def import_csv(
    session: Session,
    path: Path,
    list_slug: str,
    *,
    confirmed: bool = False,
    batch_size: int = BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> CsvImportReport:
    """Import a CSV file of subscribers into a list, within the caller's transaction.

    Without ``confirmed`` new subscriptions are ``pending`` until their owners confirm; with
    it they are confirmed at once and each gets a consent record naming the staff import and
    the file. Commit to keep the result, roll back for a dry run: the counts are the same.
    """
    mailing_list = get_list(session, list_slug)
    report = CsvImportReport(source=str(path), list_slug=list_slug)
    size = path.stat().st_size
    with path.open("rb") as binary:
        try:
            report.encoding = sniff_encoding(binary, str(path))
        except UndecodableFile as exc:
            raise CsvFileError(str(exc)) from None
        text = io.TextIOWrapper(binary, encoding=report.encoding, newline="")
        report.delimiter, records = _records(text)
        _, header = next(records, (1, []))
        if not any(label.strip() for label in header):
            raise CsvFileError(f"{path}: the file is empty or its first line is blank")
        columns = _columns(header, report)
        writer = _BatchWriter(session, mailing_list.id, mailing_list.language, confirmed, path)
        batch: dict[str, _Row] = {}
        for line, fields in records:
            if not any(value.strip() for value in fields):
                continue  # blank lines between records
            report.rows += 1
            row = _check_row(fields, columns, len(header), line, writer.topics)
            if isinstance(row, RowRejection):
                report.rejections.append(row)
                report.counts[RowOutcome.rejected] += 1
                continue
            earlier = batch.get(row.key)
            if earlier is None:
                batch[row.key] = row
            else:
                _merge(earlier, row)
                report.counts[RowOutcome.merged] += 1
            if len(batch) >= batch_size:
                writer.write(batch, report)
                batch = {}
                if on_progress:
                    on_progress(report.rows, binary.tell(), size)
        if batch:
            writer.write(batch, report)
        writer.close()
        if on_progress:
            on_progress(report.rows, size, size)
        text.detach()
    return report


def _columns(header: list[str], report: CsvImportReport) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        label = raw.strip().lstrip("\ufeff").strip().lower()
        name = COLUMN_ALIASES.get(label)
        if name is not None and name not in columns:
            columns[name] = index
        elif label and label not in EXPORT_ONLY_COLUMNS:
            report.ignored_columns.append(raw.strip())
    if "email" not in columns:
        raise CsvFileError(
            f"{report.source}: line 1 must name the columns and include 'email' "
            f"(found: {', '.join(h.strip() for h in header) or 'nothing'}; "
            "optional: name, language, topics)"
        )
    return columns


def _check_row(
    fields: list[str], columns: dict[str, int], width: int, line: int, topics: dict[str, int]
) -> _Row | RowRejection:
    """A row's values checked and normalised, or the reason it cannot be imported."""

    def value(name: str) -> str:
        index = columns.get(name)
        return fields[index] if index is not None and index < len(fields) else ""

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
    name = value("name")
    if "\r" in name or "\n" in name:
        return RowRejection(line, address.email, "the name contains a line break")
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
    return _Row(line, address.email, address.key, address.hash, name, language, topic_ids)


def _merge(first: _Row, later: _Row) -> None:
    """A later row for the same address fills in or corrects what it gives; topics add up."""
    if later.name:
        first.name = later.name
    if later.language:
        first.language = later.language
    first.topic_ids |= later.topic_ids


def _seen_table(session: Session) -> Table:
    """A temporary table of the addresses this import has met (by hash), so a later row for
    one of them is known as a duplicate however far apart the rows are, without holding every
    address of the file in memory. It lives in the import's transaction only."""
    schema = "pg_temp" if session.get_bind().dialect.name == "postgresql" else "temp"
    return Table(
        "publisher_import_seen",
        MetaData(),
        Column("address_hash", String(64), primary_key=True),
        schema=schema,
    )


class _BatchWriter:
    """Writes one batch of checked rows with a fixed number of set-based statements.

    Inserts carry ``RETURNING`` so SQLAlchemy sends them as multi-row ``INSERT ... VALUES``
    ("insertmanyvalues") instead of one statement per row, on both databases.
    """

    def __init__(
        self,
        session: Session,
        list_id: int | None,
        list_language: str,
        confirmed: bool,
        path: Path,
    ) -> None:
        assert list_id is not None
        self.session = session
        self.list_id = list_id
        self.list_language = str(list_language)
        self.confirmed = confirmed
        self.evidence = f"staff import of {path.name} with --confirmed"
        self.topics: dict[str, int] = {
            slug: tid for tid, slug in session.execute(select(Topic.id, Topic.slug))
        }
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.seen = _seen_table(session)
        self.seen.create(session.connection())

    def close(self) -> None:
        self.seen.drop(self.session.connection())

    def _among(self, column: Any, values: list[Any]) -> Any:
        """``column IN (values)``; on PostgreSQL ``= ANY(array)``, one parameter not 1,000."""
        if self.postgres:
            return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
        return column.in_(values)

    def _insert_many(
        self,
        table: Table,
        columns: dict[str, list[Any]],
        constants: dict[str, Any],
        keys: list[str],
        *returning: Any,
    ) -> list[Any]:
        """Insert rows given column-wise, skipping conflicts on ``keys``, in one statement.

        PostgreSQL gets ``INSERT ... SELECT FROM unnest(array, ...)``: one parameter per
        column however many rows. SQLite gets an executemany with ``RETURNING``, which
        SQLAlchemy sends as multi-row ``VALUES`` (its "insertmanyvalues").
        """
        names = list(columns)
        if not columns[names[0]]:
            return []
        if self.postgres:
            unnested = (
                func.unnest(
                    *[
                        bindparam(None, columns[name], type_=ARRAY(table.c[name].type))
                        for name in names
                    ]
                )
                .table_valued(*names)
                .render_derived()
            )
            source = select(
                *[unnested.c[name] for name in names],
                *[
                    literal(value, type_=table.c[name].type).label(name)
                    for name, value in constants.items()
                ],
            )
            statement = postgresql.insert(table).from_select([*names, *constants], source)
            statement = statement.on_conflict_do_nothing(index_elements=keys).returning(*returning)
            return list(self.session.execute(statement).all())
        rows = [
            dict(zip(names, values, strict=True), **constants)
            for values in zip(*columns.values(), strict=True)
        ]
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
        return list(self.session.execute(statement.returning(*returning), rows).all())

    def write(self, batch: dict[str, _Row], report: CsvImportReport) -> None:
        session = self.session
        now = utcnow()
        rows = list(batch.values())
        hashes = [r.hash for r in rows]
        met_before = set(
            session.execute(
                select(self.seen.c.address_hash).where(
                    self._among(self.seen.c.address_hash, hashes)
                )
            ).scalars()
        )
        self._insert_many(
            self.seen,
            {"address_hash": [h for h in hashes if h not in met_before]},
            {},
            ["address_hash"],
            self.seen.c.address_hash,
        )
        suppressed = set(
            session.execute(
                select(SUPPRESSION.c.address_hash).where(
                    self._among(SUPPRESSION.c.address_hash, hashes)
                )
            ).scalars()
        )
        existing = {
            key: (sid, name, language, sub_id, status)
            for key, sid, name, language, sub_id, status in session.execute(
                select(
                    SUBSCRIBER.c.email_key,
                    SUBSCRIBER.c.id,
                    SUBSCRIBER.c.name,
                    SUBSCRIBER.c.language,
                    SUBSCRIPTION.c.id,
                    SUBSCRIPTION.c.status,
                )
                .outerjoin(
                    SUBSCRIPTION,
                    (SUBSCRIPTION.c.subscriber_id == SUBSCRIBER.c.id)
                    & (SUBSCRIPTION.c.list_id == self.list_id),
                )
                .where(self._among(SUBSCRIBER.c.email_key, list(batch)))
            )
        }
        chosen: set[tuple[int, int]] = set()
        known_ids = [value[0] for value in existing.values()]
        if known_ids and any(r.topic_ids for r in rows):
            chosen = {
                (sid, tid)
                for sid, tid in session.execute(
                    select(SUBSCRIBER_TOPIC.c.subscriber_id, SUBSCRIBER_TOPIC.c.topic_id).where(
                        self._among(SUBSCRIBER_TOPIC.c.subscriber_id, known_ids)
                    )
                )
            }

        new_people: list[_Row] = []
        changed_people: list[dict[str, Any]] = []
        to_confirm: list[int] = []
        live: list[_Row] = []  # rows whose subscriber gets or keeps a subscription
        for row in rows:
            outcome = self._classify(
                row, existing.get(row.key), row.hash in suppressed, chosen, now,
                new_people, changed_people, to_confirm,
            )  # fmt: skip
            if outcome in (RowOutcome.added, RowOutcome.updated, RowOutcome.unchanged):
                live.append(row)
            report.counts[RowOutcome.merged if row.hash in met_before else outcome] += 1

        ids = dict(
            self._insert_many(
                SUBSCRIBER,
                {
                    "email": [r.email for r in new_people],
                    "email_key": [r.key for r in new_people],
                    "address_hash": [r.hash for r in new_people],
                    "name": [r.name for r in new_people],
                    "language": [r.language or self.list_language for r in new_people],
                },
                {"created_at": now, "updated_at": now},
                ["email_key"],
                SUBSCRIBER.c.email_key,
                SUBSCRIBER.c.id,
            )
        )
        if changed_people:
            session.execute(
                update(SUBSCRIBER)
                .where(SUBSCRIBER.c.id == bindparam("b_id"))
                .values(
                    name=bindparam("b_name"),
                    language=bindparam("b_language"),
                    updated_at=bindparam("b_now", type_=SUBSCRIBER.c.updated_at.type),
                ),
                changed_people,
            )
        for key, found in existing.items():
            ids[key] = found[0]
        missing = [r.key for r in live if r.key not in ids]
        if missing:  # added meanwhile by someone else (the insert skipped them): look them up
            for key, sid in session.execute(
                select(SUBSCRIBER.c.email_key, SUBSCRIBER.c.id).where(
                    self._among(SUBSCRIBER.c.email_key, missing)
                )
            ):
                ids[key] = sid
        status = SubscriptionStatus.confirmed if self.confirmed else SubscriptionStatus.pending
        subscribed = self._insert_many(
            SUBSCRIPTION,
            {
                "subscriber_id": [
                    ids[row.key]
                    for row in live
                    if (found := existing.get(row.key)) is None or found[3] is None
                ]
            },
            {
                "list_id": self.list_id,
                "status": str(status),
                "source": str(Source.import_),
                "created_at": now,
                "updated_at": now,
                "confirmed_at": now if self.confirmed else None,
            },
            ["subscriber_id", "list_id"],
            SUBSCRIPTION.c.subscriber_id,
        )
        consenting = [sid for (sid,) in subscribed]
        if to_confirm:
            consenting += (
                session.execute(
                    update(SUBSCRIPTION)
                    .where(self._among(SUBSCRIPTION.c.id, to_confirm))
                    .values(
                        status=str(SubscriptionStatus.confirmed), confirmed_at=now, updated_at=now
                    )
                    .returning(SUBSCRIPTION.c.subscriber_id)
                )
                .scalars()
                .all()
            )
        if self.confirmed:
            self._insert_many(
                CONSENT,
                {"subscriber_id": consenting},
                {
                    "list_id": self.list_id,
                    "given_at": now,
                    "source": str(Source.import_),
                    "wording_version": "",
                    "evidence": self.evidence,
                },
                ["id"],
                CONSENT.c.id,
            )
        links = [
            (ids[row.key], tid)
            for row in live
            for tid in row.topic_ids
            if (ids[row.key], tid) not in chosen
        ]
        self._insert_many(
            SUBSCRIBER_TOPIC,
            {"subscriber_id": [sid for sid, _ in links], "topic_id": [tid for _, tid in links]},
            {},
            ["subscriber_id", "topic_id"],
            SUBSCRIBER_TOPIC.c.subscriber_id,
        )

    def _classify(
        self,
        row: _Row,
        found: tuple[int, str, str, int | None, str | None] | None,
        suppressed: bool,
        chosen: set[tuple[int, int]],
        now: datetime,
        new_people: list[_Row],
        changed_people: list[dict[str, Any]],
        to_confirm: list[int],
    ) -> RowOutcome:
        """Decide what one row does, queueing its writes; staff never override a refusal."""
        if suppressed:
            return RowOutcome.suppressed
        if found is None:
            new_people.append(row)
            return RowOutcome.added
        sid, name, language, sub_id, status = found
        if status == SubscriptionStatus.unsubscribed:
            return RowOutcome.unsubscribed
        changed = False
        new_name, new_language = row.name or name, row.language or language
        if (new_name, new_language) != (name, language):
            changed_people.append(
                {"b_id": sid, "b_name": new_name, "b_language": new_language, "b_now": now}
            )
            changed = True
        if any((sid, tid) not in chosen for tid in row.topic_ids):
            changed = True
        if sub_id is None:
            return RowOutcome.added
        if self.confirmed and status == SubscriptionStatus.pending:
            to_confirm.append(sub_id)
            changed = True
        return RowOutcome.updated if changed else RowOutcome.unchanged
