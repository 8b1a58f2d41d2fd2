"""Reading and writing articles: the only place that knows how an article is saved or found."""

from __future__ import annotations

import enum
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, insert, type_coerce
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from publisher.articles.drafts import ArticleDraft, Rejection, TopicRef
from publisher.articles.models import (
    Article,
    ArticleCommunity,
    ArticleStatus,
    ArticleTopic,
    RevisionKind,
    new_article_uid,
)
from publisher.articles.revisions import (
    held_revision,
    last_import_hash,
    record_change,
    revision_of,
)
from publisher.articles.sanitize import slugify_title
from publisher.audit import AuditAction, record, settings_change
from publisher.clock import utcnow
from publisher.communities import Community, UnknownCommunity, unknown_community
from publisher.db import MAX_ROW_ID, UTCDateTime
from publisher.slugs import check_slug
from publisher.topics import Topic, clean_english_name

if TYPE_CHECKING:
    from publisher.articles.photos import PhotoIntake


class SaveOutcome(enum.StrEnum):
    imported = "imported"
    updated = "updated"
    unchanged = "unchanged"
    kept_edit = "kept_edit"
    """Staff had edited the article: the import's different version is held, not applied."""

    @property
    def label(self) -> str:
        """How a report names the outcome."""
        return "kept staff's edit" if self is SaveOutcome.kept_edit else self.value


class ArticleNotFound(LookupError):
    """No article has that id or slug."""


def with_topics_and_photo() -> tuple[Any, ...]:
    """The loader options of every query that hands articles to pages, feeds and digests:
    their topics, communities and photo come in the same round trip, and stay readable after
    the session closes (a digest is composed after its articles were read)."""
    return (
        selectinload(Article.topics),  # type: ignore[arg-type]
        selectinload(Article.communities),  # type: ignore[arg-type]
        selectinload(Article.photo),  # type: ignore[arg-type]
    )


def content_hash(draft: ArticleDraft | Article) -> str:
    """A fingerprint of everything a reader sees; a re-import that changes none of it is a no-op.

    An article's own content gives the same fingerprint as the draft it was saved from."""
    payload = {
        "title": draft.title,
        "published_at": draft.published_at.isoformat(),
        "body_html": draft.body_html,
        "summary": draft.summary,
        "image_caption": draft.image_caption,
        "image_url": draft.image_url,
        "url": draft.url,
        "topics": sorted(topic.slug for topic in draft.topics),
    }
    if isinstance(draft, Article):
        photo = draft.image_source if draft.photo_id is not None else None
        communities = sorted(community.slug for community in draft.communities)
    else:
        photo = draft.photo.source if draft.photo is not None else None
        communities = sorted(draft.communities)
    # Only when there is one, so that the articles without a photo keep their fingerprints.
    for key, value in (
        ("communities", communities),
        ("photo", photo),
        ("image_alt", draft.image_alt),
        ("image_credit", draft.image_credit),
    ):
        if value:
            payload[key] = value
    encoded = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()


