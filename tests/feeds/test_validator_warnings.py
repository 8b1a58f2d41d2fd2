"""What the W3C Feed Validation Service warned about, each as a rule readers notice.

Titles and topics are plain text (some readers render markup in them, some show it), an
article with an empty body has no blank elements, image and link URLs are valid URIs, and an
archive page is one part of the archive, never a complete feed (RFC 5005).
"""

from __future__ import annotations

import json

import feedparser
from lxml import etree
from sqlalchemy.engine import Engine

from publisher.articles.drafts import TopicRef
from publisher.config import Settings
from publisher.feeds.content import percent_encoded
from publisher.feeds.models import FeedFormat, FeedKey
from publisher.feeds.xml_feeds import ATOM_NS, HISTORY_NS, MEDIA_NS
from tests.feeds.helpers import add_articles, build, draft
from tests.feeds.validation import check_feed, check_json_feed

ATOM = f"{{{ATOM_NS}}}"
HISTORY = f"{{{HISTORY_NS}}}"
MEDIA_CONTENT = f"{{{MEDIA_NS}}}content"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"


def xml_entry(fmt: FeedFormat, body: bytes) -> etree._Element:
    """The only entry (Atom) or item (RSS) of a document."""
    root = etree.fromstring(body)
    entries = root.findall(f"{ATOM}entry") if fmt is FeedFormat.atom else root.iter("item")
    (entry,) = list(entries)
    return entry


def test_markup_in_a_title_or_topic_reaches_feed_readers_as_its_words(
    engine: Engine, settings: Settings
) -> None:
    article = draft(1, title="Cesta <b>zaprta</b> &amp; obvoz: 3 < 5")
    article.topics = [TopicRef(slug="promet", name="<i>Promet</i>")]
    add_articles(engine, article)
    for fmt in FeedFormat:
        for key in (FeedKey(fmt), FeedKey(fmt, topic="promet")):
            body = build(engine, settings, key)
            if fmt is FeedFormat.json:
                feed = check_json_feed(body)
                item = feed["items"][0]
                title, tags = item["title"], item["tags"]
            else:
                parsed = check_feed(fmt, body)
                entry = parsed.entries[0]
                assert entry.title_detail.type == "text/plain"
                title = entry.title
                tags = [tag.label or tag.term for tag in entry.tags]
                assert parsed.feed.title.endswith(": novice" if key.topic is None else ": Promet")
            assert title == "Cesta zaprta & obvoz: 3 < 5", (key, title)
            assert tags == ["Promet"], key
            for markup in (b"&lt;/b", b"&#x3C;/b", b"</b", b"\\u003c/b", b"<\\/b"):
                assert markup not in body, (key, markup)


def test_a_title_of_markup_alone_keeps_its_text(engine: Engine, settings: Settings) -> None:
    add_articles(engine, draft(1, title="<script>x</script>"))
    rss = check_feed(FeedFormat.rss, build(engine, settings, FeedKey(FeedFormat.rss)))
    assert rss.entries[0].title == "<script>x</script>"  # an entry needs a title


def test_atom_summary_is_declared_text_and_content_html(engine: Engine, settings: Settings) -> None:
    add_articles(engine, draft(1, summary="Kratko: 3 < 5 & več"))
    entry = xml_entry(FeedFormat.atom, build(engine, settings, FeedKey(FeedFormat.atom)))
    summary = entry.find(f"{ATOM}summary")
    content = entry.find(f"{ATOM}content")
    assert summary is not None and summary.get("type") == "text"
    assert summary.text == "Kratko: 3 < 5 & več"
    assert content is not None and content.get("type") == "html"


def test_an_article_with_an_empty_body_has_no_blank_content_or_summary(
    engine: Engine, settings: Settings
) -> None:
    add_articles(engine, draft(1, title="Samo naslov", body_html="<p></p>"))
    atom = xml_entry(FeedFormat.atom, build(engine, settings, FeedKey(FeedFormat.atom)))
    assert atom.find(f"{ATOM}content") is None and atom.find(f"{ATOM}summary") is None
    assert atom.findtext(f"{ATOM}title") == "Samo naslov"
    assert atom.find(f"{ATOM}link").get("href") == "https://novice.test/articles/samo-naslov"

    rss = xml_entry(FeedFormat.rss, build(engine, settings, FeedKey(FeedFormat.rss)))
    assert rss.find("description") is None and rss.find(CONTENT_ENCODED) is None
    assert rss.findtext("title") == "Samo naslov"

    feed = check_json_feed(build(engine, settings, FeedKey(FeedFormat.json)))
    item = feed["items"][0]
    assert "content_html" not in item and "summary" not in item
    assert item["content_text"] == "Samo naslov"  # JSON Feed: one of the two is required


