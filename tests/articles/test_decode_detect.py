"""Encodings, format detection and the file-level entry points."""

from __future__ import annotations

import codecs
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from publisher.articles.formats import (
    detect_format,
    iter_import_paths,
    parse_path,
    parse_source,
)
from publisher.decoding import UndecodableFile, decode_bytes

TZ = ZoneInfo("Europe/Ljubljana")
DATA = Path(__file__).parent / "data"
SLOVENIAN = "Čebelarji in Šolarji so v Žužemberku čistili, šivali in žagali: ŠŽČ šžč."


def test_windows_1250_text_decodes_to_the_identical_string() -> None:
    text, encoding = decode_bytes(SLOVENIAN.encode("cp1250"), "novica.txt")
    assert text == SLOVENIAN
    assert encoding == "windows-1250"


def test_iso_8859_2_text_is_not_mistaken_for_windows_1250() -> None:
    # š ž Š Ž are the bytes where the two encodings differ; windows-1250 would read "ą ľ © ®".
    text, encoding = decode_bytes(SLOVENIAN.encode("iso-8859-2"), "novica.txt")
    assert text == SLOVENIAN
    assert encoding == "iso-8859-2"


def test_windows_1250_quotes_and_euro_sign_survive() -> None:
    sentence = "Ščitniki so stali 250 € \u2013 „poceni“, je rekel »Žarko«."
    text, encoding = decode_bytes(sentence.encode("cp1250"), "cene.txt")
    assert (text, encoding) == (sentence, "windows-1250")


def test_windows_1250_export_file_imports_with_correct_letters() -> None:
    parsed = parse_path(DATA / "office-cp1250.txt", tz=TZ)
    assert parsed.encoding == "windows-1250"
    [draft] = parsed.drafts
    assert draft.image_caption == "Šolarji čistijo žive meje"
    assert draft.title == "Župan obiskal Osnovno šolo Šmihel"
    price = "Ščitniki za drevesa so stali 250 € \u2013 plačal jih je Žarkov sklad."
    assert price in draft.body_text
    assert "„žvižgajočo“" in draft.body_text


def test_utf8_byte_order_mark_is_removed() -> None:
    text, encoding = decode_bytes(codecs.BOM_UTF8 + SLOVENIAN.encode(), "a.txt")
    assert text == SLOVENIAN
    assert encoding == "utf-8-sig"


def test_utf16_with_byte_order_mark_is_read() -> None:
    text, encoding = decode_bytes(SLOVENIAN.encode("utf-16"), "a.txt")
    assert text == SLOVENIAN
    assert encoding == "utf-16"


def test_binary_file_is_refused_with_advice_to_save_as_utf8() -> None:
    with pytest.raises(UndecodableFile) as caught:
        decode_bytes(bytes(range(256)) * 4, "slika.docx")
    message = str(caught.value)
    assert message.startswith("slika.docx: ")
    assert "save it as UTF-8" in message


def test_undecodable_file_becomes_a_rejection_not_an_exception() -> None:
    parsed = parse_source(bytes(range(256)) * 4, "slika.docx", tz=TZ)
    assert parsed.format == "unknown"
    assert parsed.drafts == []
    [rejection] = parsed.rejections
    assert "save it as UTF-8" in rejection.reason
    assert str(rejection).startswith("slika.docx: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[{"title": "A"}]', "json"),
        ('\ufeff  {\n  "title": "A"\n}', "json"),
        ('{"title": "A"}\n{"title": "B"}\n', "jsonl"),
        ('{"title": "A"}\n{"title": "B"\n{"title": "C"}\n', "jsonl"),
        ('<?xml version="1.0"?>\n<!-- <html> -->\n<rss version="2.0"></rss>', "feed"),
        ('<feed xmlns="http://www.w3.org/2005/Atom"></feed>', "feed"),
        ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="x"></rdf:RDF>', "feed"),
        ('<!DOCTYPE rss [<!ENTITY a "b">]><rss></rss>', "feed"),
        ("<!DOCTYPE html><html><body>Novica</body></html>", "unknown"),
        ("Naslov\ndatum: 7. 3. 2025\nBesedilo", "office-export"),
    ],
)
def test_format_is_detected_from_content(text: str, expected: str) -> None:
    assert detect_format(text, "datoteka.txt") == expected


def test_file_extension_does_not_decide_the_format() -> None:
    assert detect_format("Naslov\ndatum: 7. 3. 2025\nBesedilo", "novice.json") == "office-export"
    assert detect_format('[{"title": "A"}]', "novice.txt") == "json"


def test_html_page_is_rejected_as_not_a_feed() -> None:
    parsed = parse_source(b"<!DOCTYPE html><html><body>Novica</body></html>", "a.html", tz=TZ)
    assert parsed.format == "unknown"
    assert "not an RSS or Atom feed" in parsed.rejections[0].reason


def test_empty_file_is_rejected_as_empty() -> None:
    parsed = parse_source(b"\xef\xbb\xbf \r\n\xc2\xa0\n", "prazna.txt", tz=TZ)
    assert [r.reason for r in parsed.rejections] == ["the file is empty"]


def test_folders_expand_to_sorted_visible_files_and_named_files_are_kept(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("x", encoding="utf-8")
    (tmp_path / "a.json").write_text("x", encoding="utf-8")
    (tmp_path / "mapa").mkdir()
    (tmp_path / "mapa" / "c.txt").write_text("x", encoding="utf-8")
    (tmp_path / ".skrito.txt").write_text("x", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x", encoding="utf-8")
    missing = tmp_path / "ni-je.txt"

    found = iter_import_paths([tmp_path, missing])

    assert found == [tmp_path / "a.json", tmp_path / "b.txt", tmp_path / "mapa" / "c.txt", missing]


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    parsed = parse_path(tmp_path / "ni-je.txt", tz=TZ)
    assert [str(r) for r in parsed.rejections] == [f"{tmp_path / 'ni-je.txt'}: no such file"]


def test_file_over_20_mb_is_rejected_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "velika.txt"
    with huge.open("wb") as handle:
        handle.truncate(20_000_001)  # sparse: costs no disk space
    parsed = parse_path(huge, tz=TZ)
    [rejection] = parsed.rejections
    assert "at most 20 MB" in rejection.reason


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    # A symlink loop fails to read for every user, root included (unlike chmod 0).
    looping = tmp_path / "zaklenjena.txt"
    looping.symlink_to(looping)
    parsed = parse_path(looping, tz=TZ)
    [rejection] = parsed.rejections
    assert "cannot read the file" in rejection.reason
    assert "symbolic links" in rejection.reason