class ArticleWriter:
    """Saves drafts within one session, with look-ups batched.

    Importing thousands of files one query at a time is slow; ``prefetch`` loads the articles a
    batch of drafts may update in one query, and topics are cached for the writer's life.
    Call ``forget`` after rolling back a savepoint, since cached rows may then be gone.

    With ``photos``, the photo a draft brings is stored too (:meth:`_take_photo`); one that
    cannot be had leaves the article without it and a line in :attr:`warnings`.
    """

    def __init__(
        self, session: Session, photos: PhotoIntake | None = None, *, overwrite: bool = False
    ) -> None:
        self.session = session
        self.photos = photos
        self.overwrite = overwrite
        """Take an import's version even of an article staff have edited."""
        self.warnings: list[Rejection] = []
        """What was saved with a loss (a photo not stored), at the draft's source and line."""
        self._articles: dict[str, Article | None] = {}
        self._topics: dict[str, Topic] = {}
        self._communities: dict[str, Community] | None = None

    def prefetch(self, external_ids: Iterable[str]) -> None:
        wanted = [key for key in set(external_ids) if key not in self._articles]
        for chunk_start in range(0, len(wanted), 500):
            chunk = wanted[chunk_start : chunk_start + 500]
            found = self.session.exec(
                select(Article)
                .where(col(Article.external_id).in_(chunk))
                .options(
                    selectinload(Article.topics),  # type: ignore[arg-type]
                    selectinload(Article.communities),  # type: ignore[arg-type]
                )
            ).all()
            self._articles.update(dict.fromkeys(chunk))
            self._articles.update({article.external_id: article for article in found})

    def forget(self) -> None:
        self._articles.clear()
        self._topics.clear()
        self._communities = None

    def communities_for(self, slugs: Sequence[str]) -> list[Community]:
        """The communities named (read once per writer: they are few); an unknown one is an
        :class:`~publisher.communities.UnknownCommunity` (imports never make communities)."""
        if not slugs:
            return []
        if self._communities is None:
            self._communities = {c.slug: c for c in self.session.exec(select(Community))}
        missing = [slug for slug in slugs if slug not in self._communities]
        if missing:
            raise unknown_community(missing, self._communities)
        return [self._communities[slug] for slug in dict.fromkeys(slugs)]

    def community_problem(self, draft: ArticleDraft) -> str | None:
        """Why the draft cannot be stored for its communities, or ``None``."""
        try:
            self.communities_for(draft.communities)
        except UnknownCommunity as exc:
            return str(exc)
        return None

    def topics_for(self, refs: list[TopicRef]) -> list[Topic]:
        wanted = {ref.slug: ref for ref in refs}
        missing = [slug for slug in wanted if slug not in self._topics]
        if missing:
            for topic in self.session.exec(select(Topic).where(col(Topic.slug).in_(missing))):
                self._topics[topic.slug] = topic
            for slug in missing:
                if slug not in self._topics:
                    topic = Topic(slug=check_slug(slug), name=wanted[slug].name)
                    self.session.add(topic)
                    self._topics[slug] = topic
        return [self._topics[slug] for slug in wanted]

    def allocate_slugs(self, titles: Sequence[str]) -> list[str]:
        """Unique slugs for new articles: ``title``, then ``title-2``, ``title-3`` on clashes
        with stored articles or with each other."""
        bases = [slugify_title(title)[:90] for title in titles]
        taken = set(self.session.exec(select(Article.slug).where(col(Article.slug).in_(bases))))
        repeated = {base for base, count in Counter(bases).items() if count > 1}
        for base in (taken & set(bases)) | repeated:
            taken.update(
                self.session.exec(
                    select(Article.slug).where(col(Article.slug).startswith(f"{base}-"))
                )
            )
        slugs = []
        for base in bases:
            slug, n = base, 2
            while slug in taken:
                slug, n = f"{base}-{n}", n + 1
            taken.add(slug)
            slugs.append(slug)
        return slugs

    def save_all(self, drafts: Sequence[ArticleDraft]) -> list[SaveOutcome | SQLAlchemyError]:
        """Save many drafts; the result for each is its outcome or the error that refused it.

        New articles go in with one set-based INSERT (and one for their topic links), the
        ORM path handles updates; if the bulk INSERT fails, every draft is retried alone in
        its own savepoint, so one bad draft never costs the others.
        """
        self.prefetch(draft.external_id for draft in drafts)
        results: list[SaveOutcome | SQLAlchemyError | None] = [None] * len(drafts)
        fresh: dict[str, int] = {}
        for index, draft in enumerate(drafts):
            if self._articles.get(draft.external_id) is None and not self._wants_photo(None, draft):
                fresh.setdefault(draft.external_id, index)
        if fresh:
            savepoint = self.session.begin_nested()
            try:
                self._insert_new([drafts[index] for index in fresh.values()])
                savepoint.commit()
            except SQLAlchemyError:
                savepoint.rollback()
                self.forget()
            else:
                for external_id, index in fresh.items():
                    results[index] = SaveOutcome.imported
                    del self._articles[external_id]  # look it up again if met later
        for index, draft in enumerate(drafts):
            if results[index] is None:
                results[index] = self._save_isolated(draft)
        return [result for result in results if result is not None]

    def _save_isolated(self, draft: ArticleDraft) -> SaveOutcome | SQLAlchemyError:
        savepoint = self.session.begin_nested()
        try:
            outcome, _ = self.save(draft)
            savepoint.commit()
        except SQLAlchemyError as exc:
            savepoint.rollback()
            self.forget()
            return exc
        return outcome

    def _insert_new(self, drafts: list[ArticleDraft]) -> None:
        topics = [self.topics_for(draft.topics) for draft in drafts]
        communities = [self.communities_for(draft.communities) for draft in drafts]
        self.session.flush()  # new topics get their ids
        now = utcnow()
        slugs = self.allocate_slugs([draft.title for draft in drafts])
        rows = [
            {
                "uid": new_article_uid(),
                "external_id": draft.external_id,
                "slug": slug,
                "title": draft.title,
                "published_at": draft.published_at,
                "updated_at": draft.updated_at or now,
                "created_at": now,
                "body_html": draft.body_html,
                "body_text": draft.body_text,
                "summary": draft.summary,
                "image_caption": draft.image_caption,
                "image_url": draft.image_url,
                "image_alt": draft.image_alt,
                "image_credit": draft.image_credit,
                "edited_by": "",  # the columns have no default in the database (0013)
                "url": draft.url,
                "source": draft.source,
                "content_hash": content_hash(draft),
                "status": ArticleStatus.published.value,
            }
            for draft, slug in zip(drafts, slugs, strict=True)
        ]
        table = Article.__table__
        inserted = self.session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        ids = list(inserted.scalars())
        links = [
            {"article_id": article_id, "topic_id": topic.id}
            for article_id, article_topics in zip(ids, topics, strict=True)
            for topic in article_topics
        ]
        if links:
            self.session.execute(insert(ArticleTopic.__table__), links)
        places = [
            {"article_id": article_id, "community_id": community.id}
            for article_id, concerned in zip(ids, communities, strict=True)
            for community in concerned
        ]
        if places:
            self.session.execute(insert(ArticleCommunity.__table__), places)

    def _existing(self, external_id: str) -> Article | None:
        if external_id not in self._articles:
            self.prefetch([external_id])
        return self._articles[external_id]

    def save(self, draft: ArticleDraft) -> tuple[SaveOutcome, Article]:
        """Insert a new article or update the one with the same ``external_id``; id and uid stay.

        An article staff have edited (it has ``body_markdown``) is not overwritten: a version
        different from the one last imported is kept as a ``held`` revision and the outcome is
        ``kept_edit``, unless the writer was made with ``overwrite``. Every update of an
        existing article is recorded as a revision (its prior state first, the first time).
        """
        digest = content_hash(draft)
        article = self._existing(draft.external_id)
        if article is not None and article.content_hash == digest:
            if self._wants_photo(article, draft) and self._take_photo(article, draft):
                article.updated_at = utcnow()  # the same text, now with its photo
                return SaveOutcome.updated, article
            return SaveOutcome.unchanged, article

        session = self.session
        outcome = SaveOutcome.updated
        before = None
        if article is not None:
            if article.body_markdown is not None and not self.overwrite:
                if last_import_hash(session, article) == digest:
                    return SaveOutcome.unchanged, article
                session.add(held_revision(article, draft, digest))
                session.flush()
                return SaveOutcome.kept_edit, article
            before = revision_of(article, RevisionKind.imported, article.source, article.updated_at)
        if article is None:
            outcome = SaveOutcome.imported
            article = Article(
                external_id=draft.external_id,
                slug=self.allocate_slugs([draft.title])[0],
                title=draft.title,
                published_at=draft.published_at,
                body_html=draft.body_html,
                body_text=draft.body_text,
                content_hash=digest,
            )
            if draft.updated_at is not None:
                article.updated_at = draft.updated_at
        else:
            article.updated_at = draft.updated_at or utcnow()
        article.title = draft.title
        article.published_at = draft.published_at
        article.body_html = draft.body_html
        article.body_text = draft.body_text
        article.summary = draft.summary
        article.image_caption = draft.image_caption
        article.image_url = draft.image_url
        article.url = draft.url
        article.source = draft.source
        article.content_hash = digest
        article.topics = self.topics_for(draft.topics)
        article.communities = self.communities_for(draft.communities)
        article.body_markdown = None
        if before is not None:
            article.version += 1
        session.add(article)
        session.flush()
        self._take_photo(article, draft)
        if before is not None:
            record_change(session, article, before, RevisionKind.imported, draft.source or "import")
        self._articles[draft.external_id] = article
        return outcome, article

    def _wants_photo(self, article: Article | None, draft: ArticleDraft) -> bool:
        return self.photos is not None and self.photos.pending(article, draft)

    def _take_photo(self, article: Article, draft: ArticleDraft) -> bool:
        """The photo the draft brings (the file beside an export, a JSON ``image_url``),
        stored once per source; the reason it was not, as a warning at the draft's line.
        Returns whether the article has a photo it had not before."""
        if self.photos is None:
            return False
        before = article.photo_id, article.image_source
        warning = self.photos.take(self.session, article, draft)
        if warning is not None:
            self.warnings.append(Rejection(draft.source, draft.line, warning))
        self.session.add(article)
        self.session.flush()
        return (article.photo_id, article.image_source) != before


