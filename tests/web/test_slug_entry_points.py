"""One slug rule at every entry point, and a feed export that never leaves its folder.

A topic slug names a folder of ``publisher feeds build``: ``../../../../tmp/x`` once made the
export write outside the folder it was given. Each way a slug comes in is tried here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from publisher.articles.models import Article, ArticleTopic
from publisher.cli import app
from publisher.db import session_scope
from publisher.slugs import InvalidSlug, check_slug, slug_problem
from publisher.staff.api_tokens import create_token
from publisher.topics import Topic
from tests.feeds.helpers import add_articles, draft
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in, token_for
from tests.web.conftest import LiveSite

admin_site = admin_support.admin_site
runner = CliRunner()

TRAVERSAL = "../../../../tmp/x"
BAD_SLUGS = [TRAVERSAL, "a/b", "..", "Promet", "promet.", "pro met", "-promet", "a--b", "x" * 81]


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLISHER_BASE_URL", "https://novice.test")
    assert run("init")[0] == 0
    return tmp_path


def topic_slugs(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.execute(select(Topic.slug).order_by(Topic.slug)).scalars())


@pytest.mark.parametrize("slug", BAD_SLUGS)
def test_the_rule_refuses_anything_but_lower_case_words_joined_by_hyphens(slug: str) -> None:
    assert slug_problem(slug) is not None
    with pytest.raises(InvalidSlug):
        check_slug(slug)


def test_the_rule_takes_ordinary_slugs() -> None:
    for slug in ("promet", "mestni-svet", "2025", "kultura-in-sport"):
        assert check_slug(slug) == slug


@pytest.fixture
def api(live_site: LiveSite, engine: Engine) -> Iterator[httpx.Client]:
    with session_scope(engine) as session:
        _, secret = create_token(session, "cms")
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=live_site.url + "/api", headers=headers) as client:
        yield client


def test_the_api_refuses_a_topic_slug_with_a_path_naming_the_field(
    api: httpx.Client, engine: Engine
) -> None:
    article = {
        "id": "cms-1",
        "title": "Zapora",
        "published_at": "2025-03-05T09:30:00+01:00",
        "body_text": "Cesta bo zaprta.",
        "topics": [{"slug": TRAVERSAL, "name": "X"}],
    }
    response = api.post("/articles", json=article)
    assert response.status_code == 422
    locations = [error["loc"] for error in response.json()["detail"]]
    assert any(loc[:3] == ["body", "topics", 0] and loc[-1] == "slug" for loc in locations)
    assert "not a slug" in response.text
    # A name is made into a slug (č→c), never taken as a path.
    article["topics"] = [{"name": "Čistilna akcija"}, "../../Šola"]
    assert api.post("/articles", json=article).status_code == 201
    assert topic_slugs(engine) == ["cistilna-akcija", "sola"]
    assert api.put("/topics/..%2F..%2Fx", json={"name": "X"}).status_code in {404, 422}


def test_a_json_import_rejects_the_item_and_imports_the_rest(workdir: Path, engine: Engine) -> None:
    items = [
        {"title": "Slaba", "published_at": "2025-03-05", "body_text": "A", "topics": [
            {"slug": TRAVERSAL, "name": "X"}]},
        {"title": "Dobra", "published_at": "2025-03-06", "body_text": "B", "topics": ["Šport"]},
    ]  # fmt: skip
    (workdir / "novice.json").write_text(json.dumps(items, indent=1), encoding="utf-8")
    code, out, err = run("articles", "import", "novice.json")
    assert code == 1
    assert "novice.json:2" in out + err and "topics[0].slug" in out + err
    assert topic_slugs(engine) == ["sport"]


def test_a_feed_import_makes_category_names_into_slugs(workdir: Path, engine: Engine) -> None:
    feed = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title><link>https://t.example/</link>
<item><title>Novica</title><link>https://t.example/1</link><guid>1</guid>
<pubDate>Wed, 05 Mar 2025 09:00:00 +0100</pubDate><description>Besedilo.</description>
<category>{TRAVERSAL}</category><category>Kultura in šport</category></item>
</channel></rss>"""
    (workdir / "tuji.xml").write_text(feed, encoding="utf-8")
    code, _, err = run("articles", "import", "tuji.xml")
    assert code == 0, err
    assert topic_slugs(engine) == ["kultura-in-sport", "tmp-x"]


