"""Each feed document built once per change of the store, not once per request.

The key is :class:`~publisher.articles.store.StoreChange` (article count, newest
``updated_at``, topics) plus the settings that shape a feed. The same key gives the same
bytes, so the fingerprint doubles as a strong HTTP validator that can be computed, and a
conditional request answered, without building anything.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher import __version__
from publisher.articles.store import StoreChange, last_change
from publisher.config import Settings
from publisher.feeds.documents import EPOCH, PageContent, load_page, make_document, render
from publisher.feeds.models import FeedKey

SHAPING_SETTINGS = (
    "base_url",
    "site_name",
    "language",
    "timezone",
    "feed_entries",
    "feed_ttl",
    "websub_hub",
)
"""Settings that change a feed's bytes; a change of any of them changes every fingerprint."""


@dataclass(frozen=True)
class BuiltFeed:
    key: FeedKey
    body: bytes
    fingerprint: str
    last_modified: datetime


class FeedCache:
    """Built documents for the store's current state; older states are dropped on change.

    Thread-safe: the web app answers requests from a thread pool. ``builds`` counts actual
    builds, so tests can prove that a conditional request built nothing. A page's entries
    are made once and shared by its three formats.

    ``recheck_seconds``: how long :meth:`recent_change` trusts the last :meth:`store_change`.
    Finding the newest ``updated_at`` scans the article table, so the feeds endpoint asks the
    store at most once a second under load, and a change shows in the feeds within that second.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        max_documents: int = 512,
        recheck_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.max_documents = max_documents
        self.recheck_seconds = recheck_seconds
        self.builds = 0
        self._lock = threading.Lock()
        self._change: StoreChange | None = None
        self._built: dict[FeedKey, BuiltFeed] = {}
        self._pages: dict[tuple[str | None, int | None], PageContent | None] = {}
        self._seen: tuple[float, StoreChange] | None = None
        shaping = "|".join(f"{name}={getattr(settings, name)}" for name in SHAPING_SETTINGS)
        self._salt = f"publisher {__version__}|{shaping}"

    def store_change(self) -> StoreChange:
        """The store's state now (two queries), remembered for :meth:`recent_change`."""
        with Session(self.engine) as session:
            change = last_change(session)
        self._seen = (time.monotonic(), change)
        return change

    def recent_change(self) -> StoreChange | None:
        """The last state seen if it is younger than ``recheck_seconds``, else None."""
        seen = self._seen
        if seen is not None and time.monotonic() - seen[0] < self.recheck_seconds:
            return seen[1]
        return None

    def cached(self, key: FeedKey, change: StoreChange) -> BuiltFeed | None:
        """The document if already built for ``change`` (no building, no waiting)."""
        built = self._built.get(key)
        return built if built is not None and self._change == change else None

    def fingerprint(self, key: FeedKey, change: StoreChange) -> str:
        text = f"{self._salt}|{change!r}|{key.path}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    @staticmethod
    def last_modified(change: StoreChange) -> datetime:
        return change.last_modified or EPOCH

    def get(self, key: FeedKey, change: StoreChange) -> BuiltFeed | None:
        """The built document for ``key`` at ``change``; None if the topic or page is unknown."""
        with self._lock:
            if change != self._change:
                self._built.clear()
                self._pages.clear()
                self._change = change
            cached = self._built.get(key)
            if cached is not None:
                return cached
            # Built under the lock: concurrent first requests for a feed build it once.
            scope = (key.topic, key.page)
            if scope not in self._pages:
                with Session(self.engine) as session:
                    content = load_page(session, self.settings, key.topic, key.page, change)
                if len(self._pages) >= self.max_documents:
                    self._pages.pop(next(iter(self._pages)))
                self._pages[scope] = content
            content = self._pages[scope]
            if content is None:
                return None
            doc = make_document(self.settings, key, content, change)
            built = BuiltFeed(
                key=key,
                body=render(doc),
                fingerprint=self.fingerprint(key, change),
                last_modified=self.last_modified(change),
            )
            self.builds += 1
            if len(self._built) >= self.max_documents:
                self._built.pop(next(iter(self._built)))
            self._built[key] = built
            return built
