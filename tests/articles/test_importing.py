"""Importing many sources: each is reported, bad ones never stop the rest, re-imports are safe."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.articles.drafts import TopicRef
from publisher.articles.formats import FetchPolicy
from publisher.articles.importing import import_sources
from publisher.articles.models import Article
from publisher.articles.store import SaveOutcome, get_article, list_articles

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
NBSP = "\xa0"


def write_export(
    folder: Path,
    name: str,
    *,
    title: str,
    date: str,
    paragraphs: list[str],
    caption: str | None = None,
    encoding: str = "utf-8",
) -> Path:
    """A file in the news office's export format, with its blank and NBSP-only lines."""
    lines = ([caption, ""] if caption else []) + [title, "", f"datum: {date}", ""]
    for paragraph in paragraphs:
        lines += [paragraph, ""]
    lines += [NBSP, "", "nazaj"]
    path = folder / name
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "izvoz"
    (folder / "marec").mkdir(parents=True)
    write_export(
        folder,
        "kolesarska-steza.txt",
        caption="Nova kolesarska steza ob Krki",
        title="Odprta nova kolesarska steza ob Krki",
        date="3. 3. 2025",
        paragraphs=["Steza povezuje Loko in Ragov log.", "Dolga je 2,4 kilometra."],
    )
    write_export(
        folder / "marec",
        "knjiznica.txt",
        title="Knjižnica „Mirana Jarca“ podaljšuje odpiralni čas & vabi",
        date="10. 03. 2025",
        paragraphs=["Ob sobotah bo odprta do 17. ure."],
    )
    (folder / "pokvarjen.txt").write_text(
        "Naslov brez datuma\n\nBesedilo brez vrstice z datumom.\n", encoding="utf-8"
    )
    write_export(
        folder,
        "sejem-1250.txt",
        title="Sejem domače obrti na Glavnem trgu",
        date="14. 3. 2025",
        paragraphs=["Šivilje, žagarji in čebelarji bodo predstavili svoje izdelke."],
        encoding="cp1250",
    )
    rows = [
        {
            "id": "n-1",
            "title": "Zapora Ljubljanske ceste",
            "published_at": "2025-03-05",
            "body_text": "Zapora bo trajala en teden.",
            "topics": ["Promet"],
        },
        {"id": "n-2", "title": "", "published_at": "2025-03-06", "body_text": "Brez naslova."},
        {
            "id": "n-3",
            "title": "Čistilna akcija",
            "published_at": "2025-03-07T09:00:00",
            "body_html": '<p onclick="x()">Zberemo se ob 9h.</p><script>alert(1)</script>',
        },
    ]
    (folder / "cms.jsonl").write_text(
        "\n".join(json.dumps(row, ensure_ascii=False) for row in rows), encoding="utf-8"
    )
    return folder


def test_folder_import_reports_every_file_and_keeps_the_good_ones(
    engine: Engine, exports: Path
) -> None:
    report = import_sources(engine, [str(exports)], tz=LJUBLJANA)
    by_name = {Path(source.source).name: source for source in report.sources}
    assert set(by_name) == {
        "kolesarska-steza.txt",
        "knjiznica.txt",
        "pokvarjen.txt",
        "sejem-1250.txt",
        "cms.jsonl",
    }
    assert by_name["pokvarjen.txt"].status == "rejected"
    [missing_date] = by_name["pokvarjen.txt"].rejections
    assert "datum" in missing_date.reason
    assert "pokvarjen.txt" in str(missing_date)
    assert by_name["cms.jsonl"].status == "partial"
    [no_title] = by_name["cms.jsonl"].rejections
    assert no_title.line == 2 and "title" in no_title.reason
    assert by_name["sejem-1250.txt"].encoding == "windows-1250"
    assert not report.ok
    assert report.count(SaveOutcome.imported) == 5

    with Session(engine) as session:
        titles = {a.title for a in list_articles(session)}
        assert "Knjižnica „Mirana Jarca“ podaljšuje odpiralni čas & vabi" in titles
        assert "Sejem domače obrti na Glavnem trgu" in titles
        fair = get_article(session, "sejem-domace-obrti-na-glavnem-trgu")
        assert "Šivilje, žagarji in čebelarji" in fair.body_text
        cleanup = get_article(session, "cistilna-akcija")
        assert "<script" not in cleanup.body_html and "onclick" not in cleanup.body_html
        assert "alert" not in cleanup.body_html
        assert [t.slug for t in get_article(session, "zapora-ljubljanske-ceste").topics] == [
            "promet"
        ]