def test_the_import_option_and_office_export_topics_are_slugs(
    workdir: Path, engine: Engine
) -> None:
    text = "Naslov novice\n\ndatum: 7. 3. 2025\n\nBesedilo novice.\n"
    (workdir / "novica.txt").write_text(text, encoding="utf-8")
    code, _, err = run("articles", "import", "novica.txt", "--topic", TRAVERSAL)
    assert code == 0, err
    assert topic_slugs(engine) == ["tmp-x"]


def test_cli_topics_add_and_lists_create_refuse_a_bad_slug(workdir: Path, engine: Engine) -> None:
    code, _, err = run("topics", "add", TRAVERSAL, "--name", "X")
    assert code == 1 and "not a slug" in err and "Traceback" not in err
    code, _, err = run("lists", "create", "../novice", "--name", "Novice")
    assert code == 1 and "not a slug" in err
    assert run("topics", "add", "mestni-svet", "--name", "Mestni svet")[0] == 0
    assert topic_slugs(engine) == ["mestni-svet"]


def test_the_admin_topic_form_refuses_a_bad_slug(admin_site: AdminSite) -> None:
    client = logged_in(admin_site)
    refused = client.post(
        "/admin/topics", data={"csrf_token": token_for(client), "name": "X", "slug": TRAVERSAL}
    )
    assert refused.status_code == 400 and "Kratka oznaka ni veljavna" in refused.text
    assert topic_slugs(admin_site.engine) == []


def force_topic(engine: Engine, slug: str) -> None:
    """File the first article under a topic with this slug, past every check."""
    with session_scope(engine) as session:
        topic_id = session.execute(insert(Topic).values(slug=slug, name=slug)).inserted_primary_key[
            0
        ]
        article_id = session.execute(select(Article.id).order_by(Article.id)).scalars().first()
        session.execute(insert(ArticleTopic).values(article_id=article_id, topic_id=topic_id))


def files_below(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_feeds_build_writes_nothing_outside_its_folder_whatever_the_database_holds(
    workdir: Path, engine: Engine
) -> None:
    add_articles(engine, draft(1, title="Prava novica", topics=("promet",)))
    force_topic(engine, "../../escaped")
    force_topic(engine, "..")  # stays inside, but would overwrite the site's own feeds
    (workdir / "site").mkdir()
    code, _, err = run("feeds", "build", "--out", "site/feeds")
    assert code == 1
    assert "'../../escaped' is not a slug" in err and "fix the topic slugs" in err
    assert not (workdir / "escaped").exists() and not (workdir / "site" / "escaped").exists()
    written = files_below(workdir)
    assert {"site/feeds/rss.xml", "site/feeds/topics/promet/atom.xml"} <= written
    outside = {path for path in written if not path.startswith(("site/feeds/", "publisher.db"))}
    assert not outside, outside
    site_feed = (workdir / "site/feeds/rss.xml").read_text(encoding="utf-8")
    assert "Novice in obvestila" in site_feed and "Novice na temo" not in site_feed


def test_feeds_build_does_not_follow_a_link_planted_in_its_folder(
    workdir: Path, engine: Engine
) -> None:
    add_articles(engine, draft(1, topics=("promet",)))
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    (workdir / "out" / "topics").mkdir(parents=True)
    (workdir / "out" / "topics" / "promet").symlink_to(elsewhere, target_is_directory=True)
    code, _, err = run("feeds", "build", "--out", "out")
    assert code == 1 and "outside" in err
    assert files_below(elsewhere) == set()
    assert "rss.xml" in files_below(workdir / "out")
