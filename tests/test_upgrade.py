"""The upgrade path: a database made by the previous release (0.14.0's demo) upgrades with
``publisher db upgrade``, which keeps a backup of it first, and the demo's paths then work on
it: the digest preview, the site's home page and a feed over real HTTP."""

from __future__ import annotations

import stat
import tarfile
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, func, select

from publisher.articles.models import Article
from publisher.config import load_settings
from publisher.db import make_engine, revisions, schema_state, upgrade
from publisher.web.app import create_app
from tests.backup_support import cli, flat, load_previous_release
from tests.web.conftest import serve


def article_count(url: str) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        count = session.exec(select(func.count()).select_from(Article)).one()
    engine.dispose()
    return int(count)


def backups(folder: Path) -> list[Path]:
    return sorted(folder.glob("publisher-*.tar.gz")) if folder.is_dir() else []


def test_the_previous_releases_database_upgrades_and_the_demo_works_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "site" / "publisher.db"
    database.parent.mkdir()
    load_previous_release(database)
    url = f"sqlite:///{database}"
    before = article_count(url)
    behind = not schema_state(make_engine(url)).up_to_date
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)

    code, out = cli("db", "upgrade")
    assert code == 0, out
    assert f"Database at migration {revisions()[-1]}" in flat(out)
    made = backups(database.parent / "backups")
    if behind:  # a release with new migrations: the old database is kept first
        assert len(made) == 1 and f"Backup written: {made[0]}" in flat(out)
    else:
        assert made == []  # nothing to apply, nothing to back up
    assert article_count(url) == before

    code, out = cli("digest", "preview", "--list", "tedenske-novice", "--period", "2025-W12")
    assert code == 0, out
    assert "<html" in out.lower() and "Nova kolesarska povezava" in flat(out)

    engine = make_engine(url)

    def make_app(base: str) -> FastAPI:
        return create_app(load_settings(database_url=url, base_url=base), engine)

    with serve(make_app) as (base, _app), httpx.Client(base_url=base, timeout=30) as client:
        home = client.get("/")
        assert home.status_code == 200 and "Nova kolesarska povezava" in home.text
        feed = client.get("/feeds/atom.xml")
        assert feed.status_code == 200 and feed.text.count("<entry>") >= 5
    engine.dispose()


def test_db_upgrade_keeps_a_backup_of_the_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "publisher.db"
    url = f"sqlite:///{database}"
    previous = revisions()[-2]
    upgrade(make_engine(url), previous)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", url)

    code, out = cli("db", "upgrade", "--backup-to", str(tmp_path / "kept"))
    assert code == 0, out
    [made] = backups(tmp_path / "kept")
    assert f"Backup written: {made}" in flat(out) and f"migration {previous}" in flat(out)
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    with tarfile.open(made, "r:gz") as tar:
        assert "database/publisher.sqlite3" in tar.getnames()
    assert schema_state(make_engine(url)).up_to_date

    code, out = cli("db", "upgrade")  # nothing to apply: no second backup
    assert code == 0 and "Backup written" not in out
    assert backups(tmp_path / "backups") == []


def test_db_upgrade_without_a_backup_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'publisher.db'}"
    upgrade(make_engine(url), revisions()[-2])
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", url)
    code, out = cli("db", "upgrade", "--no-backup")
    assert code == 0 and "No backup was taken" in flat(out)
    assert backups(tmp_path / "backups") == []
