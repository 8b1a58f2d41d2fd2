"""The feed links people click lead to a follow page in the site's style (a browser shows a
feed itself as raw XML), while autodiscovery still points readers at the feeds; the follow
pages and the accessibility statement exist in both languages, and no footer link is a 404."""

from __future__ import annotations

import re
from urllib.parse import quote

import feedparser
import httpx
from sqlalchemy.engine import Engine

from publisher.articles.store import save_topic
from publisher.db import session_scope
from publisher.web.app import create_app
from tests.feeds.helpers import draft, make_settings, save
from tests.web.conftest import LiveSite, serve

FORMATS = ("rss", "atom", "json")
FEED_FILES = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}


def _site(engine: Engine) -> None:
    save(engine, draft(1, topics=["promet"]))
    save(engine, draft(2))
    with session_scope(engine) as session:
        save_topic(session, "promet", "Promet", name_en="Traffic")


def _footer(html: str) -> str:
    found = re.search(r'<footer class="site-footer">.*?</footer>', html, re.S)
    assert found is not None
    return found.group(0)


def _read_feed(url: str) -> tuple[str, int]:
    """The title of the feed at ``url`` and how many entries it has, as a reader reads it
    (feedparser reads RSS and Atom; JSON Feed is JSON)."""
    answer = httpx.get(url)
    assert answer.status_code == 200, url
    if answer.headers["content-type"].startswith("application/feed+json"):
        document = answer.json()
        return document["title"], len(document["items"])
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed.feed.title, len(parsed.entries)


def _alternates(html: str) -> list[str]:
    return re.findall(r'<link rel="alternate" type="[^"]+" title="[^"]+" href="([^"]+)">', html)


def test_visible_feed_links_lead_to_the_follow_page_and_autodiscovery_to_the_feeds(
    live_site: LiveSite, engine: Engine
) -> None:
    _site(engine)
    home = httpx.get(live_site.url + "/").text
    for fmt in FORMATS:
        assert f'<a href="/viri#vir-{fmt}">' in _footer(home)
    assert "/feeds/" not in _footer(home)  # no visible link shows raw XML
    alternates = _alternates(home)
    assert alternates == [f"{live_site.url}/feeds/{FEED_FILES[fmt]}" for fmt in FORMATS]
    for url in alternates:
        assert _read_feed(url)[1]

    topic = httpx.get(live_site.url + "/topics/promet").text
    main = topic.split("<main", 1)[1].split("</main>", 1)[0]
    for fmt in FORMATS:
        assert f'<a href="/topics/promet/viri#vir-{fmt}">' in main
    assert _alternates(topic) == [
        f"{live_site.url}/feeds/topics/promet/{FEED_FILES[fmt]}" for fmt in FORMATS
    ]


def test_the_follow_page_explains_offers_each_address_to_copy_and_opens_readers(
    live_site: LiveSite, engine: Engine
) -> None:
    _site(engine)
    page = httpx.get(live_site.url + "/viri")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<h1>Spremljajte novice v bralniku novic</h1>" in html
    assert "Vir novic je naslov" in html
    rss = f"{live_site.url}/feeds/rss.xml"
    for fmt, standard in zip(FORMATS, ("RSS 2.0", "Atom 1.0", "JSON Feed 1.1"), strict=True):
        address = f"{live_site.url}/feeds/{FEED_FILES[fmt]}"
        assert f'<label for="vir-{fmt}">{standard}</label>' in html
        field = re.search(rf'<input type="text" id="vir-{fmt}" value="([^"]+)" readonly', html)
        assert field is not None and field.group(1) == address
        assert _read_feed(address)[1]  # the address copied is a real feed
        assert re.search(
            rf'<button type="button" [^>]*data-copy="vir-{fmt}"[^>]* hidden>Kopiraj', html
        )
    for reader in (
        f"https://feedly.com/i/subscription/feed/{quote(rss, safe='')}",
        f"https://www.inoreader.com/?add_feed={quote(rss, safe='')}",
        f"https://www.newsblur.com/?url={quote(rss, safe='')}",
        f"feed:{rss}",
    ):
        assert f'href="{reader}"' in html
    assert '<a href="/topics/promet/viri">Promet</a>' in html  # each topic's own page
    assert _alternates(html)[0] == rss  # autodiscovery still names the feed itself


def test_a_topic_follow_page_offers_the_topic_feeds_and_an_unknown_topic_has_none(
    live_site: LiveSite, engine: Engine
) -> None:
    _site(engine)
    html = httpx.get(live_site.url + "/topics/promet/viri").text
    assert "<h1>Spremljajte novice na temo Promet v bralniku novic</h1>" in html
    address = f"{live_site.url}/feeds/topics/promet/atom.xml"
    assert f'id="vir-atom" value="{address}"' in html
    assert _read_feed(address)[0].endswith("Promet")
    assert 'href="/viri">Vse novice</a>' in html
    assert httpx.get(live_site.url + "/topics/ni-je/viri").status_code == 404


