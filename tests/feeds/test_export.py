"""``publisher feeds build``: the sample articles as three valid static feeds, newest first."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from publisher.cli import app
from publisher.feeds.models import FeedFormat
from tests.feeds.helpers import load_samples, make_settings
from tests.feeds.validation import check_json_feed, parse_xml_feed

runner = CliRunner()

SEED = """Župan s podžupani na otvoritvi

Odprt prenovljeni most čez Krko

datum: 7. 3. 2025

Most je po dveh letih prenove znova odprt za pešce & kolesarje.
Prenova je stala 1,2 milijona €.
"""


@pytest.fixture
def exported(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLISHER_BASE_URL", "https://novice.test")
    monkeypatch.setenv("PUBLISHER_FEED_ENTRIES", "4")
    assert load_samples(engine, make_settings(database_url)) == 12
    (tmp_path / "most.txt").write_text(SEED, encoding="utf-8")
    assert runner.invoke(app, ["articles", "import", "most.txt"]).exit_code == 0
    result = runner.invoke(app, ["feeds", "build", "--out", "javno"])
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.stdout
    return tmp_path / "javno"


def test_static_export_gives_three_valid_feeds_newest_first_in_slovenian(exported: Path) -> None:
    rss = parse_xml_feed((exported / "rss.xml").read_bytes())
    atom = parse_xml_feed((exported / "atom.xml").read_bytes())
    json_feed = check_json_feed((exported / "feed.json").read_bytes())

    assert rss.feed.language == atom.feed.language == json_feed["language"] == "sl"
    for parsed in (rss, atom):
        dates = [entry.published_parsed for entry in parsed.entries]
        assert dates == sorted(dates, reverse=True) and len(dates) == 4
        assert parsed.entries[0].title == "Pomladni koncert v Narodnem domu"  # 21. 3. 2025
    json_dates = [datetime.fromisoformat(item["date_published"]) for item in json_feed["items"]]
    assert json_dates == sorted(json_dates, reverse=True)
    assert len(json_feed["items"]) == 4


def test_static_export_writes_topics_and_the_whole_archive(exported: Path) -> None:
    for topic in ("promet", "kultura", "okolje", "obcina", "sport"):
        for fmt in FeedFormat:
            assert (exported / "topics" / topic / fmt.value).is_file()
    entries = {}
    for path in [exported / "atom.xml", *sorted(exported.glob("archive/*/atom.xml"))]:
        entries |= {entry.id: entry.title for entry in parse_xml_feed(path.read_bytes()).entries}
    assert len(entries) == 13  # the 12 sample articles and the seed
    assert "Odprt prenovljeni most čez Krko" in entries.values()  # the seed article
    assert not list(exported.rglob("*.part"))
