"""JSON and JSON Lines imports: good items pass, bad items are named by line and reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from publisher.articles.drafts import ParsedSource, TopicRef
from publisher.articles.formats import parse_path, parse_source

TZ = ZoneInfo("Europe/Ljubljana")
DATA = Path(__file__).parent / "data"


def parse_json_text(text: str, name: str = "novice.json") -> ParsedSource:
    return parse_source(text.encode("utf-8"), name, tz=TZ)


def item(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "title": "Naslov",
        "published_at": "2025-03-07",
        "body_text": "Besedilo.",
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def test_one_bad_row_is_rejected_at_its_line_and_the_others_are_imported() -> None:
    parsed = parse_path(DATA / "articles-one-bad-row.json", tz=TZ)

    assert parsed.format == "json"
    assert [draft.title for draft in parsed.drafts] == [
        "Javna razgrnitev prostorskega načrta",
        "Koncert pihalnega orkestra",
    ]
    assert [draft.line for draft in parsed.drafts] == [2, 15]
    [rejection] = parsed.rejections
    assert (rejection.line, rejection.reason) == (10, "missing title")
    assert str(rejection) == f"{DATA / 'articles-one-bad-row.json'}:10: missing title"


def test_json_fields_become_a_sanitised_article() -> None:
    first, second = parse_path(DATA / "articles-one-bad-row.json", tz=TZ).drafts

    assert first.external_id == "json:101"
    assert first.published_at == datetime(2025, 2, 10, tzinfo=TZ)
    assert (
        first.body_text == "Občina vabi k ogledu osnutka načrta.\n\nPripombe zbiramo do 10. marca."
    )
    assert first.body_html == (
        "<p>Občina vabi k ogledu osnutka načrta.</p>\n<p>Pripombe zbiramo do 10. marca.</p>"
    )
    assert first.summary == "Občina vabi k ogledu osnutka načrta."
    assert first.topics == [TopicRef("obcina", "Občina"), TopicRef("promet", "Promet")]
    assert first.url == "https://www.novomesto.si/razgrnitev"

    assert second.published_at == datetime(2025, 3, 7, tzinfo=TZ)
    assert second.body_html == "<p>Vstop je <strong>prost</strong> &amp; brez rezervacij.</p>"
    assert second.body_text == "Vstop je prost & brez rezervacij."
    assert second.image_caption == "Orkester na lanskem koncertu"
    assert second.image_url == "https://www.novomesto.si/orkester.jpg"
    assert second.external_id == "json:koncert-pihalnega-orkestra@2025-03-07"


def test_date_that_is_not_iso_is_rejected_with_an_example() -> None:
    parsed = parse_json_text(json.dumps([item(), item(published_at="prejšnji teden")], indent=2))
    assert len(parsed.drafts) == 1
    [rejection] = parsed.rejections
    assert rejection.reason == (
        "published_at 'prejšnji teden' is not a date (use ISO 8601, e.g. 2025-03-07)"
    )
    assert rejection.line == 7


def test_every_problem_of_an_item_is_reported_at_once() -> None:
    parsed = parse_json_text(json.dumps([{"id": 5}]))
    [rejection] = parsed.rejections
    assert rejection.reason.split("; ") == [
        "missing title",
        "missing published_at (use ISO 8601, e.g. 2025-03-07)",
        "missing body_html or body_text",
    ]


def test_naive_times_are_local_and_explicit_offsets_are_kept() -> None:
    parsed = parse_json_text(
        json.dumps(
            [
                item(id=1, published_at="2025-03-07T10:30:00"),
                item(id=2, published_at="2025-03-07T10:30:00Z"),
                item(id=3, published_at="2025-03-07T10:30:00+02:00"),
            ]
        )
    )
    local, utc, offset = (draft.published_at for draft in parsed.drafts)
    assert local == datetime(2025, 3, 7, 10, 30, tzinfo=TZ)
    assert local.utcoffset() == timedelta(hours=1)
    assert utc == datetime(2025, 3, 7, 10, 30, tzinfo=UTC)
    assert offset.utcoffset() == timedelta(hours=2)
    assert offset.astimezone(UTC).hour == 8


def test_articles_wrapper_object_reports_lines_inside_the_list() -> None:
    text = (
        '{\n  "source": "spletna stran",\n  "articles": [\n'
        '    {"title": "Prva", "published_at": "2025-03-01", "body_text": "Ena."},\n'
        '    {"title": "", "published_at": "2025-03-02", "body_text": "Dva."}\n'
        "  ]\n}\n"
    )
    parsed = parse_json_text(text)
    assert [draft.line for draft in parsed.drafts] == [4]
    [rejection] = parsed.rejections
    assert (rejection.line, rejection.reason) == (5, "title is empty")


def test_single_object_file_is_one_article() -> None:
    parsed = parse_json_text(json.dumps(item(url="https://example.org/a"), indent=2))
    [draft] = parsed.drafts
    assert draft.line == 1
    assert draft.external_id == "url:https://example.org/a"


def test_broken_json_file_is_one_rejection_at_the_broken_line() -> None:
    parsed = parse_json_text('[\n  {"title": "A",\n   "published_at": "2025-03-07"\n  }\n  {}\n]')
    assert parsed.drafts == []
    [rejection] = parsed.rejections
    assert rejection.line == 5
    assert rejection.reason.startswith("not valid JSON: Expecting ','")


def test_json_lines_reject_only_the_broken_line_and_skip_blank_lines() -> None:
    parsed = parse_path(DATA / "articles.jsonl", tz=TZ)

    assert parsed.format == "jsonl"
    assert [(draft.external_id, draft.line) for draft in parsed.drafts] == [
        ("json:a-1", 1),
        ("json:a-2", 2),
        ("json:a-4", 5),
    ]
    [rejection] = parsed.rejections
    assert rejection.line == 4
    assert "not valid JSON" in rejection.reason
    assert parsed.drafts[0].published_at == datetime(2025, 3, 3, 7, tzinfo=TZ)


def test_body_html_is_sanitised_and_wins_over_body_text() -> None:
    parsed = parse_json_text(
        json.dumps(
            [
                item(
                    body_html='<p onclick="x()">Varno</p><script>alert(1)</script>',
                    body_text="Ne to.",
                )
            ]
        )
    )
    [draft] = parsed.drafts
    assert draft.body_html == "<p>Varno</p>"
    assert draft.body_text == "Varno"


def test_body_that_sanitises_to_nothing_is_rejected() -> None:
    parsed = parse_json_text(json.dumps([item(body_html="<script>alert(1)</script>")]))
    [rejection] = parsed.rejections
    assert rejection.reason == "article has no text"


def test_slovenian_date_and_topic_objects_are_accepted() -> None:
    parsed = parse_json_text(
        json.dumps(
            [
                item(
                    published_at="7. 3. 2025",
                    topics=[{"slug": "sport", "name": "Šport"}, "Šport", {"name": "Mladi"}],
                    summary="Kratek povzetek.",
                )
            ]
        )
    )
    [draft] = parsed.drafts
    assert draft.published_at == datetime(2025, 3, 7, tzinfo=TZ)
    assert draft.topics == [TopicRef("sport", "Šport"), TopicRef("mladi", "Mladi")]
    assert draft.summary == "Kratek povzetek."


def test_item_that_is_not_an_object_is_rejected_but_its_neighbours_are_not() -> None:
    parsed = parse_json_text('[\n  "samo besedilo",\n  ' + json.dumps(item()) + "\n]")
    assert len(parsed.drafts) == 1
    [rejection] = parsed.rejections
    assert rejection.line == 2
    assert "not an article object" in rejection.reason