def save_draft(session: Session, draft: ArticleDraft) -> tuple[SaveOutcome, Article]:
    """Save one draft (see :class:`ArticleWriter` for many)."""
    return ArticleWriter(session).save(draft)


def get_article(session: Session, key: str | int) -> Article:
    """An article by numeric id or by slug."""
    text = str(key).strip()
    query = select(Article).options(*with_topics_and_photo())
    if text.isdigit():
        query = query.where(Article.id == (int(text) if int(text) <= MAX_ROW_ID else None))
    else:
        query = query.where(Article.slug == text)
    article = session.exec(query).first()
    if article is None:
        raise ArticleNotFound(f"no article with id or slug {text!r}")
    return article


def public_clause(now: datetime | None = None) -> Any:
    """The one test of what the public may see: published, and its time has come (a
    scheduled article is published with a ``published_at`` still ahead: public nowhere)."""
    return and_(
        Article.status == ArticleStatus.published,
        col(Article.published_at) <= (now or utcnow()),
    )


def is_public(article: Article, now: datetime | None = None) -> bool:
    """:func:`public_clause` for one article already loaded."""
    return article.status == ArticleStatus.published and article.published_at <= (now or utcnow())


def came_public(session: Session, since: datetime, until: datetime) -> list[str] | None:
    """The topics of articles whose scheduled time came in (``since``, ``until``]; None when
    no article did (the job that tells the WebSub hub asks this)."""
    ids = select(Article.id).where(
        Article.status == ArticleStatus.published,
        col(Article.published_at) > since,
        col(Article.published_at) <= until,
    )
    if session.exec(ids.limit(1)).first() is None:
        return None
    slugs = session.exec(
        select(Topic.slug)
        .join(ArticleTopic, col(ArticleTopic.topic_id) == col(Topic.id))
        .where(col(ArticleTopic.article_id).in_(ids))
        .distinct()
    ).all()
    return sorted(slugs)