def test_the_follow_pages_are_in_english_with_the_language_kept_in_every_link(
    live_site: LiveSite, engine: Engine
) -> None:
    _site(engine)
    html = httpx.get(live_site.url + "/viri", params={"lang": "en"}).text
    assert '<html lang="en">' in html
    assert "<h1>Follow the news in a feed reader</h1>" in html and ">Copy<" in html
    assert "Kopiraj" not in html and "bralnik" not in html
    assert '<a href="/topics/promet/viri?lang=en">Traffic</a>' in html
    topic = httpx.get(live_site.url + "/topics/promet/viri", params={"lang": "en"}).text
    assert "<h1>Follow Traffic in a feed reader</h1>" in topic
    footer = _footer(httpx.get(live_site.url + "/topics/promet", params={"lang": "en"}).text)
    assert '<a href="/viri?lang=en#vir-rss">RSS</a>' in footer  # the language, then the field
    assert 'href="/viri?lang=en">' in footer and 'href="/dostopnost?lang=en">' in footer


def test_only_the_follow_pages_may_run_a_script_and_only_the_sites_own(
    live_site: LiveSite, engine: Engine
) -> None:
    _site(engine)
    for path in ("/viri", "/topics/promet/viri"):
        page = httpx.get(live_site.url + path)
        policy = page.headers["content-security-policy"]
        scripts = [p.strip() for p in policy.split(";") if p.strip().startswith("script-src")]
        assert scripts == ["script-src 'self'"], policy
        assert "default-src 'none'" in policy
        assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/copy.js" defer>']
        script = httpx.get(live_site.url + "/static/copy.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    for path in ("/", "/topics/promet", "/dostopnost", "/archive", "/subscribe", "/privacy"):
        page = httpx.get(live_site.url + path)
        assert "script-src" not in page.headers["content-security-policy"], path
        assert "<script" not in page.text, path


def test_no_footer_link_of_any_public_page_leads_nowhere(
    live_site: LiveSite, engine: Engine
) -> None:
    _site(engine)
    pages = ["/", "/articles/novica-1", "/topics/promet", "/topics/promet/viri", "/viri"]
    pages += ["/archive", "/subscribe", "/privacy", "/dostopnost", "/articles/ni-je"]
    checked: set[str] = set()
    for path in pages:
        for lang in ("sl", "en"):
            html = httpx.get(live_site.url + path, params={"lang": lang}).text
            for href in re.findall(r'href="([^"]+)"', _footer(html)):
                target = href.replace("&amp;", "&").split("#", 1)[0]
                if target in checked:
                    continue
                checked.add(target)
                answer = httpx.get(live_site.url + target if target.startswith("/") else target)
                assert answer.status_code == 200, (
                    f"{path}?lang={lang}: {href} is {answer.status_code}"
                )
    assert {"/viri", "/dostopnost", "/viri?lang=en", "/dostopnost?lang=en"} <= checked


def test_the_accessibility_statement_states_conformance_the_last_check_and_whom_to_tell(
    live_site: LiveSite,
) -> None:
    html = httpx.get(live_site.url + "/dostopnost").text
    assert "<h1>Izjava o dostopnosti</h1>" in html
    assert "<strong>delno skladno</strong>" in html and "WCAG) 2.1 na ravni AA" in html
    assert "Direktivo (EU) 2016/2102" in html and "ZDSMA" in html
    assert "nazadnje preverjena 2.\xa0december 2026" in html
    assert '<a href="mailto:novice@novomesto.example.org">' in html  # the From address
    assert "Inšpektorat za informacijsko družbo" in html
    assert 'href="https://e-uprava.gov.si/' in html
    assert "PDF" in html  # the limitations are named

    english = httpx.get(live_site.url + "/dostopnost", params={"lang": "en"}).text
    assert '<html lang="en">' in english and "<h1>Accessibility statement</h1>" in english
    assert "<strong>partially conformant</strong>" in english
    assert "last checked on 2\xa0December 2026" in english
    assert "skladno" not in english


def test_the_statement_shows_the_contact_and_the_day_the_operator_set(
    engine: Engine, database_url: str
) -> None:
    def make_app(url: str):  # type: ignore[no-untyped-def]
        settings = make_settings(
            database_url,
            base_url=url,
            accessibility_checked="2027-03-05",
            accessibility_contact="https://www.novomesto.example.org/pisite-nam",
        )
        return create_app(settings, engine)

    with serve(make_app) as (url, _app):
        html = httpx.get(url + "/dostopnost").text
    assert "nazadnje preverjena 5.\xa0marec 2027" in html
    assert '<a href="https://www.novomesto.example.org/pisite-nam">' in html
    assert "mailto:" not in html
