"""``publisher feeds build``: every feed document as static files, for any web server or CDN."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.articles.store import last_change
from publisher.config import Settings
from publisher.feeds.documents import PageContent, all_keys, load_page, make_document, render
from publisher.feeds.models import FeedKey


def export_feeds(
    engine: Engine,
    settings: Settings,
    out: Path,
    on_written: Callable[[FeedKey, Path], None] | None = None,
) -> list[Path]:
    """Write ``rss.xml``, ``atom.xml``, ``feed.json``, ``archive/N/…`` and ``topics/SLUG/…``.

    The files are the bytes ``publisher serve`` sends, self links included, so serve the
    folder at ``{base_url}/feeds/``. Each file is written beside a temporary name and renamed,
    so a web server never sends a half-written feed.
    """
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
            doc = make_document(settings, key, content, change)
            path = out / key.path
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".part")
            partial.write_bytes(render(doc))
            partial.replace(path)
            written.append(path)
            if on_written is not None:
                on_written(key, path)
    return written
