"""Whatever bytes a CSV holds, the import reports each row or refuses the file in words: it
never stops on an exception (a byte the sniffed encoding cannot read far into the file, a
NUL, a huge field, an unclosed quote)."""

from __future__ import annotations

import codecs
import itertools
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlmodel import Session

from publisher.subscribers.csv_import import CsvImportReport, import_csv
from publisher.subscribers.csv_rows import CsvFileError

WriteFile = Callable[..., Path]
_names = itertools.count()

CELL = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["ana@example.org", "žiga@example.org", "ana@šola.si", "@", "a@b", '"', "\r\n", "\x00"]
    ),
)
ROW = st.lists(CELL, min_size=1, max_size=5)
CSVISH = st.builds(
    lambda header, rows, sep: "\n".join(sep.join(row) for row in [header, *rows]),
    st.sampled_from([["email"], ["email", "name", "language", "topics"], ["e-pošta", "ime"]]),
    st.lists(ROW, max_size=6),
    st.sampled_from([",", ";", "\t"]),
)
ENCODED = st.one_of(
    st.builds(lambda text: text.encode("utf-8", "surrogatepass"), CSVISH),
    st.builds(lambda text: text.encode("cp1250", "replace"), CSVISH),
    st.builds(lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le", "replace"), CSVISH),
    st.builds(lambda text, tail: text.encode() + tail, CSVISH, st.binary(max_size=40)),
    st.binary(max_size=500),
)


def import_or_refusal(session: Session, path: Path) -> CsvImportReport | CsvFileError:
    try:
        return import_csv(session, path, "tedenske-novice")
    except CsvFileError as refused:
        return refused
    finally:
        session.rollback()


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=ENCODED)
def test_any_csv_bytes_are_imported_row_by_row_or_refused_in_words(
    session: Session, write_file: WriteFile, data: bytes
) -> None:
    path = write_file(data, name=f"naslovi-{next(_names)}.csv")
    result = import_or_refusal(session, path)
    if isinstance(result, CsvFileError):
        assert str(result) and "Traceback" not in str(result)
    else:
        assert all(rejection.reason for rejection in result.rejections)


def test_a_byte_the_sniffed_encoding_cannot_read_refuses_the_file_in_words(
    session: Session, write_file: WriteFile
) -> None:
    """Windows-1250 decided from a sample; 0x98, which it lacks, far past the sample."""
    rows = "".join(f"obcan{n}@example.org;Čebular\n" for n in range(5_000))
    data = ("email;name\n" + rows).encode("cp1250") + b"x\x98@example.org;x\n"
    result = import_or_refusal(session, write_file(data))
    assert isinstance(result, CsvFileError)
    assert "encoding" in str(result) and "UnicodeDecodeError" not in str(result)
