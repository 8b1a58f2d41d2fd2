"""Find subscribers by a piece of their address or name, or just the newest: the admin's pages.

A case-insensitive substring match on the normalised address key and on the name (or none,
for the newest), over the subscribers of one list or of every list, newest first and paged,
with each match's subscriptions.
SQLite's ``lower()`` folds only ASCII letters, so there a name is also matched as typed
(``Š`` finds ``Š``); PostgreSQL folds every letter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, or_, select
from sqlmodel import Session

from publisher.subscribers.models import MailingList, Subscriber, Subscription

PAGE_SIZE = 50
subscriber_table = Subscriber.__table__  # type: ignore[attr-defined]
subscription_table = Subscription.__table__  # type: ignore[attr-defined]
list_table = MailingList.__table__  # type: ignore[attr-defined]


@dataclass
class SubscriberMatch:
    """A subscriber found, with (list slug, list name, status) of each of their subscriptions."""

    id: int
    email: str
    name: str
    language: str
    subscriptions: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class SubscriberPage:
    """One page of subscribers, newest first, and where the pages beside it start: ``older``
    and ``newer`` are the ids to page from (None: there is no such page)."""

    matches: list[SubscriberMatch]
    total: int
    older: int | None = None
    newer: int | None = None


def _like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own ``%`` and ``_`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching(text: str, list_id: int | None) -> list[ColumnElement[bool]]:
    """The conditions a subscriber meets: ``text`` in the address or name, on the list."""
    conditions: list[ColumnElement[bool]] = []
    typed = text.strip()
    if typed:
        pattern = _like_pattern(typed.lower())
        conditions.append(
            or_(
                subscriber_table.c.email_key.like(pattern, escape="\\"),
                func.lower(subscriber_table.c.name).like(pattern, escape="\\"),
                subscriber_table.c.name.like(_like_pattern(typed), escape="\\"),
            )
        )
    if list_id is not None:
        conditions.append(
            subscriber_table.c.id.in_(
                select(subscription_table.c.subscriber_id).where(
                    subscription_table.c.list_id == list_id
                )
            )
        )
    return conditions


def subscriber_page(
    session: Session,
    text: str = "",
    *,
    list_id: int | None = None,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> SubscriberPage:
    """The newest subscribers (of one list, or whose address or name contains ``text``, any
    case), ``limit`` at a time: those older than id ``before``, or newer than id ``after``.

    Paged by the primary key (keyset), not by OFFSET: every page is one index range read of
    ``limit`` rows, as fast at the ten-thousandth page as at the first, and a subscriber who
    signs up meanwhile neither repeats nor hides a row on the next page.
    """
    conditions = _matching(text, list_id)
    key = subscriber_table.c.id
    ids = select(key).where(*conditions)
    if after is not None:
        newest_first = False
        query = ids.where(key > after).order_by(key.asc())
    else:
        newest_first = True
        query = ids.where(key < before) if before is not None else ids
        query = query.order_by(key.desc())
    found = [row[0] for row in session.execute(query.limit(limit))]
    if not found and after is not None:
        return subscriber_page(session, text, list_id=list_id, limit=limit)
    if not newest_first:
        found.reverse()
    total = session.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
    if not found:
        return SubscriberPage([], total)

    def beyond(condition: ColumnElement[bool]) -> bool:
        return session.execute(select(ids.where(condition).exists())).scalar_one()

    return SubscriberPage(
        _with_subscriptions(session, found),
        total,
        older=found[-1] if beyond(key < found[-1]) else None,
        newer=found[0] if beyond(key > found[0]) else None,
    )


def _with_subscriptions(session: Session, found: list[int]) -> list[SubscriberMatch]:
    """The subscribers ``found`` (in that order), each with their lists and statuses."""
    rows = session.execute(
        select(
            subscriber_table.c.id,
            subscriber_table.c.email,
            subscriber_table.c.name,
            subscriber_table.c.language,
            list_table.c.slug,
            list_table.c.name,
            subscription_table.c.status,
        )
        .outerjoin(subscription_table, subscription_table.c.subscriber_id == subscriber_table.c.id)
        .outerjoin(list_table, list_table.c.id == subscription_table.c.list_id)
        .where(subscriber_table.c.id.in_(found))
        .order_by(list_table.c.name, list_table.c.slug)
    ).all()
    made: dict[int, SubscriberMatch] = {}
    for sid, email, name, language, slug, list_name, status in rows:
        match = made.setdefault(sid, SubscriberMatch(sid, email, name, str(language)))
        if slug is not None:
            match.subscriptions.append((slug, list_name, str(status)))
    return [made[sid] for sid in found if sid in made]
