"""``bounces process``: bounces saved by hand (``.eml`` files, mbox files, Maildirs, folders).

Each message is handled in a transaction of its own, so one unreadable file or broken message
is reported by name and the others are processed all the same.
"""

from __future__ import annotations

import mailbox
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.bounces.handler import handle_message
from publisher.delivery.bounces.policy import Handled
from publisher.tokens import Tokens


@dataclass(frozen=True)
class Saved:
    """One message found on disk, read only when its turn comes."""

    name: str
    """``file.eml``, ``box.mbox#3``, ``Maildir:key``: where to look for it."""
    read: Callable[[], bytes]


@dataclass(frozen=True)
class Processed:
    name: str
    handled: Handled | None
    error: str | None = None
    """Why it could not be read or recorded; ``handled`` is then ``None``."""


def saved_messages(paths: Sequence[Path]) -> Iterator[Saved | Processed]:
    """Every message under ``paths``; a path that cannot be read yields a :class:`Processed`
    with its error instead."""
    for path in paths:
        try:
            yield from _messages_at(path)
        except (OSError, mailbox.Error, ValueError) as exc:
            yield Processed(str(path), None, _error(exc))


def _messages_at(path: Path) -> Iterator[Saved | Processed]:
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            yield from _maildir(path)
            return
        for child in sorted(path.rglob("*")):
            if child.is_file() and not child.name.startswith("."):
                try:
                    yield from _file(child)
                except (OSError, mailbox.Error, ValueError) as exc:
                    yield Processed(str(child), None, _error(exc))
        return
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    yield from _file(path)


def _file(path: Path) -> Iterator[Saved]:
    with path.open("rb") as file:
        start = file.read(5)
    if start == b"From ":
        box = mailbox.mbox(path, create=False)
        for number, key in enumerate(box.keys(), start=1):
            yield Saved(f"{path}#{number}", lambda key=key, box=box: box.get_bytes(key))
        return
    yield Saved(str(path), path.read_bytes)


def _maildir(path: Path) -> Iterator[Saved]:
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.keys()):
        yield Saved(f"{path}:{key}", lambda key=key: box.get_bytes(key))


def process_saved(
    engine: Engine, settings: Settings, found: Sequence[Saved | Processed]
) -> Iterator[Processed]:
    """Handle each saved message in its own transaction; never stops at a bad one."""
    tokens = Tokens.from_settings(settings)
    for item in found:
        if isinstance(item, Processed):
            yield item
            continue
        try:
            raw = item.read()
        except (OSError, mailbox.Error, ValueError) as exc:
            yield Processed(item.name, None, _error(exc))
            continue
        try:
            with session_scope(engine) as session:
                handled = handle_message(session, settings, raw, source="file", tokens=tokens)
        except Exception as exc:  # one broken message must not stop the ones after it
            yield Processed(item.name, None, f"could not be processed: {_error(exc)}")
            continue
        yield Processed(item.name, handled)


def _error(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror.lower()}" + (f": {exc.filename}" if exc.filename else "")
    return str(exc) or type(exc).__name__
