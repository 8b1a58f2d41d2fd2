"""``publisher restore``: a backup archive put back into an empty installation.

Only into an empty one: a restore never mixes with or replaces data that is there (a
forgotten old installation, or the live one named by mistake); the operator empties or
creates the target first. The archive is checked before anything is written: its format, every
file's checksum, and its migration: a backup made by a newer release is refused (this code
does not know its schema); an older one is restored as it was and then upgraded with
``publisher db upgrade``, which keeps a backup of it first, so the restore itself only ever
writes what the archive holds.
"""

from __future__ import annotations

import hmac
import mimetypes
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.config import Settings, secret_file
from publisher.db import SchemaState, revisions, schema_state
from publisher.maintenance import postgres
from publisher.maintenance.archive import (
    DATABASE_POSTGRESQL,
    DATABASE_SQLITE,
    MEDIA_PREFIX,
    SECRET,
    Manifest,
    read_archive,
)
from publisher.maintenance.backup import OnStep, Step, database_kind, no_progress, sqlite_path
from publisher.maintenance.tables import filled_tables, table_names
from publisher.media.store import FolderStore, media_dir, media_store, store_kind


class RestoreRefused(RuntimeError):
    """The archive cannot go into this installation; the message says why and what to do."""


@dataclass
class RestoreReport:
    manifest: Manifest
    state: SchemaState
    photos: int
    secret_to: Path | None
    """Where the archive's secret key was written; ``None`` when it held none."""
    notes: list[str] = field(default_factory=list)
    """What the operator must still do (set the secret, upgrade the schema)."""


def restore_backup(
    settings: Settings, engine: Engine, archive: Path, on_step: OnStep = no_progress
) -> RestoreReport:
    """Check ``archive`` and put it into the empty installation of ``settings``."""
    with tempfile.TemporaryDirectory(prefix="publisher-restore-") as work:
        unpacked = Path(work)
        on_step(Step("checking the archive", 0, 1))
        manifest = read_archive(archive, unpacked)
        on_step(Step("checking the archive", 1, 1))
        _check_fits(settings, manifest)
        secret = _archived_secret(unpacked, manifest)
        _check_empty(settings, engine, secret)

        on_step(Step("database", 0, 1))
        engine.dispose()
        if manifest.database == "sqlite":
            _restore_sqlite(unpacked / DATABASE_SQLITE, sqlite_path(settings))
        else:
            postgres.restore(engine, settings.database_url, unpacked / DATABASE_POSTGRESQL)
        on_step(Step("database", 1, 1))

        photos = [entry.name for entry in manifest.files if entry.name.startswith(MEDIA_PREFIX)]
        on_step(Step("photos", 0, len(photos)))
        with Session(engine) as session:
            store = media_store(settings, session)
            for done, member in enumerate(photos, 1):
                name = member.removeprefix(MEDIA_PREFIX)
                kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                store.put(name, (unpacked / member).read_bytes(), kind)
                on_step(Step("photos", done, len(photos)))
            session.commit()

        report = RestoreReport(
            manifest=manifest, state=schema_state(engine), photos=len(photos), secret_to=None
        )
        _restore_secret(settings, secret, report)
        on_step(Step("secret key", 1, 1))
    if not report.state.up_to_date:
        report.notes.append(
            f"the backup is at migration {report.state.current}, this release's newest is "
            f"{report.state.head}: run `publisher db upgrade` before `publisher serve`"
        )
    return report


def _check_fits(settings: Settings, manifest: Manifest) -> None:
    kind = database_kind(settings)
    if manifest.database != kind:
        how = (
            "restore it into an SQLite installation, then move it with "
            "`publisher db copy --to postgresql://…`"
            if manifest.database == "sqlite"
            else "restore it into an empty PostgreSQL database"
        )
        raise RestoreRefused(
            f"the backup is of a {manifest.database} database and this installation uses "
            f"{kind}; a restore does not convert: {how}"
        )
    known = revisions()
    if manifest.alembic_revision not in known:
        raise RestoreRefused(
            f"the backup is at migration {manifest.alembic_revision}, which this release "
            f"(newest migration {known[-1]}) does not know: it was made by a newer release "
            f"(publisher {manifest.publisher_version}); install that release or a newer one "
            "and restore with it"
        )


def _archived_secret(unpacked: Path, manifest: Manifest) -> str | None:
    if not manifest.secret_included:
        return None
    return (unpacked / SECRET).read_text(encoding="utf-8").strip()


def _check_empty(settings: Settings, engine: Engine, secret: str | None) -> None:
    """Refuse, naming what is there, unless the database, the photo folder and the secret
    file are empty or absent."""
    if database_kind(settings) == "sqlite":
        path = sqlite_path(settings)
        filled = filled_tables(engine) if path.is_file() else {}
        if filled:
            raise RestoreRefused(
                f"the database {path} is not empty ({_list(filled)}): a restore goes only "
                "into an empty installation; point database_url at a new file, or move this "
                "one away if it is really not needed"
            )
    else:
        present = table_names(engine)
        if present:
            raise RestoreRefused(
                f"the database {settings.database_url_safe} already has tables "
                f"({', '.join(present[:5])}{'…' if len(present) > 5 else ''}): restore into "
                "a new, empty PostgreSQL database (createdb), without `publisher init`"
            )
    if store_kind(settings) == "folder":
        folder = media_dir(settings)
        if FolderStore(folder).names():
            raise RestoreRefused(
                f"the photo folder {folder} already has files: a restore goes only into an "
                "empty installation; give media_dir an empty folder"
            )
    target = secret_file(settings.database_url)
    if secret is not None and target is not None and target.is_file():
        kept = target.read_text(encoding="utf-8").strip()
        if not hmac.compare_digest(kept, secret):
            raise RestoreRefused(
                f"{target} holds another secret key than the backup's: move it away, so that "
                "the restored links and sessions keep working with the backup's key"
            )


def _list(counts: dict[str, int]) -> str:
    shown = [f"{name}: {count} row(s)" for name, count in list(counts.items())[:4]]
    return ", ".join(shown) + (", …" if len(counts) > 4 else "")


def _restore_sqlite(snapshot: Path, target: Path) -> None:
    """The snapshot into ``target`` through the backup API (so an empty file that exists,
    WAL and all, is replaced cleanly)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(snapshot)
    try:
        check = source.execute("PRAGMA integrity_check").fetchone()
        if check is None or check[0] != "ok":
            raise RestoreRefused(f"the backup's database fails SQLite's integrity check: {check}")
        copy = sqlite3.connect(target, timeout=30)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()


def _restore_secret(settings: Settings, secret: str | None, report: RestoreReport) -> None:
    if secret is None:
        report.notes.append(
            "the backup holds no secret key (the old installation set it in its settings): "
            "set the same secret_key / PUBLISHER_SECRET_KEY here, or the links in mails "
            "already sent will not work"
        )
        return
    target = secret_file(settings.database_url)
    assert target is not None, "an SQLite installation keeps its secret beside the file"
    if not target.is_file():
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(secret + "\n")
    report.secret_to = target
    if settings.secret and not hmac.compare_digest(settings.secret, secret):
        report.notes.append(
            f"the settings set secret_key (or PUBLISHER_SECRET_KEY), which is in force over "
            f"{target} and differs from the backup's key: remove it from the settings, or "
            "links in mails sent before the backup will not work"
        )
