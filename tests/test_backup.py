"""``publisher backup`` while a digest is being sent, ``publisher restore`` into another empty
installation: every article, resident, consent and delivery row back, the photo served, and
an unsubscribe link made before the backup still working; and what a restore refuses."""

from __future__ import annotations

import io
import json
import stat
import tarfile
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from publisher.config import ensure_secret, load_settings
from publisher.db import make_engine, revisions, schema_state, upgrade
from publisher.delivery.models import OPEN_STATUSES, Delivery, DeliveryStatus
from publisher.delivery.runner import Senders
from publisher.digests.editions import approve
from publisher.digests.models import Edition
from publisher.digests.periods import parse_period
from publisher.links import SubscriberLinks
from publisher.maintenance.postgres import ToolError, tool_environment
from publisher.maintenance.tables import table_names
from publisher.media.photos import rendition_name
from publisher.media.store import media_store
from publisher.subscribers.lists import get_list
from publisher.subscribers.models import Subscriber
from publisher.web.app import create_app
from tests.backup_support import add_photo, cli, flat, ids, installation, throwaway_database
from tests.delivery.sending_support import LIST, PERIOD, SmtpServer, settings_for, stock
from tests.web.conftest import serve

RECIPIENTS = 300


def start_sending(engine, settings) -> object:  # type: ignore[no-untyped-def]
    """Approve this week's edition and start its send in this process; the running send."""
    with Session(engine) as session:
        edition = approve(
            session, settings, get_list(session, LIST), parse_period(PERIOD), approved_by="test"
        )
        session.commit()
        job_id = session.get(Edition, edition.id).job_id  # type: ignore[union-attr]
    return Senders(engine, settings).start(job_id, by="test")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_backup_taken_while_a_digest_is_sent_restores_elsewhere_with_nothing_missing(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "kept" / "publisher-backup.tar.gz"
    with (
        installation(kind, tmp_path / "site") as source_url,
        installation(kind, tmp_path / "elsewhere") as target_url,
    ):
        if kind == "sqlite":  # the secret key `publisher init` generates beside the file
            monkeypatch.delenv("PUBLISHER_SECRET_KEY")
            ensure_secret(load_settings(database_url=source_url))
        engine = make_engine(source_url)
        upgrade(engine)
        stock(engine, RECIPIENTS)
        with SmtpServer() as smtp:
            smtp.handler.script.delay = 0.02
            settings = settings_for(source_url, smtp.port)
            photo = add_photo(engine, settings, "test:0")
            with Session(engine) as session:
                resident = session.exec(select(Subscriber).order_by(Subscriber.id)).first()
                assert resident is not None
                list_id = get_list(session, LIST).id
                link = SubscriberLinks(settings).unsubscribe(resident.token_uid, list_id)
                photo_bytes = media_store(settings, session).get(rendition_name(photo, "large"))
            sending = start_sending(engine, settings)
            smtp.handler.wait_for(lambda: len(smtp.handler.received) >= 20, 60)

            smtp.handler.script.delay = 1.0  # a slow relay meanwhile: the backup is mid-send
            monkeypatch.setenv("PUBLISHER_DATABASE_URL", source_url)
            code, out = cli("backup", str(archive))
            assert code == 0, out
            smtp.handler.script.delay = 0.0
            assert sending.wait(180) and sending.error is None  # type: ignore[attr-defined]
        engine.dispose()
        source = ids(make_engine(source_url))

        assert stat.S_IMODE(archive.stat().st_mode) == 0o600
        assert "keep it encrypted and off this machine" in flat(out)
        if kind == "sqlite":
            assert "secret key (from" in flat(out) and "is in the backup" in flat(out)
        else:
            assert "The secret key is not in the backup" in flat(out)
            assert "The photos are kept in the database" in flat(out)

        monkeypatch.setenv("PUBLISHER_DATABASE_URL", target_url)
        code, out = cli("restore", str(archive))
        assert code == 0, out
        assert "Restored the backup" in flat(out)
        restored_engine = make_engine(target_url)
        restored = ids(restored_engine)
        for table in ("article", "subscriber", "consent"):
            assert restored[table] == source[table] and restored[table], table
        assert restored["delivery"] <= source["delivery"]
        assert len(restored["delivery"]) == RECIPIENTS  # every resident's row, as at approval
        with Session(restored_engine) as session:
            statuses = {row.status for row in session.exec(select(Delivery))}
        assert DeliveryStatus.sent in statuses  # taken mid-send: some sent, some not yet
        assert statuses & set(OPEN_STATUSES)

        target_settings: list[object] = []

        def make_app(url: str) -> FastAPI:
            settings = load_settings(database_url=target_url, base_url=url)
            target_settings.append(settings)
            return create_app(settings, restored_engine)

        with serve(make_app) as (url, _app), httpx.Client(base_url=url, timeout=30) as client:
            served = client.get(f"/media/{rendition_name(photo, 'large')}")
            assert served.status_code == 200
            assert photo_bytes is not None and served.content == photo_bytes.data
            token = link.rsplit("/", 1)[1]
            assert client.get(f"/unsubscribe/{token}").status_code == 200
            assert client.get(f"/unsubscribe/{token[:-4]}AAAA").status_code == 400
            home = client.get("/")
            assert home.status_code == 200 and "Novica 0" in home.text
        restored_engine.dispose()


@pytest.fixture
def small_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A backup of a small SQLite installation with a photo; (archive, the source's URL)."""
    source_url = f"sqlite:///{tmp_path / 'site' / 'publisher.db'}"
    engine = make_engine(source_url)
    upgrade(engine)
    stock(engine, 3)
    add_photo(engine, load_settings(database_url=source_url), "test:1")
    engine.dispose()
    archive = tmp_path / "publisher-backup.tar.gz"
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", source_url)
    code, out = cli("backup", str(archive))
    assert code == 0, out
    return archive, source_url


def rewrite(archive: Path, target: Path, change: dict[str, bytes]) -> None:
    """A copy of ``archive`` with the members named in ``change`` replaced."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz") as out:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            data = change.get(member.name, data)
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


def test_restore_refuses_a_tampered_archive_and_writes_nothing(
    small_backup: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, _ = small_backup
    with tarfile.open(archive, "r:gz") as tar:
        photo = next(name for name in tar.getnames() if name.startswith("media/"))
        original = tar.extractfile(photo).read()  # type: ignore[union-attr]
    tampered = tmp_path / "tampered.tar.gz"
    rewrite(archive, tampered, {photo: original[:-1] + bytes([original[-1] ^ 1])})
    target = tmp_path / "elsewhere" / "publisher.db"
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{target}")

    code, out = cli("restore", str(tampered))
    assert code == 1
    assert f"{photo} does not match its checksum" in flat(out)
    assert not target.exists() and not (target.parent / "media").exists()

    code, out = cli("restore", str(archive))  # the untouched archive goes in
    assert code == 0, out


def test_restore_refuses_a_backup_of_a_newer_release(
    small_backup: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, _ = small_backup
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    manifest["alembic_revision"] = "0999"
    newer = tmp_path / "newer.tar.gz"
    rewrite(archive, newer, {"manifest.json": json.dumps(manifest).encode()})
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{tmp_path / 'new' / 'p.db'}")

    code, out = cli("restore", str(newer))
    assert code == 1
    assert "migration 0999, which this release" in flat(out)
    assert "made by a newer release" in flat(out)


def test_restore_refuses_an_installation_that_is_not_empty(
    small_backup: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, source_url = small_backup
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", source_url)
    code, out = cli("restore", str(archive))
    assert code == 1
    assert "is not empty (" in flat(out) and "a restore goes only into an empty" in flat(out)

    target = tmp_path / "other" / "publisher.db"
    (target.parent / "media").mkdir(parents=True)
    (target.parent / "media" / "left-over.jpg").write_bytes(b"x")
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", f"sqlite:///{target}")
    code, out = cli("restore", str(archive))
    assert code == 1
    assert "already has files" in flat(out)
    assert not target.exists()


def test_a_backup_never_replaces_an_existing_file(
    small_backup: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, _ = small_backup
    before = archive.read_bytes()
    code, out = cli("backup", str(archive))
    assert code == 1 and "exists already" in flat(out)
    assert archive.read_bytes() == before


def test_a_backup_of_an_older_release_is_restored_and_says_to_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_url = f"sqlite:///{tmp_path / 'site' / 'publisher.db'}"
    previous = revisions()[-2]
    upgrade(make_engine(source_url), previous)
    archive = tmp_path / "old.tar.gz"
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", source_url)
    assert cli("backup", str(archive))[0] == 0

    target_url = f"sqlite:///{tmp_path / 'elsewhere' / 'publisher.db'}"
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", target_url)
    code, out = cli("restore", str(archive))
    assert code == 0, out
    assert f"the backup is at migration {previous}" in flat(out)
    assert "run `publisher db upgrade`" in flat(out)
    assert schema_state(make_engine(target_url)).current == previous


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("tool", "said"),
    [
        (None, "pg_dump is not installed"),
        ("echo 'pg_dump (PostgreSQL) 9.6.24'", "pg_dump is version 9, older than the server's"),
    ],
)
def test_a_postgresql_backup_says_when_pg_dump_is_missing_or_too_old(
    tool: str | None, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    if tool is not None:
        script = tools / "pg_dump"
        script.write_text(f"#!/bin/sh\n{tool}\n")
        script.chmod(0o755)
    with throwaway_database() as url:
        upgrade(make_engine(url))
        monkeypatch.setenv("PUBLISHER_DATABASE_URL", url)
        monkeypatch.setenv("PATH", str(tools))
        code, out = cli("backup", str(tmp_path / "never.tar.gz"))
    assert code == 1 and said in flat(out)
    assert list(tmp_path.glob("*.tar.gz*")) == []


@pytest.mark.postgres
def test_an_sqlite_backup_is_not_restored_into_postgresql_and_points_to_db_copy(
    small_backup: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, _ = small_backup
    with throwaway_database() as url:
        monkeypatch.setenv("PUBLISHER_DATABASE_URL", url)
        code, out = cli("restore", str(archive))
        assert code == 1
        assert "a restore does not convert" in flat(out)
        assert "`publisher db copy --to postgresql://…`" in flat(out)
        assert table_names(make_engine(url)) == []


def test_the_postgresql_tools_get_the_password_through_the_environment() -> None:
    env = tool_environment(
        "postgresql+psycopg://novice:S3cret%40x@db.example.org:5433/novice?sslmode=require"
    )
    assert env["PGPASSWORD"] == "S3cret@x" and env["PGUSER"] == "novice"
    assert (env["PGHOST"], env["PGPORT"], env["PGDATABASE"]) == ("db.example.org", "5433", "novice")
    assert env["PGSSLMODE"] == "require"
    with pytest.raises(ToolError, match="'krbsrvname' is not understood"):
        tool_environment("postgresql://u@h/d?krbsrvname=x")
