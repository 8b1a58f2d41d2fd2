"""Staff write and correct articles in the admin, over real HTTP to the running app."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import feedparser
import httpx
import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.articles.models import Article, ArticleRevision
from publisher.articles.store import save_topic
from publisher.clock import utcnow
from publisher.db import session_scope
from publisher.digests.content import articles_for
from publisher.digests.periods import period_containing
from publisher.subscribers.models import MailingList
from tests.feeds.helpers import add_articles, draft
from tests.web.admin_support import (
    STAFF_EMAIL,
    AdminSite,
    csrf_of,
    logged_in,
    open_admin_site,
    wait_until,
)

FEEDS = ("/feeds/rss.xml", "/feeds/atom.xml", "/feeds/feed.json")


@pytest.fixture
def site(engine: Engine, database_url: str) -> Iterator[AdminSite]:
    with session_scope(engine) as session:
        save_topic(session, "promet", "Promet")
        save_topic(session, "kultura", "Kultura")
    with open_admin_site(engine, database_url) as served:
        yield served


def fields(site: AdminSite, when: datetime | None = None, **typed: object) -> dict[str, object]:
    local = (when or utcnow()).astimezone(site.settings.tz)
    values: dict[str, object] = {
        "title": "Nova kolesarska steza ob Krki",
        "day": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "summary": "",
        "body": "Steza je **odprta** od danes.\n\n## Kje\n\n- ob Krki\n- do mostu",
        "topics": ["promet"],
        "status": "published",
    }
    values.update(typed)
    return values


def create(client: httpx.Client, site: AdminSite, **typed: object) -> httpx.Response:
    form = client.get("/admin/articles/new")
    assert form.status_code == 200
    return client.post(
        "/admin/articles/new", data={"csrf_token": csrf_of(form), **fields(site, **typed)}
    )


def created_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/admin/articles/(\d+)\?notice=created", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def slug_of(site: AdminSite, key: int) -> str:
    with Session(site.engine) as session:
        article = session.get(Article, key)
        assert article is not None
        return article.slug


def feed_entries(site: AdminSite, path: str) -> list[dict[str, object]]:
    """A feed's entries as a reader sees them (feedparser; JSON Feed read as JSON):
    id, title and the updated moment (RSS has none)."""
    body = httpx.get(site.url + path, timeout=30).content
    if path.endswith(".json"):
        return [
            {"id": item["id"], "title": item["title"], "updated": item.get("date_modified")}
            for item in json.loads(body)["items"]
        ]
    return [
        {"id": entry.id, "title": entry.title, "updated": entry.get("updated_parsed")}
        for entry in feedparser.parse(body).entries
    ]


def feed_titles(site: AdminSite) -> list[list[str]]:
    return [[str(entry["title"]) for entry in feed_entries(site, path)] for path in FEEDS]


def in_digest(site: AdminSite, title: str) -> bool:
    today = utcnow().astimezone(site.settings.tz).date()
    with Session(site.engine) as session:
        found = articles_for(
            session,
            MailingList(slug="tedenske", name="Tedenske"),
            period_containing(today),
            site.settings,
        )
        return title in [article.title for article in found]


def test_a_draft_appears_nowhere_public(site: AdminSite) -> None:
    client = logged_in(site)
    key = created_id(create(client, site, title="Osnutek o proračunu", status="draft"))
    slug = slug_of(site, key)
    public = httpx.Client(base_url=site.url, timeout=30)
    assert public.get(f"/articles/{slug}").status_code == 404
    assert "Osnutek o proračunu" not in public.get("/").text
    assert all("Osnutek o proračunu" not in titles for titles in feed_titles(site))
    assert not in_digest(site, "Osnutek o proračunu")
    listing = client.get("/admin/articles")
    assert "Osnutek o proračunu" in listing.text and "osnutek" in listing.text


def test_a_scheduled_article_is_invisible_until_its_time_then_everywhere(
    site: AdminSite,
) -> None:
    client = logged_in(site)
    at = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    key = created_id(create(client, site, title="Embargo: nov župan", status="scheduled", when=at))
    slug = slug_of(site, key)
    public = httpx.Client(base_url=site.url, timeout=30)
    assert public.get(f"/articles/{slug}").status_code == 404
    assert all("Embargo: nov župan" not in titles for titles in feed_titles(site))
    assert not in_digest(site, "Embargo: nov župan")
    assert "načrtovan" in client.get("/admin/articles").text

    with time_machine.travel(at - timedelta(seconds=30), tick=True):
        assert public.get(f"/articles/{slug}").status_code == 404
    with time_machine.travel(at + timedelta(minutes=1), tick=True):
        assert public.get(f"/articles/{slug}").status_code == 200
        wait_until(
            lambda: all("Embargo: nov župan" in titles for titles in feed_titles(site)),
            what="the scheduled article in all three feeds once its time came",
        )
        assert in_digest(site, "Embargo: nov župan")


def test_scheduled_with_a_past_time_is_refused_with_everything_typed_kept(
    site: AdminSite,
) -> None:
    client = logged_in(site)
    response = create(
        client,
        site,
        title="",
        status="scheduled",
        when=utcnow() - timedelta(days=1),
        body="Moje *dolgo* besedilo, ki ga ne želim izgubiti.",
        summary="Povzetek ostane.",
        image_caption="Podnapis ostane",
    )
    assert response.status_code == 400
    page = response.text
    assert "Vpišite naslov." in page
    assert "Načrtovan članek potrebuje čas objave v prihodnosti" in page
    assert "Moje *dolgo* besedilo, ki ga ne želim izgubiti." in page
    assert "Povzetek ostane." in page and 'value="Podnapis ostane"' in page
    assert 'aria-describedby="title-napaka"' in page
    with Session(site.engine) as session:
        assert session.exec(select(Article)).first() is None


def test_markdown_cannot_carry_scripts_or_javascript_links(site: AdminSite) -> None:
    client = logged_in(site)
    body = "Pozor <script>alert('x')</script>\n\n[klik](javascript:alert(1)) in [vir](https://example.org/)"
    key = created_id(create(client, site, title="Varno besedilo", body=body))
    page = httpx.get(f"{site.url}/articles/{slug_of(site, key)}").text
    assert "<script>alert" not in page
    assert 'href="javascript:' not in page
    assert '<a href="https://example.org/"' in page
    with Session(site.engine) as session:
        article = session.get(Article, key)
        assert article is not None and "&lt;script&gt;" in article.body_html


def edit_form(client: httpx.Client, key: int) -> tuple[str, str]:
    page = client.get(f"/admin/articles/{key}/edit")
    assert page.status_code == 200
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    return csrf_of(page), version.group(1)


def test_a_stale_edit_form_is_refused_with_who_saved_and_nothing_lost(site: AdminSite) -> None:
    client = logged_in(site)
    key = created_id(create(client, site))
    token, version = edit_form(client, key)
    first = client.post(
        f"/admin/articles/{key}/edit",
        data={"csrf_token": token, "version": version, **fields(site, title="Prvi popravek")},
    )
    assert first.status_code == 303
    stale = client.post(
        f"/admin/articles/{key}/edit",
        data={
            "csrf_token": token,
            "version": version,
            **fields(site, title="Drugi popravek", body="Moj drugi popravek besedila."),
        },
    )
    assert stale.status_code == 409
    assert STAFF_EMAIL in stale.text and "medtem shranjen" in stale.text
    assert "Moj drugi popravek besedila." in stale.text and 'value="Drugi popravek"' in stale.text
    assert f'href="/admin/articles/{key}/edit"' in stale.text
    with Session(site.engine) as session:
        article = session.get(Article, key)
        assert article is not None and article.title == "Prvi popravek"


def test_a_correction_keeps_id_slug_and_feed_id_moves_updated_and_shows_in_history(
    site: AdminSite,
) -> None:
    add_articles(
        site.engine,
        draft(
            1,
            title="Zapora Ljubljanske cesce",
            published_at=utcnow() - timedelta(days=1),
            updated_at=utcnow() - timedelta(hours=20),
        ),
    )
    with Session(site.engine) as session:
        article = session.exec(select(Article)).one()
        key, slug, uid = article.id or 0, article.slug, article.uid
    public = httpx.Client(base_url=site.url, timeout=30)
    before = {path: feed_entries(site, path)[0] for path in FEEDS}

    client = logged_in(site)
    token, version = edit_form(client, key)
    form = client.get(f"/admin/articles/{key}/edit").text
    assert "Besedilo novice številka 1." in form  # the imported HTML, as Markdown
    saved = client.post(
        f"/admin/articles/{key}/edit",
        data={
            "csrf_token": token,
            "version": version,
            **fields(
                site,
                when=utcnow() - timedelta(days=1),
                title="Zapora Ljubljanske ceste",
                body="Besedilo novice številka 1.",
                topics=[],
            ),
        },
    )
    assert saved.status_code == 303, saved.text
    with Session(site.engine) as session:
        article = session.get(Article, key)
        assert article is not None
        assert (article.slug, article.uid) == (slug, uid)
        assert article.edited_by == STAFF_EMAIL and article.edited_at is not None
    assert "Zapora Ljubljanske ceste" in public.get(f"/articles/{slug}").text

    wait_until(
        lambda: all(
            feed_entries(site, path)[0]["title"] == "Zapora Ljubljanske ceste" for path in FEEDS
        ),
        what="the corrected title in the three feeds",
    )
    for path in FEEDS:
        entry = feed_entries(site, path)[0]
        assert entry["id"] == uid
        if path != "/feeds/rss.xml":  # RSS has no updated time
            assert entry["updated"] > before[path]["updated"]  # type: ignore[operator]

    history = client.get(f"/admin/articles/{key}/revisions")
    assert history.status_code == 200
    assert "-Zapora Ljubljanske cesce" in history.text
    assert "+Zapora Ljubljanske ceste" in history.text
    assert "Urednica Ana" in history.text  # the staff member by name
    with Session(site.engine) as session:
        kinds = [r.kind for r in session.exec(select(ArticleRevision).order_by(ArticleRevision.id))]
    assert kinds == ["imported", "edited"]


def test_the_preview_is_the_public_page_and_only_the_editor_runs_a_script(
    site: AdminSite,
) -> None:
    client = logged_in(site)
    form = client.get("/admin/articles/new")
    assert "script-src 'self'" in form.headers["content-security-policy"]
    assert "script-src" not in client.get("/admin/articles").headers["content-security-policy"]
    assert "script-src" not in httpx.get(f"{site.url}/").headers["content-security-policy"]
    preview = client.post(
        "/admin/articles/preview",
        data={"csrf_token": csrf_of(form), **fields(site, title="Predogled naslova")},
    )
    assert preview.status_code == 200
    assert "<h1>Predogled naslova</h1>" in preview.text
    assert "<strong>odprta</strong>" in preview.text and "<h2>Kje</h2>" in preview.text
    refused = client.post("/admin/articles/preview", data=fields(site))
    assert refused.status_code == 403


def test_the_admin_button_takes_the_imported_version_staff_kept_aside(site: AdminSite) -> None:
    past = utcnow() - timedelta(days=1)
    add_articles(site.engine, draft(7, title="Izvirni naslov", published_at=past))
    with Session(site.engine) as session:
        key = session.exec(select(Article)).one().id or 0
    client = logged_in(site)
    token, version = edit_form(client, key)
    saved = client.post(
        f"/admin/articles/{key}/edit",
        data={
            "csrf_token": token,
            "version": version,
            **fields(site, when=past, title="Popravljeni naslov", topics=[]),
        },
    )
    assert saved.status_code == 303
    add_articles(site.engine, draft(7, title="Novejši uvoženi naslov", published_at=past))
    page = client.get(f"/admin/articles/{key}")
    assert "Popravljeni naslov" in page.text
    assert "Čaka novejša uvožena različica" in page.text
    taken = client.post(f"/admin/articles/{key}/take-import", data={"csrf_token": csrf_of(page)})
    assert taken.status_code == 303
    page = client.get(f"/admin/articles/{key}")
    assert "Novejši uvoženi naslov" in page.text and "Čaka novejša" not in page.text
    history = client.get(f"/admin/articles/{key}/revisions").text
    assert "+Novejši uvoženi naslov" in history