def list_articles(
    session: Session,
    *,
    topic: str | None = None,
    since: datetime | None = None,
    include_withdrawn: bool = False,
    limit: int | None = None,
    offset: int = 0,
    oldest_first: bool = False,
) -> Sequence[Article]:
    """Articles newest first, optionally of one topic and from a moment on.

    ``oldest_first`` with ``offset`` reads fixed slices counted from the oldest article, which
    stay the same as new articles arrive (feed archive pages rely on that).
    """
    query = select(Article).options(*with_topics_and_photo())
    query = _filtered(query, topic=topic, include_withdrawn=include_withdrawn)
    if since is not None:
        query = query.where(col(Article.published_at) >= since)
    if oldest_first:
        query = query.order_by(col(Article.published_at).asc(), col(Article.id).asc())
    else:
        query = query.order_by(col(Article.published_at).desc(), col(Article.id).desc())
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return session.exec(query).all()


def _filtered(query: Any, *, topic: str | None, include_withdrawn: bool) -> Any:
    if not include_withdrawn:
        query = query.where(public_clause())
    if topic is not None:
        query = query.where(
            col(Article.id).in_(
                select(ArticleTopic.article_id)
                .join(Topic, col(Topic.id) == col(ArticleTopic.topic_id))
                .where(Topic.slug == topic)
            )
        )
    return query


