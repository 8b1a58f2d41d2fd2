"""Import subscribers from a spreadsheet's CSV export, streaming, in set-based batches.

The file is read and each row checked by :mod:`publisher.subscribers.csv_rows`, and written a
batch at a time by :mod:`publisher.subscribers.csv_batches`; this module runs the two and keeps
the report. Every bad row is reported with the line it starts on and the reason, and the rest
import. Each address in the file has one outcome (added, updated, unchanged, or skipped because
it is suppressed or unsubscribed from the list); any further row for the same address is
merged into the first, counted as ``merged``, never doubled.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from publisher.decoding import UndecodableFile
from publisher.subscribers.csv_batches import BATCH_SIZE, BatchWriter, RowOutcome
from publisher.subscribers.csv_rows import (
    CheckedRow,
    CsvFileError,
    RowRejection,
    check_row,
    merge_rows,
    read_columns,
    read_records,
    sniff_encoding,
)
from publisher.subscribers.lists import get_list


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


def import_csv(
    session: Session,
    path: Path,
    list_slug: str,
    *,
    confirmed: bool = False,
    batch_size: int = BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
    utf8_mailboxes: bool = True,
) -> CsvImportReport:
    """Import a CSV file of subscribers into a list, within the caller's transaction.

    Without ``confirmed`` new subscriptions are ``pending`` until their owners confirm; with
    it they are confirmed at once and each gets a consent record naming the staff import and
    the file. Commit to keep the result, roll back for a dry run: the counts are the same.
    ``utf8_mailboxes=False`` (the relay lacks SMTPUTF8) rejects rows like ``žiga@example.org``.
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
        report.delimiter, records = read_records(text)
        _, header = next(records, (1, []))
        if not any(label.strip() for label in header):
            raise CsvFileError(f"{path}: the file is empty or its first line is blank")
        columns, report.ignored_columns = read_columns(header, str(path))
        writer = BatchWriter(session, mailing_list.id, mailing_list.language, confirmed, path)
        try:
            batch: dict[str, CheckedRow] = {}
            for line, fields in records:
                if not any(value.strip() for value in fields):
                    continue  # blank lines between records
                report.rows += 1
                row = check_row(
                    fields,
                    columns,
                    len(header),
                    line,
                    writer.topics,
                    utf8_mailboxes=utf8_mailboxes,
                )
                if isinstance(row, RowRejection):
                    report.rejections.append(row)
                    report.counts[RowOutcome.rejected] += 1
                    continue
                earlier = batch.get(row.key)
                if earlier is None:
                    batch[row.key] = row
                else:
                    merge_rows(earlier, row)
                    report.counts[RowOutcome.merged] += 1
                if len(batch) >= batch_size:
                    report.counts.update(writer.write(batch))
                    batch = {}
                    if on_progress:
                        on_progress(report.rows, binary.tell(), size)
            if batch:
                report.counts.update(writer.write(batch))
        finally:
            writer.close()  # also when the file is refused half-way (see BatchWriter)
        if on_progress:
            on_progress(report.rows, size, size)
        text.detach()
    return report
