"""Mailing lists: creating them, finding them by slug, the topics they carry, their counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from publisher.audit import AuditAction, record, settings_change
from publisher.i18n import Language
from publisher.slugs import slug_problem
from publisher.subscribers.errors import RegisterError
from publisher.subscribers.models import MailingList, MailingListTopic, Subscription
from publisher.topics import Topic, clean_english_name


class ListNotFound(RegisterError, LookupError):
    pass


class ListExists(RegisterError):
    pass


class UnknownTopic(RegisterError, LookupError):
    pass


def topics_by_slug(session: Session, slugs: Iterable[str]) -> list[Topic]:
    """The topics named, in order; an unknown slug is an error naming the known ones."""
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        return []
    found = {t.slug: t for t in session.exec(select(Topic).where(col(Topic.slug).in_(wanted)))}
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        known = ", ".join(session.exec(select(Topic.slug).order_by(col(Topic.slug)))) or "none"
        raise UnknownTopic(
            f"unknown topic {', '.join(missing)} (known: {known}; add one with `topics add`)"
        )
    return [found[slug] for slug in wanted]


def create_list(
    session: Session,
    slug: str,
    name: str,
    *,
    name_en: str | None = None,
    description: str = "",
    public: bool = True,
    language: Language | str = Language.sl,
    topics: Sequence[str] = (),
    actor: str | None = None,
    client: str | None = None,
) -> MailingList:
    """A new list carrying ``topics``; its slug is permanent (it appears in links).

    A staff member's (``actor``) new list is recorded in the audit log as ``settings_changed``
    with what it was created with; the program's own setup passes no actor."""
    problem = slug_problem(slug)
    if problem is not None:
        raise RegisterError(f"list slug: {problem}")
    if not name.strip():
        raise RegisterError("a list needs a name")
    english = _english_name(name_en)
    if session.exec(select(MailingList.id).where(MailingList.slug == slug)).first() is not None:
        raise ListExists(f"a list {slug!r} already exists")
    chosen = topics_by_slug(session, topics)
    mailing_list = MailingList(
        slug=slug,
        name=name.strip(),
        name_en=english,
        description=description.strip(),
        public=public,
        language=Language(language),
    )
    session.add(mailing_list)
    session.flush()
    for topic in chosen:
        session.add(MailingListTopic(list_id=mailing_list.id, topic_id=topic.id))
    session.flush()
    if actor is not None:
        created = {
            "name": mailing_list.name,
            "description": mailing_list.description,
            "public": public,
            "language": str(mailing_list.language),
            "topics": [topic.slug for topic in chosen],
        }
        if mailing_list.name_en:
            created["name_en"] = mailing_list.name_en
        record(
            session,
            AuditAction.settings_changed,
            actor=actor,
            client=client,
            subject=f"list {slug}",
            detail=settings_change(None, created),
        )
    return mailing_list


def _english_name(value: str | None) -> str | None:
    try:
        return clean_english_name(value)
    except ValueError as exc:
        raise RegisterError(str(exc)) from None


def set_english_name(
    session: Session,
    mailing_list: MailingList,
    name_en: str | None,
    *,
    actor: str,
    client: str | None = None,
) -> MailingList:
    """Give the list an English name ("" or None: none, English readers see the Slovenian
    one); the change is recorded in the audit log, an unchanged name records nothing."""
    english = _english_name(name_en)
    if english == mailing_list.name_en:
        return mailing_list
    before = {"name_en": mailing_list.name_en}
    mailing_list.name_en = english
    session.add(mailing_list)
    session.flush()
    record(
        session,
        AuditAction.settings_changed,
        actor=actor,
        client=client,
        subject=f"list {mailing_list.slug}",
        detail=settings_change(before, {"name_en": english}),
    )
    return mailing_list


def get_list(session: Session, slug: str) -> MailingList:
    found = session.exec(select(MailingList).where(MailingList.slug == slug)).first()
    if found is None:
        known = ", ".join(session.exec(select(MailingList.slug).order_by(col(MailingList.slug))))
        raise ListNotFound(f"no list {slug!r} (lists: {known or 'none yet'})")
    return found


def list_topics(session: Session, list_id: int) -> list[Topic]:
    """The topics a list is about, by name: what staff read (the slugs are for machines)."""
    return list(
        session.exec(
            select(Topic)
            .join(MailingListTopic, col(MailingListTopic.topic_id) == col(Topic.id))
            .where(MailingListTopic.list_id == list_id)
            .order_by(col(Topic.name), col(Topic.slug))
        )
    )


def list_topic_slugs(session: Session, list_id: int) -> list[str]:
    """The same topics' slugs, in slug order: for the API, the CLI and forms."""
    return sorted(topic.slug for topic in list_topics(session, list_id))


def status_counts(session: Session, list_id: int | None = None) -> dict[int, Counter[str]]:
    """Subscriptions per list and status, in one grouped query."""
    query = select(Subscription.list_id, Subscription.status, func.count()).group_by(
        col(Subscription.list_id), col(Subscription.status)
    )
    if list_id is not None:
        query = query.where(Subscription.list_id == list_id)
    counts: dict[int, Counter[str]] = {}
    for lid, status, n in session.exec(query):
        counts.setdefault(lid, Counter())[str(status)] = n
    return counts


def all_lists(session: Session) -> list[MailingList]:
    return list(session.exec(select(MailingList).order_by(col(MailingList.slug))))