def count_articles(session: Session, *, topic: str | None = None) -> int:
    """How many public articles there are, optionally of one topic."""
    from sqlalchemy import func

    query = _filtered(
        select(func.count()).select_from(Article), topic=topic, include_withdrawn=False
    )
    return int(session.exec(query).one())


@dataclass(frozen=True)
class StoreChange:
    """A cheap fingerprint of everything readers can see: it changes whenever the store does.

    Every write through this module bumps ``updated_at`` (saves, publish, withdraw), so the
    row count and the newest ``updated_at`` catch articles; the count of public articles and
    the newest public ``published_at`` change when a scheduled article's time comes, with no
    write at all; topics are few and read whole.
    """

    articles: int
    last_updated: datetime | None
    topics: tuple[tuple[str, str], ...]
    public: int = 0
    last_published: datetime | None = None

    @property
    def last_modified(self) -> datetime | None:
        """When readers' view last changed: an edit, or a scheduled article's time coming."""
        moments = [m for m in (self.last_updated, self.last_published) if m is not None]
        return max(moments) if moments else None


def last_change(session: Session) -> StoreChange:
    """The store's :class:`StoreChange`, in two small queries (caches are keyed on it)."""
    from sqlalchemy import func

    public = public_clause()
    count, newest, public_count, newest_public = session.exec(
        select(
            func.count(),
            func.max(Article.updated_at),
            func.coalesce(func.sum(case((public, 1), else_=0)), 0),
            type_coerce(func.max(case((public, Article.published_at))), UTCDateTime),
        ).select_from(Article)
    ).one()
    topics = session.exec(select(Topic.slug, Topic.name).order_by(col(Topic.slug))).all()
    return StoreChange(
        articles=int(count),
        last_updated=newest,
        topics=tuple((s, n) for s, n in topics),
        public=int(public_count),
        last_published=newest_public,
    )


STATUS_ACTIONS = {
    ArticleStatus.published: AuditAction.article_published,
    ArticleStatus.withdrawn: AuditAction.article_withdrawn,
}


def set_status(
    session: Session,
    key: str | int,
    status: ArticleStatus,
    *,
    actor: str | None = None,
    client: str | None = None,
) -> tuple[Article, bool]:
    """Publish or withdraw; returns the article and whether anything changed.

    A staff member's change (``actor``: the admin, the CLI, an API token) is recorded in the
    audit log; the program's own setup passes no actor."""
    article = get_article(session, key)
    if article.status == status:
        return article, False
    before = revision_of(article, RevisionKind.imported, article.source, article.updated_at)
    article.status = status
    article.updated_at = utcnow()
    article.version += 1
    session.add(article)
    session.flush()
    if actor is not None:
        record_change(session, article, before, RevisionKind.edited, actor)
        record(
            session, STATUS_ACTIONS[status], actor=actor, client=client, subject=article.external_id
        )
    return article, True


class UnknownTopic(LookupError):
    """A topic slug that no topic has; create the topic first."""


