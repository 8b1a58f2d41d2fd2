"""The CMS API over real HTTP: tokens, CRUD, 422 details, sanitising, feeds and the digest."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from publisher.articles.formats.json_import import parse_json
from publisher.cli import app as cli_app
from publisher.db import session_scope
from publisher.digests.content import articles_for
from publisher.digests.editions import Control, control, get_edition
from publisher.digests.periods import current_period
from publisher.staff.api_tokens import create_token, revoke_token
from publisher.staff.models import Role
from publisher.subscribers.lists import create_list, get_list
from publisher.subscribers.models import Source
from publisher.subscribers.subscriptions import subscribe
from tests.web.conftest import LiveSite

ARTICLE: dict[str, Any] = {
    "id": "cms-4711",
    "title": "Zapora Ljubljanske ceste",
    "published_at": "2025-03-05T09:30:00+01:00",
    "body_html": "<p>Cesta bo zaprta od 10. do 14. marca.</p>",
    "topics": ["Promet"],
}


@pytest.fixture
def token(engine: Engine) -> str:
    with session_scope(engine) as session:
        _, secret = create_token(session, "cms", Role.approver)
    return secret


@pytest.fixture
def api(live_site: LiveSite, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_site.url + "/api", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not true within {timeout} s"
        time.sleep(0.05)


# --- who may call ---------------------------------------------------------------------------


ROUTES = [
    ("GET", "/articles"),
    ("POST", "/articles"),
    ("GET", "/articles/1"),
    ("PUT", "/articles/1"),
    ("DELETE", "/articles/1"),
    ("GET", "/topics"),
    ("PUT", "/topics/promet"),
    ("GET", "/lists"),
    ("GET", "/editions"),
    ("POST", "/editions"),
]


def test_every_route_refuses_callers_without_a_valid_token(
    live_site: LiveSite, engine: Engine, token: str
) -> None:
    with session_scope(engine) as session:
        _, revoked = create_token(session, "old-cms")
        revoke_token(session, "old-cms")
    wrong = token[:-4] + "AAAA"
    headers_tried: list[dict[str, str]] = [
        {},
        {"Authorization": f"Bearer {wrong}"},
        {"Authorization": f"Bearer {revoked}"},
        {"Authorization": f"Basic {token}"},
        {"Cookie": f"token={token}"},
    ]
    with httpx.Client(base_url=live_site.url + "/api") as client:
        for method, path in ROUTES:
            for headers in headers_tried:
                response = client.request(method, path, headers=headers, json=ARTICLE)
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert "detail" in response.json()
        # And the article was never created by any of those calls.
        ok = client.get("/articles", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json() == []


def test_api_token_commands_print_the_secret_once_and_revoke_it(
    live_site: LiveSite, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    runner = CliRunner()
    created = runner.invoke(cli_app, ["api-token", "create", "spletna-stran"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("pub_") and len(secret) > 40
    listing = runner.invoke(cli_app, ["api-token", "list"])
    assert "spletna-stran" in listing.stdout and secret[:12] in listing.stdout
    assert secret not in listing.stdout  # the secret itself is never shown again
    again = runner.invoke(cli_app, ["api-token", "create", "spletna-stran"])
    assert again.exit_code == 1 and "already exists" in again.stderr

    url = live_site.url + "/api/topics"
    assert httpx.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    revoked = runner.invoke(cli_app, ["api-token", "revoke", "spletna-stran"])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert httpx.get(url, headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert "revoked" in runner.invoke(cli_app, ["api-token", "list"]).stdout


def test_openapi_document_and_docs_page_work_under_the_sites_csp(live_site: LiveSite) -> None:
    with httpx.Client(base_url=live_site.url) as client:
        schema = client.get("/api/openapi.json").json()
        assert {"/articles", "/articles/{key}", "/topics", "/lists", "/editions"} <= set(
            schema["paths"]
        )
        assert schema["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
        assert "DELETE withdraws" in schema["info"]["description"]
        assert set(schema["paths"]["/articles/{key}"]) == {"get", "put", "delete"}

        docs = client.get("/api/docs")
        assert docs.status_code == 200
        policy = docs.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy
        assert "<script>" not in docs.text  # no inline script: every script is a file of ours
        for asset in ("/api/docs/assets/swagger-ui-bundle.js", "/api/docs/assets/swagger-ui.css"):
            assert asset in docs.text
            assert client.get(asset).status_code == 200
        assert "SwaggerUIBundle" in client.get("/api/docs/init.js").text
        assert not any(
            "cdn" in src for src in docs.text.split('src="')[1:]
        )  # nothing from elsewhere


# --- articles -------------------------------------------------------------------------------


def test_articles_are_created_read_replaced_and_withdrawn(
    api: httpx.Client, live_site: LiveSite
) -> None:
    created = api.post("/articles", json=ARTICLE)
    assert created.status_code == 201
    article = created.json()
    assert created.headers["Location"] == f"/api/articles/{article['id']}"
    assert article["title"] == ARTICLE["title"] and article["topics"] == ["promet"]
    assert article["status"] == "published" and article["source"] == "api:cms"
    assert article["link"] == f"{live_site.url}/articles/{article['slug']}"

    assert article["outcome"] == "imported"
    assert {**api.get(f"/articles/{article['id']}").json(), "outcome": "imported"} == article
    assert api.get(f"/articles/{article['slug']}").json()["id"] == article["id"]
    assert api.get("/articles/999").status_code == 404

    again = api.post("/articles", json=ARTICLE)  # the CMS pushes the same item twice
    assert again.status_code == 200 and again.json()["id"] == article["id"]

    changed = dict(ARTICLE, title="Zapora Ljubljanske ceste podaljšana", summary="Do 21. marca.")
    replaced = api.put(f"/articles/{article['id']}", json=changed)
    assert replaced.status_code == 200
    assert replaced.json()["title"] == changed["title"]
    assert replaced.json()["uid"] == article["uid"]  # aggregators see an update, not a new item
    assert replaced.json()["summary"] == "Do 21. marca."

    withdrawn = api.delete(f"/articles/{article['id']}")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert api.get(f"/articles/{article['id']}").json()["status"] == "withdrawn"  # kept
    assert api.get("/articles").json() == []
    assert [a["id"] for a in api.get("/articles?include_withdrawn=true").json()] == [article["id"]]
    assert httpx.get(article["link"]).status_code == 410

    restored = api.put(f"/articles/{article['id']}", json=dict(changed, status="published"))
    assert restored.json()["status"] == "published"
    assert httpx.get(article["link"]).status_code == 200


def test_invalid_articles_get_422_naming_each_field(api: httpx.Client) -> None:
    response = api.post(
        "/articles",
        json={"title": "", "published_at": "7. marec", "tags": ["x"], "image_url": "ftp://x"},
    )
    assert response.status_code == 422
    body = response.json()
    problems = {tuple(problem["loc"]): problem["msg"] for problem in body["detail"]}
    assert ("body", "title") in problems
    assert ("body", "published_at") in problems
    assert "Extra inputs" in problems[("body", "tags")]
    assert ("body", "image_url") in problems
    assert "body.title" in body["message"]
    assert all("input" not in problem for problem in body["detail"])  # never echoed back

    no_body = api.post("/articles", json={"title": "Brez besedila", "published_at": "2025-03-05"})
    assert no_body.status_code == 422
    assert "body_html or body_text" in no_body.json()["message"]

    empty = api.post("/articles", json=dict(ARTICLE, body_html="<script>x()</script>"))
    assert empty.status_code == 422  # nothing left after sanitising: the importer's rule
    assert empty.json()["detail"][0]["msg"] == "article has no text"

    not_json = api.post(
        "/articles", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422
    assert api.get("/articles").json() == []


def test_oversized_bodies_are_refused_before_parsing(api: httpx.Client) -> None:
    huge = dict(ARTICLE, body_text="besedilo " * 300_000)  # about 2.7 MB
    response = api.post("/articles", json=huge)
    assert response.status_code == 413
    assert "MiB" in response.json()["detail"]


def test_pushed_html_is_sanitised_exactly_like_an_import(
    api: httpx.Client, live_site: LiveSite
) -> None:
    dirty = (
        '<p onclick="steal()">Dobrodošli <a href="javascript:alert(1)">tu</a>'
        '<script>alert("x")</script><style>p{}</style>'
        '<img src="https://novomesto.si/a.jpg" onerror="x()"></p>'
    )
    item = dict(ARTICLE, body_html=dirty)
    stored = api.post("/articles", json=item).json()
    for bad in ("<script", "onclick", "onerror", "javascript:", "<style", "alert"):
        assert bad not in stored["body_html"]
    assert "Dobrodošli" in stored["body_html"]
    imported = parse_json(json.dumps(item), "izvoz.json", tz=live_site.settings.tz).drafts[0]
    assert stored["body_html"] == imported.body_html
    assert stored["body_text"] == imported.body_text
    assert "alert" not in httpx.get(stored["link"]).text


def test_a_pushed_article_reaches_the_feeds_and_the_next_digest(
    api: httpx.Client, live_site: LiveSite, engine: Engine
) -> None:
    settings = live_site.settings
    with session_scope(engine) as session:
        create_list(session, "tedenske-novice", "Tedenske novice")
    published = datetime.now(settings.tz) - timedelta(minutes=5)
    item = dict(ARTICLE, id="cms-9001", published_at=published.isoformat())
    article = api.post("/articles", json=item).json()

    def in_feed() -> bool:
        feed = feedparser.parse(httpx.get(live_site.url + "/feeds/atom.xml").content)
        return any(entry.id == article["uid"] for entry in feed.entries)

    wait_until(in_feed)  # the feed cache looks at the store once a second
    feed = feedparser.parse(httpx.get(live_site.url + "/feeds/atom.xml").content)
    entry = next(entry for entry in feed.entries if entry.id == article["uid"])
    assert entry.title == ARTICLE["title"] and entry.link == article["link"]

    with Session(engine) as session:
        mailing_list = get_list(session, "tedenske-novice")
        period = current_period(settings.tz, now=published)
        carried = articles_for(session, mailing_list, period, settings)
    assert [a.id for a in carried] == [article["id"]]


# --- topics, lists, editions ----------------------------------------------------------------


def test_topics_and_lists_are_readable_and_topics_renamable(
    api: httpx.Client, engine: Engine
) -> None:
    api.post("/articles", json=ARTICLE)
    assert api.put("/topics/promet", json={"name": "Promet in ceste"}).status_code == 200
    assert api.put("/topics/Ne veljá", json={"name": "x"}).status_code == 422
    assert api.put("/topics/kultura", json={"name": "Kultura"}).json()["articles"] == 0
    topics = {topic["slug"]: topic for topic in api.get("/topics").json()}
    assert topics["promet"] == {
        "slug": "promet",
        "name": "Promet in ceste",
        "name_en": None,
        "articles": 1,
    }
    assert "kultura" in topics
    named = api.put("/topics/promet", json={"name": "Promet in ceste", "name_en": " Traffic "})
    assert named.json()["name_en"] == "Traffic"  # cleaned as every staff entry point cleans it
    kept = api.put("/topics/promet", json={"name": "Promet in ceste"})  # left out: unchanged
    assert kept.json()["name_en"] == "Traffic"
    too_long = api.put("/topics/promet", json={"name": "Promet", "name_en": "x" * 201})
    assert too_long.status_code == 422

    with session_scope(engine) as session:
        create_list(session, "promet", "Promet", topics=["promet"])
    lists = api.get("/lists").json()
    assert lists == [
        {
            "slug": "promet",
            "name": "Promet",
            "name_en": None,
            "description": "",
            "language": "sl",
            "public": True,
            "topics": ["promet"],
            "subscribers": {},
        }
    ]
    assert api.get("/lists/promet").json() == lists[0]
    assert api.get("/lists/ni-je").status_code == 404


def test_editions_are_approved_once_through_the_api(api: httpx.Client, engine: Engine) -> None:
    api.post("/articles", json=ARTICLE)  # week 2025-W10
    with session_scope(engine) as session:
        create_list(session, "tedenske-novice", "Tedenske novice")
        subscribe(
            session, "obcanka@example.org", "tedenske-novice", source=Source.staff, confirmed=True
        )
    request = {"list": "tedenske-novice", "period": "2025-W10", "send": False}

    first = api.post("/editions", json=request)
    assert first.status_code == 202
    edition = first.json()
    assert edition["status"] == "approved" and edition["period"] == "2025-W10"
    assert edition["state"] == "sending" and edition["finished"] is False  # queued for a worker
    assert edition["approved_by"] == "API token cms"
    assert edition["archive_url"].endswith("/archive/tedenske-novice/2025-W10")

    second = api.post("/editions", json=request)  # a retry, or a double click in the CMS
    assert second.status_code == 200 and second.json()["id"] == edition["id"]
    assert [e["id"] for e in api.get("/editions").json()] == [edition["id"]]
    assert api.get("/editions/tedenske-novice/2025-W10").json()["id"] == edition["id"]
    assert api.get(f"/editions/{edition['id']}").json()["subject"]
    with session_scope(engine) as session:
        control(session, get_edition(session, edition["id"]), Control.cancel)
    cancelled = api.get(f"/editions/{edition['id']}").json()
    assert cancelled["state"] == "cancelled" and cancelled["finished"] is True

    empty = api.post("/editions", json=dict(request, period="2025-W11"))
    assert empty.status_code == 409 and "nothing to send" in empty.json()["detail"]
    unknown = api.post("/editions", json=dict(request, list="ni-je"))
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "list"]
    bad_period = api.post("/editions", json=dict(request, period="teden 10"))
    assert bad_period.status_code == 422
    assert bad_period.json()["detail"][0]["loc"] == ["body", "period"]


# --- inputs that answered 500 -----------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["offset=99999999999999999999", "offset=9223372036854775808", "since=0001-01-01"],
)
def test_paging_past_any_archive_is_a_422_not_a_server_error(api: httpx.Client, query: str) -> None:
    response = api.get(f"/articles?{query}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


@pytest.mark.parametrize(
    ("field", "moment"),
    [
        ("published_at", "0281-05-17T04:03:00-22:57"),  # before year 1 in UTC: no datetime
        ("published_at", "9999-12-31T23:59:00-05:00"),  # after year 9999 in UTC
        ("updated_at", "0472-04-14T02:38:38.94Z"),  # stored, then unreadable on the way out
    ],
)
def test_moments_outside_any_real_article_are_a_422_naming_the_field(
    api: httpx.Client, field: str, moment: str
) -> None:
    response = api.post("/articles", json=dict(ARTICLE, **{field: moment}))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]


@pytest.mark.parametrize(
    "topic",
    [
        "x" * 201,  # longer than a topic's name can be
        "---",  # nothing to make a slug from
        "Pro\x00met",  # NUL: PostgreSQL cannot store it
        {"slug": "../../../../tmp/x", "name": "Ven"},  # a slug that is a path
        {"slug": "Promet Ceste", "name": "Promet"},
    ],
)
def test_topic_strings_that_are_no_topic_are_a_422(api: httpx.Client, topic: Any) -> None:
    response = api.post("/articles", json=dict(ARTICLE, topics=[topic]))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:3] == ["body", "topics", 0]
    assert api.get("/topics").json() == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/articles", dict(ARTICLE, title="Zapora\x00")),
        ("POST", "/articles", dict(ARTICLE, id="x" * 600)),
        ("POST", "/articles", dict(ARTICLE, id=None, url="https://cms.test/" + "a" * 600)),
        ("PUT", "/topics/promet", {"name": "Pro\x00met"}),
        ("POST", "/editions", {"list": "tedenske\x00novice"}),
        ("GET", "/articles/a%00b", None),
        ("GET", "/articles?topic=pro%00met", None),
        ("GET", "/lists/a%00b", None),
        ("GET", "/editions/a%00b", None),
    ],
)
def test_text_the_database_cannot_hold_is_a_422(
    api: httpx.Client, method: str, path: str, body: Any
) -> None:
    response = api.request(method, path, json=body)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("path", ["/articles/99999999999999999999", "/editions/99999999999999999"])
def test_ids_past_any_row_are_not_found(api: httpx.Client, path: str) -> None:
    assert api.get(path).status_code == 404