def test_reimport_is_idempotent_and_a_changed_file_updates_the_same_article(
    engine: Engine, exports: Path
) -> None:
    import_sources(engine, [str(exports)], tz=LJUBLJANA)
    with Session(engine) as session:
        before = {a.external_id: (a.id, a.uid) for a in session.exec(select(Article))}

    again = import_sources(engine, [str(exports)], tz=LJUBLJANA)
    assert again.count(SaveOutcome.imported) == 0
    assert again.count(SaveOutcome.unchanged) == 5

    write_export(
        exports,
        "kolesarska-steza.txt",
        caption="Nova kolesarska steza ob Krki",
        title="Odprta nova kolesarska steza ob Krki",
        date="3. 3. 2025",
        paragraphs=["Steza povezuje Loko in Ragov log.", "Dolga je 2,6 kilometra."],
    )
    changed = import_sources(engine, [str(exports / "kolesarska-steza.txt")], tz=LJUBLJANA)
    assert changed.count(SaveOutcome.updated) == 1
    with Session(engine) as session:
        after = {a.external_id: (a.id, a.uid) for a in session.exec(select(Article))}
        assert after == before
        article = get_article(session, "odprta-nova-kolesarska-steza-ob-krki")
        assert "2,6 kilometra" in article.body_text


def test_missing_paths_are_reported_without_stopping_the_rest(
    engine: Engine, exports: Path
) -> None:
    report = import_sources(
        engine,
        [str(exports / "ni-ga.txt"), str(exports / "kolesarska-steza.txt")],
        tz=LJUBLJANA,
        add_topics=[TopicRef("promet", "Promet")],
    )
    assert [s.status for s in report.sources] == ["rejected", "imported"]
    assert "no such file" in report.sources[0].rejections[0].reason
    with Session(engine) as session:
        [article] = list_articles(session, topic="promet")
        assert article.title == "Odprta nova kolesarska steza ob Krki"


@pytest.fixture
def feed_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "rss.xml").write_text(
        """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Novice</title><link>https://www.example.org/</link>
<description>Novice občine</description>
<item><title>Prvi dan pomladi v mestnem parku</title><link>https://www.example.org/n/1</link>
<guid>https://www.example.org/n/1</guid><pubDate>Fri, 21 Mar 2025 10:00:00 +0100</pubDate>
<category>Okolje</category>
<description>&lt;p&gt;Mestni vrtnarji so zasadili 300 tulipanov.&lt;/p&gt;</description></item>
</channel></rss>""",
        encoding="utf-8",
    )
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_feed_url_brings_a_sites_history_in(engine: Engine, feed_server: str) -> None:
    report = import_sources(
        engine,
        [f"{feed_server}/rss.xml", f"{feed_server}/manjka.xml"],
        tz=LJUBLJANA,
        fetch_policy=FetchPolicy(allow_private_networks=True),  # the test site is on loopback
    )
    assert [s.status for s in report.sources] == ["imported", "rejected"]
    assert "404" in report.sources[1].rejections[0].reason
    with Session(engine) as session:
        [article] = list_articles(session)
        assert article.title == "Prvi dan pomladi v mestnem parku"
        assert article.source == f"{feed_server}/rss.xml"
        assert article.url == "https://www.example.org/n/1"
        assert [t.slug for t in article.topics] == ["okolje"]
        assert article.published_at.astimezone(LJUBLJANA).hour == 10


DATA = Path(__file__).parent / "data"


def test_every_export_variant_is_stored_or_rejected_as_it_should_be(engine: Engine) -> None:
    """The office-format variants in tests/articles/data, through the store, on both databases."""
    report = import_sources(
        engine,
        [
            str(DATA / f"office-{v}.txt")
            for v in ("cp1250", "long", "markup-title", "no-caption", "no-date", "short-date")
        ],
        tz=LJUBLJANA,
    )
    status = {Path(source.source).stem: source.status for source in report.sources}
    assert status == {
        "office-cp1250": "imported",
        "office-long": "imported",
        "office-markup-title": "imported",
        "office-no-caption": "imported",
        "office-no-date": "rejected",
        "office-short-date": "imported",
    }
    with Session(engine) as session:
        by_title = {article.title: article for article in list_articles(session)}
    school = by_title["Župan obiskal Osnovno šolo Šmihel"]
    assert school.image_caption == "Šolarji čistijo žive meje"
    markup = by_title["Občina & KS <Bršljin> „Čisto mesto“"]
    assert markup.image_caption == ""
    assert "&amp;" in markup.body_html and "&amp;amp;" not in markup.body_html
    assert "<b>" not in markup.body_html and "&lt;b&gt;" in markup.body_html
    winter = by_title["Zimska služba posipa tudi kolesarske steze"]
    assert winter.published_at.astimezone(LJUBLJANA).date().isoformat() == "2025-03-07"
    assert not winter.body_text.lower().endswith("nazaj")
    long = by_title["Pešpot ob Krki bo dobila novo podobo"]
    assert long.body_html.count("<p>") >= 10
    assert long.summary.endswith("…") and len(long.summary) <= 280
