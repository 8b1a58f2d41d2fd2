"""``publisher feeds build``: every feed document as static files, for any web server or CDN."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.articles.store import last_change
from publisher.config import Settings
from publisher.feeds.documents import PageContent, all_keys, load_page, make_document, render
from publisher.feeds.models import FeedKey
from publisher.slugs import slug_problem


class OutsideFolder(ValueError):
    """A feed that would land outside its place in the export folder (a slug with ``..``)."""


def export_feeds(
    engine: Engine,
    settings: Settings,
    out: Path,
    on_written: Callable[[FeedKey, Path], None] | None = None,
    on_refused: Callable[[FeedKey, str], None] | None = None,
) -> list[Path]:
    """Write ``rss.xml``, ``atom.xml``, ``feed.json``, ``archive/N/…`` and ``topics/SLUG/…``.

    The files are the bytes ``publisher serve`` sends, self links included, so serve the
    folder at ``{base_url}/feeds/``. Each file is written beside a temporary name and renamed,
    so a web server never sends a half-written feed. Slugs are checked on the way in, but a
    file is written only where its resolved path lies inside ``out`` whatever the database
    holds; any other feed is skipped and reported to ``on_refused``.
    """
    root = out.resolve()
    written: list[Path] = []
    with Session(engine) as session:
        change = last_change(session)
        pages: dict[tuple[str | None, int | None], PageContent | None] = {}
        for key in all_keys(session, settings, change):
            scope = (key.topic, key.page)
            if scope not in pages:  # one page's entries serve all three formats
                pages.clear()
                pages[scope] = load_page(session, settings, key.topic, key.page, change)
            content = pages[scope]
            if content is None:
                continue
            try:
                path = feed_path(root, key)
            except OutsideFolder as exc:
                if on_refused is not None:
                    on_refused(key, str(exc))
                continue
            doc = make_document(settings, key, content, change)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".part")
            partial.write_bytes(render(doc))
            partial.replace(path)
            written.append(path)
            if on_written is not None:
                on_written(key, path)
    return written


def feed_path(root: Path, key: FeedKey) -> Path:
    """Where ``key``'s file goes below ``root``; a topic whose slug breaks the rule goes nowhere.

    A slug such as ``..`` would stay inside the folder yet overwrite the site's own feed, so
    the slug is checked by the one rule as well as the resolved path.
    """
    if key.topic is not None:
        problem = slug_problem(key.topic)
        if problem is not None:
            raise OutsideFolder(f"topic feed {key.path!r} not written: {problem}")
    return inside(root, key.path)


def inside(root: Path, relative: str) -> Path:
    """``root / relative`` resolved, or :class:`OutsideFolder` when it is not below ``root``.

    ``root`` is resolved already; resolving the joined path follows ``..`` and symbolic links,
    so neither a slug nor a link planted in the folder sends a file elsewhere.
    """
    path = (root / relative).resolve()
    if PurePosixPath(relative).is_absolute() or not path.is_relative_to(root) or path == root:
        raise OutsideFolder(f"{relative!r} would be written outside {root.name or root}/")
    return path
