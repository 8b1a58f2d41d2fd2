"""The town hall's text export: one article per file, laid out as staff type it.

    [photo caption line(s), perhaps ending "Foto: Name"]
    Title
    datum: 7. 3. 2025
    paragraph
    paragraph
    nazaj

Blank lines (also ones holding only NBSPs, which Word leaves behind) are ignored; every
other line after ``datum:`` is a paragraph; the "nazaj" ("back") link text of the web page
the export came from is dropped.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from publisher.articles.drafts import ArticleDraft, ParsedSource, Rejection
from publisher.articles.sanitize import make_summary, normalise_space, sanitize_html, text_to_html

FORMAT = "office-export"
DATE_HINT = "datum: DD. MM. YYYY"

_DATUM_LINE = re.compile(r"datum\s*:\s*(?P<value>.*)", re.IGNORECASE)
_DATE_VALUE = re.compile(r"(?P<day>\d{1,2})\s*\.\s*(?P<month>\d{1,2})\s*\.\s*(?P<year>\d{4})\s*\.?")
_BACK_LINK = "nazaj"
_CREDIT = re.compile(
    r"(?P<caption>.*?)[\s(]*\b(?:foto(?:grafija)?|photo)\s*:\s*(?P<credit>[^()]+?)\)?\s*",
    re.IGNORECASE,
)


def parse_office_export(text: str, source: str, *, tz: ZoneInfo) -> ParsedSource:
    """Read one exported article; a file that does not fit the layout is one rejection."""
    parsed = ParsedSource(source=source, format=FORMAT)
    parsed.add(_read_article(text, source, tz))
    return parsed


def external_id_for(source: str) -> str:
    """Identity by file base name, so re-importing a file from another folder updates it."""
    base = re.split(r"[\\/]", source)[-1]
    return f"{FORMAT}:{base}"


def _read_article(text: str, source: str, tz: ZoneInfo) -> ArticleDraft | Rejection:
    lines = [
        (number, normalise_space(raw))
        for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1)
    ]
    filled = [(number, line) for number, line in lines if line]

    found = _find_datum(filled)
    if found is None:
        return Rejection(source, None, f"missing '{DATE_HINT}' line; is this an office export?")
    datum_at, datum_value = found
    datum_line = filled[datum_at][0]
    published = _parse_date(datum_value)
    if isinstance(published, str):
        return Rejection(source, datum_line, published)

    if datum_at == 0:
        return Rejection(source, datum_line, "no title above the 'datum:' line")
    title_line, title = filled[datum_at - 1]
    caption, credit = split_credit(" ".join(line for _, line in filled[: datum_at - 1]))

    paragraphs = [line for _, line in filled[datum_at + 1 :]]
    if paragraphs and paragraphs[-1].casefold() == _BACK_LINK:
        paragraphs.pop()
    if not paragraphs:
        return Rejection(source, title_line, "article has no text")

    return ArticleDraft(
        external_id=external_id_for(source),
        title=title,
        published_at=datetime(published.year, published.month, published.day, tzinfo=tz),
        body_html=sanitize_html(text_to_html(paragraphs)),
        body_text="\n\n".join(paragraphs),
        summary=make_summary(paragraphs[0]),
        image_caption=caption,
        image_credit=credit,
        source=source,
        line=title_line,
    )


def split_credit(caption: str) -> tuple[str, str]:
    """A caption and the photo credit at its end: ``"Trg. Foto: Ana Novak"`` is
    ``("Trg.", "Ana Novak")`` (also ``(foto: …)``, ``Fotografija: …``); else no credit.
    A caption that is nothing but ``Fotografija: …`` stays the caption, as it always was."""
    match = _CREDIT.fullmatch(caption)
    if match is None or not match.group("caption").strip():
        return caption, ""
    return match.group("caption").strip(), match.group("credit").strip()


def _find_datum(filled: list[tuple[int, str]]) -> tuple[int, str] | None:
    """Index of the first ``datum:`` line among the non-blank lines, and the text after it."""
    for index, (_, line) in enumerate(filled):
        match = _DATUM_LINE.fullmatch(line)
        if match is not None:
            return index, match.group("value")
    return None


def _parse_date(value: str) -> date | str:
    """The date written after ``datum:``, or the reason it cannot be used."""
    match = _DATE_VALUE.fullmatch(value)
    if match is None:
        return f"datum '{value}' is not a date; write it as '{DATE_HINT}', e.g. 'datum: 7. 3. 2025'"
    day, month, year = (int(match.group(name)) for name in ("day", "month", "year"))
    try:
        return date(year, month, day)
    except ValueError:
        return f"datum '{value}' is not a real date ({day}. {month}. {year} does not exist)"
