"""RSS, Atom and JSON Feed documents: well-formed, complete, with ids that never change."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.articles.models import Article, ArticleStatus
from publisher.articles.store import last_change, set_status
from publisher.config import Settings
from publisher.db import session_scope
from publisher.feeds.documents import build_document
from publisher.feeds.models import FeedFormat, FeedKey
from tests.feeds.helpers import add_articles, build, draft, make_settings, save
from tests.feeds.validation import check_feed, check_json_feed, entry_ids, parse_xml_feed

ALL_FORMATS = list(FeedFormat)


def all_three(engine: Engine, settings: Settings, topic: str | None = None) -> Iterator[bytes]:
    for fmt in FeedFormat:
        yield build(engine, settings, FeedKey(format=fmt, topic=topic))


def test_every_format_is_well_formed_and_says_what_it_is(
    engine: Engine, settings: Settings
) -> None:
    add_articles(engine, *(draft(n, topics=("promet",)) for n in range(1, 4)))
    rss = parse_xml_feed(build(engine, settings, FeedKey(FeedFormat.rss)))
    atom = parse_xml_feed(build(engine, settings, FeedKey(FeedFormat.atom)))
    json_feed = check_json_feed(build(engine, settings, FeedKey(FeedFormat.json)))

    assert rss.version == "rss20" and atom.version == "atom10"
    for parsed in (rss, atom):
        feed = parsed.feed
        assert feed.language == "sl"
        assert feed.title == "Mestna občina Novo mesto: novice"
        assert feed.subtitle
        assert feed.generator.startswith("publisher")
        links = {link.rel: link.href for link in feed.links}
        assert links["alternate"] == "https://novice.test/"
        assert links["self"].startswith("https://novice.test/feeds/")
        assert feed.updated_parsed is not None
    assert rss.feed.image.href == "https://novice.test/static/icon.png"
    assert rss.feed.ttl == "15"
    assert atom.feed.icon == "https://novice.test/static/icon.png"
    assert json_feed["language"] == "sl"
    assert json_feed["feed_url"] == "https://novice.test/feeds/feed.json"


def test_entries_carry_everything_an_aggregator_shows(engine: Engine, settings: Settings) -> None:
    save(
        engine,
        draft(
            1,
            title="Obnova Glavnega trga",
            body_html='<p>Dela se začnejo v ponedeljek. <a href="/zapore">Zapore</a></p>',
            summary="Dela se začnejo v ponedeljek.",
            image_url="/slike/trg.jpg",
            image_caption="Glavni trg pred obnovo",
            topics=("promet", "obcina"),
        ),
    )
    rss = parse_xml_feed(build(engine, settings, FeedKey(FeedFormat.rss)))
    atom = parse_xml_feed(build(engine, settings, FeedKey(FeedFormat.atom)))
    item = check_json_feed(build(engine, settings, FeedKey(FeedFormat.json)))["items"][0]
    permalink = "https://novice.test/articles/obnova-glavnega-trga"

    for entry in (rss.entries[0], atom.entries[0]):
        assert entry.id.startswith("urn:uuid:")
        assert entry.link == permalink
        assert entry.title == "Obnova Glavnega trga"
        assert entry.summary == "Dela se začnejo v ponedeljek."
        assert {tag.term for tag in entry.tags} <= {"promet", "obcina", "Promet", "Obcina"}
        assert len(entry.tags) == 2
        assert entry.published_parsed is not None
        assert entry.author == "Mestna občina Novo mesto"
        html = entry.content[0].value
        assert '<a href="https://novice.test/zapore"' in html
        assert 'src="https://novice.test/slike/trg.jpg"' in html
        assert 'alt="Glavni trg pred obnovo"' in html
        assert "<figcaption>Glavni trg pred obnovo</figcaption>" in html
    assert rss.entries[0].guidislink is False
    assert rss.entries[0].media_content[0]["url"] == "https://novice.test/slike/trg.jpg"
    assert item["id"] == atom.entries[0].id
    assert item["image"] == "https://novice.test/slike/trg.jpg"
    assert item["url"] == permalink
    assert item["date_published"].endswith("+01:00")  # Ljubljana in winter


def test_rss_has_the_full_text_in_content_encoded_beside_a_short_description(
    engine: Engine, settings: Settings
) -> None:
    long_body = "".join(f"<p>Odstavek {n} z nekaj besedami.</p>" for n in range(30))
    save(engine, draft(1, body_html=long_body))
    root = etree.fromstring(build(engine, settings, FeedKey(FeedFormat.rss)))
    item = root.find("channel/item")
    assert item is not None
    encoded = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert encoded is not None and encoded.count("<p>") == 30
    description = item.findtext("description") or ""
    assert "<p>" not in description and len(description) < 300
    guid = item.find("guid")
    assert guid is not None and guid.get("isPermaLink") == "false"


def test_ids_stay_the_same_across_an_edit_and_a_slug_change(
    engine: Engine, settings: Settings
) -> None:
    save(engine, draft(1, title="Zapora Seidlove ceste"))
    before = {fmt: entry_ids(fmt, build(engine, settings, FeedKey(fmt))) for fmt in FeedFormat}

    save(engine, draft(1, title="Zapora Seidlove ceste podaljšana", body_html="<p>Novo.</p>"))
    with session_scope(engine) as session:
        article = session.exec(select(Article)).one()
        article.slug = "zapora-seidlove-ceste-podaljsana"
    moved = make_settings(settings.database_url, base_url="https://www.novomesto.si")

    for fmt in FeedFormat:
        body = build(engine, moved, FeedKey(fmt))
        assert entry_ids(fmt, body) == before[fmt]
        assert b"zapora-seidlove-ceste-podaljsana" in body
        assert "podaljšana".encode() in body


def test_entries_are_newest_first_and_as_many_as_configured(
    engine: Engine, settings: Settings
) -> None:
    add_articles(engine, *(draft(n) for n in (3, 1, 7, 5, 2, 6, 4)))
    for fmt in FeedFormat:
        body = build(engine, settings, FeedKey(fmt))
        parsed = check_feed(fmt, body)
        titles = (
            [item["title"] for item in parsed["items"]]
            if fmt is FeedFormat.json
            else [entry.title for entry in parsed.entries]
        )
        assert titles == ["Novica 7", "Novica 6", "Novica 5", "Novica 4", "Novica 3"]


def test_withdrawn_articles_disappear_from_every_feed(engine: Engine, settings: Settings) -> None:
    add_articles(engine, draft(1, topics=("kultura",)), draft(2, topics=("kultura",)))
    with session_scope(engine) as session:
        set_status(session, "novica-2", ArticleStatus.withdrawn)
    for topic in (None, "kultura"):
        for body in all_three(engine, settings, topic):
            assert b"Novica 1" in body
            assert b"Novica 2" not in body


def test_control_characters_pasted_from_word_are_cleaned(
    engine: Engine, settings: Settings
) -> None:
    save(
        engine,
        draft(
            1,
            title="Seja\x0b mestnega\x1b sveta",
            body_html="<p>Dnevni\x0c red\x00 seje\x7f in \x96sklepi.</p>",
            summary="Povzetek\x08 seje",
            image_caption="Dvorana\x01",
            topics=("obcina",),
        ),
    )
    control = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
    for fmt, body in zip(FeedFormat, all_three(engine, settings), strict=True):
        assert not control.search(body), fmt
        check_feed(fmt, body)
        assert b"Seja mestnega sveta" in body


def test_script_never_appears_and_html_is_escaped_exactly_once(
    engine: Engine, settings: Settings
) -> None:
    save(
        engine,
        draft(
            1,
            title="Pešci & kolesarji <b>",
            body_html=(
                "<p>Most za pešce &amp; kolesarje „odprt“.</p><script>alert(1)</script>"
                '<img src="x.jpg" onerror="alert(2)"><a href="javascript:alert(3)">klik</a>'
            ),
        ),
    )
    for fmt, body in zip(FeedFormat, all_three(engine, settings), strict=True):
        lowered = body.lower()
        assert b"<script" not in lowered and b"&lt;script" not in lowered
        assert b"javascript:" not in lowered and b"onerror" not in lowered
        assert b"&amp;amp;amp;" not in body  # never escaped twice
        parsed = check_feed(fmt, body)
        if fmt is FeedFormat.json:
            html = parsed["items"][0]["content_html"]
            title = parsed["items"][0]["title"]
        else:
            html = parsed.entries[0].content[0].value
            title = parsed.entries[0].title
        assert "Most za pešce &amp; kolesarje „odprt“." in html
        assert title == "Pešci & kolesarji"  # the tag gone, "&" unescaped once


def test_topic_feeds_hold_only_their_topic(engine: Engine, settings: Settings) -> None:
    add_articles(engine, draft(1, topics=("promet",)), draft(2, topics=("sport",)))
    for fmt in FeedFormat:
        body = build(engine, settings, FeedKey(fmt, topic="promet"))
        check_feed(fmt, body)
        assert b"Novica 1" in body and b"Novica 2" not in body
    atom = parse_xml_feed(build(engine, settings, FeedKey(FeedFormat.atom, topic="promet")))
    assert atom.feed.title == "Mestna občina Novo mesto: Promet"
    links = {link.rel: link.href for link in atom.feed.links}
    assert links["alternate"] == "https://novice.test/topics/promet"
    assert links["self"] == "https://novice.test/feeds/topics/promet/atom.xml"


def test_an_unknown_topic_has_no_feed(engine: Engine, settings: Settings) -> None:
    with Session(engine) as session:
        key = FeedKey(FeedFormat.rss, topic="ni-je")
        assert build_document(session, settings, key, last_change(session)) is None


def test_the_same_store_gives_the_same_bytes(engine: Engine, settings: Settings) -> None:
    add_articles(engine, draft(1), draft(2))
    for fmt in FeedFormat:
        assert build(engine, settings, FeedKey(fmt)) == build(engine, settings, FeedKey(fmt))


def test_an_empty_store_still_gives_valid_feeds(engine: Engine, settings: Settings) -> None:
    for fmt, body in zip(FeedFormat, all_three(engine, settings), strict=True):
        check_feed(fmt, body)
