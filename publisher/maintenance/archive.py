"""The backup archive: one ``.tar.gz`` with the files of an installation and a ``manifest.json``
that says what they are (format, release, migration, database kind, time) and their SHA-256.

The archive holds the residents' addresses and the secret key that signs their links: it is
created readable by its owner only (mode 0600), never left half-written under its final name,
and read back only after every file's checksum matches the manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from publisher.clock import timestamp

FORMAT = "publisher-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_SQLITE = "database/publisher.sqlite3"
DATABASE_POSTGRESQL = "database/publisher.pgdump"
SECRET = "secret/secret_key"
MEDIA_PREFIX = "media/"
_MEMBER = re.compile(
    r"database/publisher\.(sqlite3|pgdump)|secret/secret_key|media/\w[\w.-]{0,199}"
)
"""Every name an archive may hold: nothing else is read, so no member can point outside."""
_CHUNK = 1 << 20


class ArchiveError(ValueError):
    """The file is not a backup this release can read, or it was changed after it was made."""


@dataclass(frozen=True)
class ArchivedFile:
    name: str
    sha256: str
    size: int


@dataclass
class Manifest:
    publisher_version: str
    alembic_revision: str | None
    database: str
    """``sqlite`` or ``postgresql``: which kind of store the dump is of."""
    created_at: str
    """ISO 8601, UTC, from ``publisher.clock``."""
    media_store: str
    """Where the installation kept its photos: ``folder`` (files under ``media/`` here) or
    ``database`` (inside the dump)."""
    secret_included: bool
    files: list[ArchivedFile] = field(default_factory=list)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise ArchiveError(f"{MANIFEST} is not of a publisher backup")
            if raw.get("format_version") != FORMAT_VERSION:
                raise ArchiveError(
                    f"backup format version {raw.get('format_version')!r}: this release reads "
                    f"version {FORMAT_VERSION}; restore it with the release that made it"
                )
            files = [ArchivedFile(**entry) for entry in raw.pop("files")]
            manifest = cls(**raw, files=files)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            if isinstance(exc, ArchiveError):
                raise
            raise ArchiveError(f"{MANIFEST} cannot be read: {exc}") from None
        for entry in manifest.files:
            if not _MEMBER.fullmatch(entry.name):
                raise ArchiveError(f"{MANIFEST} names a file no backup has: {entry.name!r}")
        return manifest


class ArchiveWriter:
    """Files added one by one, each hashed on the way in; the manifest goes in last."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self._tar = tar
        self.files: list[ArchivedFile] = []

    def add_file(self, name: str, path: Path) -> None:
        digest = hashlib.sha256()
        with path.open("rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
        info = self._info(name, path.stat().st_size)
        with path.open("rb") as source:
            self._tar.addfile(info, source)
        self.files.append(ArchivedFile(name, digest.hexdigest(), info.size))

    def add_bytes(self, name: str, data: bytes) -> None:
        self._tar.addfile(self._info(name, len(data)), io.BytesIO(data))
        self.files.append(ArchivedFile(name, hashlib.sha256(data).hexdigest(), len(data)))

    def finish(self, manifest: Manifest) -> None:
        manifest.files = list(self.files)
        data = manifest.to_json()
        self._tar.addfile(self._info(MANIFEST, len(data)), io.BytesIO(data))

    @staticmethod
    def _info(name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o600
        info.mtime = int(timestamp())
        return info


@contextmanager
def write_archive(path: Path) -> Iterator[ArchiveWriter]:
    """An archive at ``path``, mode 0600, that appears there only once it is whole.

    Refuses to replace an existing file: an older backup is never overwritten by mistake.
    """
    if path.exists():
        raise FileExistsError(f"{path} exists already: give a new file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.fchmod(descriptor, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            yield ArchiveWriter(tar)
        if path.exists():
            raise FileExistsError(f"{path} appeared while the backup was written")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_archive(path: Path, into: Path) -> Manifest:
    """Unpack the archive at ``path`` into the folder ``into`` and check it against its manifest:
    every file named there present with its checksum, nothing else in it.

    Raises :class:`ArchiveError` saying what is wrong.
    """
    try:
        tar = tarfile.open(path, mode="r:gz")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError) as exc:
        raise ArchiveError(f"{path} is not a publisher backup (.tar.gz): {exc}") from None
    manifest: Manifest | None = None
    seen: dict[str, ArchivedFile] = {}
    with tar:
        try:
            for member in tar:
                if not member.isfile():
                    raise ArchiveError(f"{path} holds {member.name!r}, which is not a file")
                source = tar.extractfile(member)
                assert source is not None
                if member.name == MANIFEST:
                    manifest = Manifest.from_json(source.read(1 << 24))
                    continue
                if not _MEMBER.fullmatch(member.name):
                    raise ArchiveError(f"{path} holds {member.name!r}, which no backup has")
                seen[member.name] = _unpack(source, into / member.name)
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise ArchiveError(f"{path} is damaged or cut short: {exc}") from None
    if manifest is None:
        raise ArchiveError(f"{path} has no {MANIFEST}: not a publisher backup, or cut short")
    listed = {entry.name: entry for entry in manifest.files}
    for name, entry in listed.items():
        found = seen.get(name)
        if found is None:
            raise ArchiveError(f"{path}: {name} is listed in the manifest but missing")
        if found.sha256 != entry.sha256 or found.size != entry.size:
            raise ArchiveError(
                f"{path}: {name} does not match its checksum in the manifest; the archive was "
                "changed or damaged after it was made, so nothing was restored"
            )
    extra = sorted(set(seen) - set(listed))
    if extra:
        raise ArchiveError(f"{path}: {extra[0]} is not listed in the manifest")
    return manifest


def _unpack(source: IO[bytes], target: Path) -> ArchivedFile:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return ArchivedFile(target.name, digest.hexdigest(), size)
