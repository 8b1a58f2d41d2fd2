"""Public pages: permalinks resolve, dates are Slovenian, feeds are discoverable, nothing runs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.articles.models import ArticleStatus
from publisher.articles.store import list_articles, set_status
from publisher.db import session_scope
from publisher.feeds.models import FeedFormat
from tests.feeds.helpers import draft, load_samples, save
from tests.feeds.validation import check_feed
from tests.web.conftest import LiveSite


class Links(HTMLParser):
    """Collects ``<link rel="alternate">`` and ``<a href>`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.alternates: list[dict[str, str]] = []
        self.anchors: list[str] = []
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.html_lang = values.get("lang")
        if tag == "link" and values.get("rel") == "alternate":
            self.alternates.append(values)
        if tag == "a" and "href" in values:
            self.anchors.append(values["href"])


def links_of(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


@pytest.fixture
def samples_site(live_site: LiveSite, engine: Engine) -> LiveSite:
    load_samples(engine, live_site.settings)
    return live_site


def test_autodiscovery_links_resolve_to_valid_feeds(samples_site: LiveSite) -> None:
    with httpx.Client(base_url=samples_site.url) as client:
        for page in ("/", "/topics/promet"):
            found = links_of(client.get(page).text).alternates
            assert {link["type"] for link in found} == {fmt.media_type for fmt in FeedFormat}
            for link in found:
                assert link["href"].startswith(samples_site.url + "/feeds/")
                assert link["title"]
                response = client.get(link["href"])
                assert response.status_code == 200
                fmt = next(f for f in FeedFormat if f.media_type == link["type"])
                check_feed(fmt, response.content)
                if page != "/":
                    assert "/feeds/topics/promet/" in link["href"]


def test_home_page_lists_the_latest_articles_with_slovenian_dates(samples_site: LiveSite) -> None:
    html = httpx.get(samples_site.url + "/").text
    assert links_of(html).html_lang == "sl"
    assert "<h1>Novice</h1>" in html
    assert "20.\xa0marec 2025" in html and "14.\xa0marec 2025" in html
    assert html.index("20.\xa0marec 2025") < html.index("14.\xa0marec 2025")  # newest first
    assert '<main id="vsebina"' in html and "<nav" in html and "<footer" in html


def test_every_permalink_in_every_feed_resolves(samples_site: LiveSite) -> None:
    with httpx.Client() as client:
        feed = check_feed(FeedFormat.atom, client.get(samples_site.url + "/feeds/atom.xml").content)
        assert len(feed.entries) == 5
        for entry in feed.entries:
            page = client.get(entry.link)
            assert page.status_code == 200
            assert f"<h1>{entry.title}</h1>" in page.text.replace("&#34;", '"')


def test_an_article_page_shows_title_date_body_and_topics_and_no_caption_without_a_photo(
    live_site: LiveSite, engine: Engine
) -> None:
    save(
        engine,
        draft(
            1,
            title="Odprt prenovljeni most čez Krko",
            body_html="<p>Most je odprt za pešce &amp; kolesarje.</p>",
            image_caption="Župan s podžupani na otvoritvi",
            topics=("promet",),
        ),
    )
    html = httpx.get(live_site.url + "/articles/odprt-prenovljeni-most-cez-krko").text
    assert "<h1>Odprt prenovljeni most čez Krko</h1>" in html
    assert '<time datetime="2025-01-06T11:00:00+01:00">6.\xa0januar 2025</time>' in html
    assert "Župan s podžupani na otvoritvi" not in html  # the export names a photo it lacks
    assert "<p>Most je odprt za pešce &amp; kolesarje.</p>" in html
    assert '<a href="/topics/promet">Promet</a>' in html


def test_missing_and_withdrawn_articles_say_so(live_site: LiveSite, engine: Engine) -> None:
    save(engine, draft(1))
    with session_scope(engine) as session:
        set_status(session, "novica-1", ArticleStatus.withdrawn)
    withdrawn = httpx.get(live_site.url + "/articles/novica-1")
    assert withdrawn.status_code == 410 and "umaknjena" in withdrawn.text
    missing = httpx.get(live_site.url + "/articles/ni-je")
    assert missing.status_code == 404 and "Te strani ni" in missing.text
    assert httpx.get(live_site.url + "/topics/ni-je").status_code == 404


def test_an_unknown_address_gets_the_sites_404_page_in_the_readers_language(
    live_site: LiveSite, engine: Engine
) -> None:
    save(engine, draft(1, topics=["promet"]))
    for path in ("/ni-take-strani", "/novice/2025/stara-povezava.html", "/topics/promet/x"):
        page = httpx.get(live_site.url + path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert '<header class="site-header">' in page.text  # the one layout
        assert "<h1>Te strani ni</h1>" in page.text
        assert (
            '<a href="/">Vse novice</a>' in page.text
            and 'href="/archive">Arhiv e-novic' in page.text
        )
    english = httpx.get(live_site.url + "/ni-take-strani", params={"lang": "en"})
    assert english.status_code == 404 and '<html lang="en">' in english.text
    assert "<h1>There is no such page</h1>" in english.text
    assert 'href="/archive?lang=en">Newsletter archive</a>' in english.text
    assert httpx.head(live_site.url + "/ni-take-strani").status_code == 404


def test_programs_asking_for_something_missing_keep_their_format(
    live_site: LiveSite, engine: Engine
) -> None:
    api = httpx.get(live_site.url + "/api/ni-take-poti")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    api.json()
    for path in ("/feeds/ni.xml", "/feeds/topics/ni-je/rss.xml", "/feeds/a/b/c", "/static/ni.css"):
        answer = httpx.get(live_site.url + path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/plain"), path
        assert "<html" not in answer.text


def test_no_page_carries_a_script(live_site: LiveSite, engine: Engine) -> None:
    save(
        engine,
        draft(
            1,
            title="<script>alert(1)</script> Naslov",
            body_html='<p>Besedilo<script>alert(2)</script><img src="x" onerror="alert(3)"></p>',
            topics=("obcina",),
        ),
    )
    with Session(engine) as session:
        slug = list_articles(session)[0].slug
    with httpx.Client(base_url=live_site.url) as client:
        for path in ("/", f"/articles/{slug}", "/topics/obcina"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert not re.search(r"<script|onerror=", response.text, re.IGNORECASE), path
        page = client.get(f"/articles/{slug}").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Naslov" in page
