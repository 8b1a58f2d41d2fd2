"""Hostile article files through the real CLI and the readers: each one is refused in words,
and the files after it are still imported. Entity tricks are refused in every encoding a
feed can name (UTF-8, Shift_JIS, UTF-16, two BOMs), because the bytes feedparser reads are
the ones defusedxml checked."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from publisher.articles.drafts import ParsedSource
from publisher.articles.formats import parse_source
from publisher.articles.formats.feed_import import ENTITIES_REFUSED
from publisher.articles.importing import import_sources
from publisher.articles.store import list_articles
from publisher.cli import app

TZ = ZoneInfo("Europe/Ljubljana")
DATA = Path(__file__).parent / "data"
GOOD = {
    "id": "dober-1",
    "title": "Obnova Glavnega trga",
    "published_at": "2025-03-07",
    "body_text": "Dela se začnejo v ponedeljek.",
}
LAUGHS = (DATA / "billion-laughs.xml").read_text(encoding="utf-8")
XXE = (
    '<?xml version="1.0" encoding="{encoding}"?>\n'
    '<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/hostname">]>\n'
    '<rss version="2.0"><channel><title>Novice</title><item><title>&secret; ニュース</title>'
    "<pubDate>Wed, 05 Mar 2025 16:00:00 +0100</pubDate><description>a</description>"
    "</item></channel></rss>"
)


def laughs(encoding: str) -> str:
    declared = LAUGHS.replace(
        '<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>'
    )
    return declared.replace(
        "<title>&lol9;</title>\n    <item>", "<title>ニュース</title>\n    <item>"
    )


def hostile_feeds() -> dict[str, bytes]:
    """Billion laughs and XXE, each in every encoding the old pre-check could not read."""
    feeds: dict[str, bytes] = {}
    for kind, text in (("laughs", laughs), ("xxe", lambda e: XXE.format(encoding=e))):
        feeds[f"{kind}-utf8.xml"] = text("utf-8").encode("utf-8")
        feeds[f"{kind}-shift-jis.xml"] = text("shift_jis").encode("shift_jis")
        feeds[f"{kind}-utf16.xml"] = text("utf-16").encode("utf-16")
        feeds[f"{kind}-two-boms.xml"] = codecs.BOM_UTF8 * 2 + text("utf-8").encode("utf-8")
    return feeds


def run_import(workdir: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["articles", "import", "uvoz"])
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    assert result.exit_code == 1  # something was rejected, and said so
    listed = runner.invoke(app, ["articles", "list"])
    return result.stdout + "\n" + listed.stdout


def test_a_deeply_nested_json_file_is_refused_and_the_next_file_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    folder = tmp_path / "uvoz"
    folder.mkdir()
    (folder / "a-globoko.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "b-globoko.jsonl").write_text('{"a": 1}\n' + '{"x":' * 50_000 + "1" + "}" * 50_000)
    (folder / "c-dober.json").write_text(json.dumps([GOOD]), encoding="utf-8")
    out = run_import(tmp_path, monkeypatch, database_url)
    assert "a-globoko.json" in out and "nested too deeply" in out
    assert "b-globoko.jsonl" in out
    assert "RecursionError" not in out and "Traceback" not in out
    assert "Obnova Glavnega trga" in out


def test_entity_feeds_in_any_encoding_are_refused_and_the_rest_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    folder = tmp_path / "uvoz"
    folder.mkdir()
    for name, data in hostile_feeds().items():
        (folder / name).write_bytes(data)
    (folder / "zz-dober.json").write_text(json.dumps([GOOD]), encoding="utf-8")
    out = run_import(tmp_path, monkeypatch, database_url)
    assert out.count(ENTITIES_REFUSED) == len(hostile_feeds())
    assert "lollol" not in out and "ニュース" not in out
    assert "Obnova Glavnega trga" in out


@pytest.mark.parametrize("name", sorted(hostile_feeds()))
def test_each_entity_feed_is_refused_by_the_reader(name: str) -> None:
    parsed = parse_source(hostile_feeds()[name], name, tz=TZ)
    assert parsed.drafts == []
    assert [r.reason for r in parsed.rejections] == [ENTITIES_REFUSED]


def test_a_shift_jis_feed_with_two_boms_and_no_entities_still_imports() -> None:
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>ニュース</title><guid>r1</guid>"
        "<pubDate>Sat, 15 Mar 2025 18:00:00 GMT</pubDate><description>市民</description>"
        "</item></channel></rss>"
    )
    [draft] = parse_source(codecs.BOM_UTF8 * 2 + feed.encode(), "two-boms.xml", tz=TZ).drafts
    assert draft.title == "ニュース"


# Whatever the bytes: an import or a rejection in words, never an exception ---------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
ARTICLE_KEYS = st.sampled_from(
    [
        "id",
        "title",
        "published_at",
        "updated_at",
        "body_html",
        "body_text",
        "summary",
        "topics",
        "url",
        "image_url",
        "caption",
        "articles",
    ]
)
ARTICLEISH = st.dictionaries(ARTICLE_KEYS, JSONISH, max_size=8)
FEEDISH = st.builds(
    lambda prefix, title, date, body, tail: (
        f'{prefix}<rss version="2.0"><channel><item><title>{title}</title>'
        f"<pubDate>{date}</pubDate><description>{body}</description></item>{tail}"
    ),
    st.sampled_from(
        ["", '<?xml version="1.0"?>', "\ufeff", '<?xml encoding="shift_jis"?>', "<!DOCTYPE rss>"]
    ),
    st.text(max_size=30),
    st.sampled_from(["Sat, 15 Mar 2025 18:00:00 GMT", "", "yesterday", "Mon, 99 Foo 0000"]),
    st.text(max_size=60),
    st.sampled_from(["</channel></rss>", "", "<item>", "]]>", "&bogus;"]),
)
OFFICEISH = st.builds(
    lambda caption, title, date, body: f"{caption}\n{title}\ndatum: {date}\n{body}\nnazaj",
    st.text(max_size=30),
    st.text(max_size=30),
    st.one_of(
        st.text(max_size=12), st.from_regex(r"\d{1,3}\. ?\d{1,3}\. ?\d{1,5}", fullmatch=True)
    ),
    st.text(max_size=80),
)
ENCODINGS = st.sampled_from(["utf-8", "utf-16", "cp1250", "shift_jis", "utf-8-sig"])


def assert_clear_result(parsed: ParsedSource) -> None:
    assert isinstance(parsed, ParsedSource)
    for rejection in parsed.rejections:
        assert rejection.reason and "Traceback" not in rejection.reason
    assert parsed.drafts or parsed.rejections or parsed.format in {"json", "jsonl"}


@given(st.binary(max_size=2_000))
def test_any_bytes_are_imported_or_refused(data: bytes) -> None:
    assert_clear_result(parse_source(data, "x", tz=TZ))


@given(st.one_of(JSONISH, st.lists(ARTICLEISH, max_size=3), ARTICLEISH))
def test_any_json_is_imported_or_refused(document: object) -> None:
    text = json.dumps(document)
    assert_clear_result(parse_source(text.encode(), "x.json", tz=TZ))
    lines = "\n".join(
        json.dumps(item) for item in (document if isinstance(document, list) else [document])
    )
    assert_clear_result(parse_source(lines.encode(), "x.jsonl", tz=TZ))


@given(st.one_of(FEEDISH, OFFICEISH), ENCODINGS)
def test_any_feed_or_office_export_is_imported_or_refused(text: str, encoding: str) -> None:
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    assert_clear_result(parse_source(data, "x", tz=TZ))


@hypothesis_settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=1, max_value=200_000), st.sampled_from("[{"))
def test_any_depth_of_nesting_is_imported_or_refused(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    inner = opener if opener == "[" else '{"a":'
    text = inner * depth + ("1" if opener == "{" else "") + closer * depth
    assert_clear_result(parse_source(text.encode(), "deep.json", tz=TZ))


def test_control_characters_in_a_file_never_reach_the_database(
    engine: Engine, tmp_path: Path
) -> None:
    """PostgreSQL refuses NUL in text; the importer drops such characters on the way in."""
    folder = tmp_path / "uvoz"
    folder.mkdir()
    (folder / "a.json").write_text(
        json.dumps([{**GOOD, "id": "nul", "title": "Na\x00slov\x07", "summary": "x\x00"}])
    )
    (folder / "b.json").write_text(json.dumps([GOOD]))
    report = import_sources(engine, [str(folder)], tz=TZ)
    assert [source.status for source in report.sources] == ["imported", "imported"]
    with Session(engine) as session:
        assert sorted(a.title for a in list_articles(session)) == [
            "Naslov",
            "Obnova Glavnega trga",
        ]
