"""The town hall's text export, as staff actually produce it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from publisher.articles.drafts import ParsedSource, TopicRef
from publisher.articles.formats import parse_path, parse_source

TZ = ZoneInfo("Europe/Ljubljana")
DATA = Path(__file__).parent / "data"

# The layout of a real export from the town hall's web site, with our own text: caption,
# blank lines between all lines, a paragraph ending in an NBSP, an "NBSP + space" run inside
# a paragraph, NBSP-only lines at the end and a final "nazaj" without a newline.
REAL_LAYOUT = (
    "Udeleženci srečanja pred mestno hišo\n"
    "\n"
    "Novo mesto gostilo srečanje partnerskih mest\n"
    "\n"
    "datum: 07. 03. 2025\n"
    "\n"
    "V začetku marca so se v Novem mestu zbrali predstavniki petih partnerskih mest, "
    "s katerimi občina sodeluje pri projektih „Zeleno mesto“ in »Mesto za mlade«.\n"
    "\n"
    "Gostitelji so goste popeljali po obnovljenem mestnem jedru in jim predstavili načrte "
    "za prihodnje leto.\xa0\n"
    "\n"
    "Udeleženci so izrazili zadovoljstvo nad\xa0 dobro pripravljenim programom.\n"
    "\n"
    "Srečanje se bo prihodnje leto nadaljevalo v enem od partnerskih mest.\n"
    "\n"
    "\xa0\n"
    "\n"
    "\xa0\n"
    "\n"
    "nazaj"
)


def parse_text(text: str, name: str = "novica.txt") -> ParsedSource:
    return parse_source(text.encode("utf-8"), name, tz=TZ)


def test_real_export_layout_yields_caption_title_date_and_four_paragraphs() -> None:
    parsed = parse_source(REAL_LAYOUT.encode("utf-8"), "srecanje.txt", tz=TZ)

    assert parsed.format == "office-export"
    assert parsed.rejections == []
    [draft] = parsed.drafts
    assert draft.image_caption == "Udeleženci srečanja pred mestno hišo"
    assert draft.title == "Novo mesto gostilo srečanje partnerskih mest"
    assert draft.published_at == datetime(2025, 3, 7, tzinfo=TZ)
    paragraphs = draft.body_text.split("\n\n")
    assert len(paragraphs) == 4
    assert paragraphs[1].endswith("za prihodnje leto.")
    assert "zadovoljstvo nad dobro" in paragraphs[2]
    assert paragraphs[-1] == "Srečanje se bo prihodnje leto nadaljevalo v enem od partnerskih mest."
    assert draft.body_html.count("<p>") == 4
    assert "nazaj" not in draft.body_html
    assert "„Zeleno mesto“ in »Mesto za mlade«" in draft.body_html
    assert draft.line == 3


def test_windows_line_endings_read_like_unix_ones() -> None:
    parsed = parse_source(REAL_LAYOUT.replace("\n", "\r\n").encode("utf-8"), "a.txt", tz=TZ)
    [draft] = parsed.drafts
    assert len(draft.body_text.split("\n\n")) == 4
    assert draft.line == 3


def test_published_at_is_local_midnight_in_winter_and_in_summer() -> None:
    winter = parse_source(REAL_LAYOUT.encode(), "a.txt", tz=TZ).drafts[0].published_at
    summer_text = REAL_LAYOUT.replace("datum: 07. 03. 2025", "datum: 1. 7. 2025")
    summer = parse_source(summer_text.encode(), "a.txt", tz=TZ).drafts[0].published_at

    assert winter.utcoffset() == timedelta(hours=1)
    assert winter.astimezone(UTC) == datetime(2025, 3, 6, 23, 0, tzinfo=UTC)
    assert summer.utcoffset() == timedelta(hours=2)
    assert (summer.hour, summer.minute) == (0, 0)


def test_export_without_caption_has_an_empty_caption() -> None:
    [draft] = parse_path(DATA / "office-no-caption.txt", tz=TZ).drafts
    assert draft.image_caption == ""
    assert draft.title == "Nova ura obiskov v sprejemni pisarni"
    assert draft.published_at == datetime(2025, 2, 3, tzinfo=TZ)
    assert draft.body_text == (
        "Sprejemna pisarna občine bo od februarja odprta tudi ob sredah popoldne, do 17. ure."
        "\n\nZa obisk se ni treba predhodno naročiti."
    )
    assert draft.line == 1


def test_one_digit_day_and_month_and_capitalised_datum_without_spaces() -> None:
    [draft] = parse_path(DATA / "office-short-date.txt", tz=TZ).drafts
    assert draft.published_at == datetime(2025, 3, 7, tzinfo=TZ)
    assert draft.body_text == (
        "Vzdrževalci cest bodo ob sneženju najprej očistili glavne ceste, nato še kolesarske steze."
    )


def test_markup_characters_in_title_stay_literal_and_are_escaped_in_the_body() -> None:
    [draft] = parse_path(DATA / "office-markup-title.txt", tz=TZ).drafts
    assert draft.title == "Občina & KS <Bršljin> „Čisto mesto“"
    assert draft.body_html == (
        "<p>Krajevna skupnost Bršljin &amp; občina vabita na &lt;b&gt;čistilno&lt;/b&gt; "
        "akcijo „Čisto mesto“.</p>"
    )
    assert draft.body_text.startswith("Krajevna skupnost Bršljin & občina")


def test_long_article_keeps_every_paragraph_and_gets_a_short_summary() -> None:
    [draft] = parse_path(DATA / "office-long.txt", tz=TZ).drafts
    paragraphs = draft.body_text.split("\n\n")
    assert len(paragraphs) == 12
    assert paragraphs[-1] == "Odstavek 12: podrobnosti o 12. odseku poti."
    assert len(draft.summary) <= 280
    assert draft.summary.endswith("…")
    assert paragraphs[0].startswith(draft.summary.removesuffix("…"))


def test_file_without_datum_line_is_rejected_with_the_expected_layout() -> None:
    parsed = parse_path(DATA / "office-no-date.txt", tz=TZ)
    assert parsed.drafts == []
    [rejection] = parsed.rejections
    assert rejection.line is None
    assert "missing 'datum: DD. MM. YYYY' line" in rejection.reason
    assert str(rejection).startswith(str(DATA / "office-no-date.txt"))


def test_impossible_date_is_rejected_at_its_line() -> None:
    parsed = parse_text("Naslov\n\ndatum: 32. 13. 2025\n\nBesedilo.\n")
    assert parsed.drafts == []
    [rejection] = parsed.rejections
    assert rejection.line == 3
    assert "32. 13. 2025" in rejection.reason


def test_datum_that_is_not_a_date_is_rejected_with_an_example() -> None:
    [rejection] = parse_text("Naslov\ndatum: sedmega marca\nBesedilo.\n").rejections
    assert rejection.line == 2
    assert "datum: 7. 3. 2025" in rejection.reason


def test_export_without_title_is_rejected() -> None:
    [rejection] = parse_text("\xa0\ndatum: 7. 3. 2025\nBesedilo.\n").rejections
    assert rejection.line == 2
    assert "no title" in rejection.reason


def test_export_with_only_nazaj_after_the_date_has_no_text() -> None:
    parsed = parse_text("Naslov\n\ndatum: 7. 3. 2025\n\n\xa0\n\nNAZAJ\n")
    [rejection] = parsed.rejections
    assert rejection.reason == "article has no text"
    assert rejection.line == 1


def test_nazaj_inside_the_text_is_kept() -> None:
    [draft] = parse_text("Naslov\ndatum: 7. 3. 2025\nnazaj\nPotem besedilo.\n").drafts
    assert draft.body_text == "nazaj\n\nPotem besedilo."


def test_several_caption_lines_are_joined_into_one_caption() -> None:
    text = "Fotografija:\nArhiv občine\nNaslov\ndatum: 7. 3. 2025\nBesedilo.\n"
    [draft] = parse_text(text).drafts
    assert draft.image_caption == "Fotografija: Arhiv občine"
    assert draft.title == "Naslov"
    assert draft.line == 3


def test_same_file_name_in_another_folder_gets_the_same_identity(tmp_path: Path) -> None:
    first, second = tmp_path / "januar", tmp_path / "arhiv"
    for folder in (first, second):
        folder.mkdir()
        (folder / "obnova.txt").write_text(REAL_LAYOUT, encoding="utf-8")
    one = parse_path(first / "obnova.txt", tz=TZ).drafts[0]
    two = parse_path(second / "obnova.txt", tz=TZ).drafts[0]
    assert one.external_id == two.external_id == "office-export:obnova.txt"
    assert one.source != two.source


def test_added_topics_come_after_the_articles_own_and_never_twice() -> None:
    [draft] = parse_source(REAL_LAYOUT.encode(), "a.txt", tz=TZ).drafts
    assert draft.topics == []  # an office export names none
    draft.add_topics([TopicRef("obcina", "Občina"), TopicRef("promet", "Promet")])
    draft.add_topics([TopicRef("promet", "Promet"), TopicRef("sport\x1b", "Šport\x07")])
    assert draft.topics == [
        TopicRef("obcina", "Občina"),
        TopicRef("promet", "Promet"),
        TopicRef("sport", "Šport"),  # cleaned like the draft's own text
    ]


def test_summary_is_the_first_paragraph() -> None:
    [draft] = parse_source(REAL_LAYOUT.encode(), "a.txt", tz=TZ).drafts
    assert draft.summary == draft.body_text.split("\n\n")[0]