def test_an_empty_body_with_a_photo_still_shows_the_photo(
    engine: Engine, settings: Settings
) -> None:
    add_articles(
        engine, draft(1, body_html="<p></p>", image_url="https://novice.test/slike/trg.jpg")
    )
    feed = check_json_feed(build(engine, settings, FeedKey(FeedFormat.json)))
    assert 'src="https://novice.test/slike/trg.jpg"' in feed["items"][0]["content_html"]


def test_image_and_link_urls_with_spaces_are_percent_encoded(
    engine: Engine, settings: Settings
) -> None:
    add_articles(
        engine,
        draft(
            1,
            image_url="/slike/mestni trg 1.jpg",
            image_caption="Trg",
            body_html='<p><img src="/slike/čebela v cvetu.jpg" alt="Čebela">'
            ' <a href="/o nas?kdo=ana novak">O nas</a> <a href="/ze%20kodirano">x</a></p>',
        ),
    )
    photo = "https://novice.test/slike/mestni%20trg%201.jpg"
    rss = xml_entry(FeedFormat.rss, build(engine, settings, FeedKey(FeedFormat.rss)))
    assert rss.find(MEDIA_CONTENT).get("url") == photo
    parsed = feedparser.parse(build(engine, settings, FeedKey(FeedFormat.atom)))
    html = parsed.entries[0].content[0].value
    assert f'src="{photo}"' in html
    assert 'src="https://novice.test/slike/%C4%8Debela%20v%20cvetu.jpg"' in html
    assert 'href="https://novice.test/o%20nas?kdo=ana%20novak"' in html
    assert 'href="https://novice.test/ze%20kodirano"' in html  # encoded once, not twice
    item = json.loads(build(engine, settings, FeedKey(FeedFormat.json)))["items"][0]
    assert item["image"] == photo


def test_percent_encoding_keeps_a_url_that_is_valid_already() -> None:
    valid = "https://novice.test/a/b%20c?x=1&y=%C4%8D#del-2"
    assert percent_encoded(valid) == valid
    assert percent_encoded("https://občina.si/trg 1.jpg") == (
        "https://xn--obina-iya.si/trg%201.jpg"
    )


def test_archive_pages_are_parts_of_the_archive_never_a_complete_feed(
    engine: Engine, settings: Settings
) -> None:
    # Six articles of one topic, five a page: one archive page, with no neighbour to link.
    add_articles(engine, *(draft(n, topics=("promet",)) for n in range(1, 7)))
    for fmt in (FeedFormat.atom, FeedFormat.rss):
        for topic in (None, "promet"):
            current = etree.fromstring(build(engine, settings, FeedKey(fmt, topic=topic)))
            archive = etree.fromstring(build(engine, settings, FeedKey(fmt, topic=topic, page=1)))
            assert current.find(f".//{HISTORY}complete") is None, (fmt, topic)
            assert current.find(f".//{HISTORY}archive") is None, (fmt, topic)
            assert archive.find(f".//{HISTORY}complete") is None, (fmt, topic)
            assert archive.find(f".//{HISTORY}archive") is not None, (fmt, topic)
            rels = {link.get("rel") for link in archive.iter(f"{ATOM}link")}
            assert "current" in rels, (fmt, topic)


def test_every_json_feed_page_names_the_feed_it_belongs_to(
    engine: Engine, settings: Settings
) -> None:
    # JSON Feed 1.1: feed_url is "the unique identifier for the feed"; next_url pages it.
    add_articles(engine, *(draft(n) for n in range(1, 12)))
    current = check_json_feed(build(engine, settings, FeedKey(FeedFormat.json)))
    page = check_json_feed(build(engine, settings, FeedKey(FeedFormat.json, page=2)))
    assert current["feed_url"] == page["feed_url"] == "https://novice.test/feeds/feed.json"
    assert current["next_url"] == "https://novice.test/feeds/archive/2/feed.json"
    assert page["next_url"] == "https://novice.test/feeds/archive/1/feed.json"
