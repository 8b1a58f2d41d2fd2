"""The media store: where the bytes of stored photos live, by name.

Two kinds, chosen by ``settings.media_store``: a folder (``media_dir``, by default ``media``
beside the SQLite file) and the database itself (table ``media_object``), so that on
PostgreSQL every web machine serves the same photos and the database's backup holds them.
``auto`` is the folder on SQLite and the database on PostgreSQL. Names are content-addressed
(``photos.rendition_name``): a name is written once and never changes.
"""

from __future__ import annotations

import mimetypes
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from publisher.clock import utcnow
from publisher.config import Settings, SettingsError
from publisher.db import conflict_insert
from publisher.media.models import MediaObject


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str


class MediaStore(Protocol):
    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Keep ``data`` under ``name`` (a second put of the same name keeps the first)."""

    def get(self, name: str) -> StoredFile | None:
        """The file of ``name``, or ``None`` when there is none."""

    def names(self) -> list[str]:
        """Every stored name, sorted (what a backup or a copy carries)."""


class FolderStore:
    """Files in one folder; each written to a temporary file and renamed into place, so a
    reader never sees half a photo."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, name: str, data: bytes, content_type: str) -> None:
        target = self.root / name
        if target.exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.root, prefix=".incoming-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> StoredFile | None:
        try:
            data = (self.root / name).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return StoredFile(data, content_type)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        # A name starting with a dot is a file still being written (see put).
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if entry.is_file() and not entry.name.startswith(".")
        )


class DatabaseStore:
    """Rows of ``media_object`` in the session's transaction: a photo's row and its files
    are committed together."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, name: str, data: bytes, content_type: str) -> None:
        insert = conflict_insert(self.session)
        self.session.execute(
            insert(MediaObject)
            .values(name=name, content_type=content_type, data=data, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )

    def get(self, name: str) -> StoredFile | None:
        row = self.session.get(MediaObject, name)
        return None if row is None else StoredFile(row.data, row.content_type)

    def names(self) -> list[str]:
        return list(self.session.exec(select(MediaObject.name).order_by(MediaObject.name)))


def store_kind(settings: Settings) -> str:
    """``folder`` or ``database``: what ``media_store`` means on this database."""
    if settings.media_store != "auto":
        return settings.media_store
    backend = make_url(settings.database_url).get_backend_name()
    return "folder" if backend == "sqlite" else "database"


def media_dir(settings: Settings) -> Path:
    """The folder store's folder: ``media_dir``, or ``media`` beside the SQLite file."""
    if settings.media_dir is not None:
        return settings.media_dir
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).parent / "media"
    raise SettingsError(
        "media_dir: the folder media store needs a folder; set media_dir "
        "(PUBLISHER_MEDIA_DIR) or media_store = 'database'"
    )


def media_store(settings: Settings, session: Session) -> MediaStore:
    """The media store in force for ``settings``; the database store works in ``session``."""
    if store_kind(settings) == "database":
        return DatabaseStore(session)
    return FolderStore(media_dir(settings))