def set_article_topics(
    session: Session, key: str | int, slugs: Iterable[str], *, actor: str | None = None
) -> tuple[Article, bool]:
    """File an article under exactly these topics; returns it and whether anything changed.

    The content hash is left alone on purpose: re-importing the unchanged source file then
    keeps what staff chose, while an edited file brings its own topics again.
    """
    wanted = set(slugs)
    article = get_article(session, key)
    topics = (
        list(session.exec(select(Topic).where(col(Topic.slug).in_(sorted(wanted)))))
        if wanted
        else []
    )
    unknown = wanted - {topic.slug for topic in topics}
    if unknown:
        raise UnknownTopic(f"no topic {', '.join(sorted(unknown))}")
    if {topic.slug for topic in article.topics} == wanted:
        return article, False
    before = revision_of(article, RevisionKind.imported, article.source, article.updated_at)
    article.topics = sorted(topics, key=lambda topic: topic.slug)
    article.updated_at = utcnow()  # feeds and their caches see the change
    article.version += 1
    session.add(article)
    session.flush()
    if actor is not None:  # a staff member's change is a revision, like an edit
        record_change(session, article, before, RevisionKind.edited, actor)
    return article, True


def list_topics(session: Session) -> list[tuple[Topic, int]]:
    """Every topic with its count of public articles."""
    from sqlalchemy import func

    counts = dict(
        session.exec(
            select(ArticleTopic.topic_id, func.count())
            .join(Article, col(Article.id) == col(ArticleTopic.article_id))
            .where(public_clause())
            .group_by(col(ArticleTopic.topic_id))
        ).all()
    )
    topics = session.exec(select(Topic).order_by(col(Topic.slug))).all()
    return [(topic, counts.get(topic.id, 0)) for topic in topics]


def save_topic(
    session: Session,
    slug: str,
    name: str,
    *,
    name_en: str | None = None,
    actor: str | None = None,
    client: str | None = None,
) -> Topic:
    """Create a topic or rename an existing one; a slug that breaks the rule is refused.

    ``name_en`` is the English name (see :func:`publisher.topics.clean_english_name`); None
    keeps the one it has, "" removes it (English readers then see the Slovenian name).

    Raises :class:`publisher.slugs.InvalidSlug` (a ``ValueError``) saying what a slug may hold.
    A staff member's change (``actor``) is recorded in the audit log as ``settings_changed``
    with the name before and after; saving the same name again records nothing.
    """
    english = clean_english_name(name_en)
    topic = session.exec(select(Topic).where(Topic.slug == slug)).first()
    before = None if topic is None else _topic_names(topic)
    if topic is None:
        topic = Topic(slug=check_slug(slug), name=name, name_en=english)
    else:
        topic.name = name
        if name_en is not None:
            topic.name_en = english
        if _topic_names(topic) == before:
            return topic
    session.add(topic)
    session.flush()
    after = _topic_names(topic)
    if before is not None and "name_en" in before:
        after.setdefault("name_en", None)  # removed: the log says so
    if actor is not None:
        record(
            session,
            AuditAction.settings_changed,
            actor=actor,
            client=client,
            subject=f"topic {slug}",
            detail=settings_change(before, after),
        )
    return topic


def _topic_names(topic: Topic) -> dict[str, str | None]:
    """What the audit log records of a topic's change."""
    names: dict[str, str | None] = {"name": topic.name}
    if topic.name_en:
        names["name_en"] = topic.name_en
    return names


def article_to_dict(article: Article, tz: ZoneInfo) -> dict[str, Any]:
    """The public JSON shape of an article (``articles list --json``, later the API)."""
    return {
        "id": article.id,
        "uid": article.uid,
        "slug": article.slug,
        "title": article.title,
        "published_at": article.published_at.astimezone(tz).isoformat(),
        "updated_at": article.updated_at.astimezone(tz).isoformat(),
        "status": str(article.status),
        "summary": article.summary,
        "image_caption": article.image_caption,
        "image_url": article.image_url,
        "image_alt": article.image_alt,
        "image_credit": article.image_credit,
        "url": article.url,
        "topics": [topic.slug for topic in article.topics],
        "source": article.source,
        "content_hash": article.content_hash,
        "body_html": article.body_html,
        "body_text": article.body_text,
    }
