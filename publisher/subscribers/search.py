"""Find subscribers by a piece of their address or name: what staff type in the admin's search.

One query: a case-insensitive substring match on the normalised address key and on the
name, over the subscribers of one list or of every list, with each match's subscriptions.
SQLite's ``lower()`` folds only ASCII letters, so there a name is also matched as typed
(``Š`` finds ``Š``); PostgreSQL folds every letter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlmodel import Session

from publisher.subscribers.models import MailingList, Subscriber, Subscription

SEARCH_LIMIT = 50
subscriber_table = Subscriber.__table__  # type: ignore[attr-defined]
subscription_table = Subscription.__table__  # type: ignore[attr-defined]
list_table = MailingList.__table__  # type: ignore[attr-defined]


@dataclass
class SubscriberMatch:
    """A subscriber found, with (list slug, status) of each of their subscriptions."""

    id: int
    email: str
    name: str
    language: str
    subscriptions: list[tuple[str, str]] = field(default_factory=list)


def _like_pattern(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its own ``%`` and ``_`` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_subscribers(
    session: Session, text: str, *, list_id: int | None = None, limit: int = SEARCH_LIMIT
) -> list[SubscriberMatch]:
    """Subscribers whose address or name contains ``text`` (any case), in address order."""
    typed = text.strip()
    if not typed:
        return []
    pattern = _like_pattern(typed.lower())
    ids = select(subscriber_table.c.id).where(
        or_(
            subscriber_table.c.email_key.like(pattern, escape="\\"),
            func.lower(subscriber_table.c.name).like(pattern, escape="\\"),
            subscriber_table.c.name.like(_like_pattern(typed), escape="\\"),
        )
    )
    if list_id is not None:
        ids = ids.where(
            subscriber_table.c.id.in_(
                select(subscription_table.c.subscriber_id).where(
                    subscription_table.c.list_id == list_id
                )
            )
        )
    ids = ids.order_by(subscriber_table.c.email_key).limit(limit)
    found = [row[0] for row in session.execute(ids)]
    if not found:
        return []
    rows = session.execute(
        select(
            subscriber_table.c.id,
            subscriber_table.c.email,
            subscriber_table.c.name,
            subscriber_table.c.language,
            list_table.c.slug,
            subscription_table.c.status,
        )
        .outerjoin(subscription_table, subscription_table.c.subscriber_id == subscriber_table.c.id)
        .outerjoin(list_table, list_table.c.id == subscription_table.c.list_id)
        .where(subscriber_table.c.id.in_(found))
        .order_by(subscriber_table.c.email_key, list_table.c.slug)
    ).all()
    matches: dict[int, SubscriberMatch] = {}
    for sid, email, name, language, slug, status in rows:
        match = matches.setdefault(sid, SubscriberMatch(sid, email, name, str(language)))
        if slug is not None:
            match.subscriptions.append((slug, str(status)))
    return list(matches.values())
