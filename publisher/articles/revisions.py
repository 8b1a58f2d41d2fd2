"""An article's history: every version as it was stored, who made it and when.

A public body must be able to show what it published and when. Brand-new imported articles
get no rows (imports of thousands stay fast); the first change to an article records its
prior state first, then the change, so the history is whole from then on.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from publisher.articles.drafts import ArticleDraft
from publisher.articles.models import Article, ArticleRevision, RevisionKind
from publisher.clock import utcnow
from publisher.i18n import format_moment


def revision_of(
    article: Article, kind: RevisionKind, actor: str, at: datetime | None = None
) -> ArticleRevision:
    """The article as it is now, as a revision (not yet added to the session)."""
    return ArticleRevision(
        article_id=article.id or 0,
        created_at=at or utcnow(),
        kind=kind,
        actor=actor[:320],
        title=article.title,
        published_at=article.published_at,
        status=str(article.status),
        summary=article.summary,
        body_html=article.body_html,
        body_text=article.body_text,
        body_markdown=article.body_markdown,
        topics=json.dumps(sorted(topic.slug for topic in article.topics)),
        communities=json.dumps(sorted(community.slug for community in article.communities)),
        photo_id=article.photo_id,
        image_caption=article.image_caption,
        image_alt=article.image_alt,
        image_credit=article.image_credit,
        image_url=article.image_url,
        url=article.url,
        content_hash=article.content_hash,
    )


def held_revision(article: Article, draft: ArticleDraft, digest: str) -> ArticleRevision:
    """An import's version of an article staff have edited: kept aside, not applied."""
    return ArticleRevision(
        article_id=article.id or 0,
        kind=RevisionKind.held,
        actor=(draft.source or "import")[:320],
        title=draft.title,
        published_at=draft.published_at,
        status=str(article.status),
        summary=draft.summary,
        body_html=draft.body_html,
        body_text=draft.body_text,
        topics=json.dumps(sorted(topic.slug for topic in draft.topics)),
        communities=json.dumps(sorted(draft.communities)),
        photo_id=article.photo_id,
        image_caption=draft.image_caption,
        image_alt=article.image_alt,
        image_credit=article.image_credit,
        image_url=draft.image_url,
        url=draft.url,
        content_hash=digest,
    )


def record_change(
    session: Session,
    article: Article,
    before: ArticleRevision | None,
    kind: RevisionKind,
    actor: str,
) -> ArticleRevision:
    """Record ``article`` as changed by ``actor``; ``before`` (its state before the change,
    made with :func:`revision_of`) is stored first when the article has no history yet."""
    if before is not None and not has_revisions(session, article.id or 0):
        session.add(before)
    revision = revision_of(article, kind, actor)
    session.add(revision)
    session.flush()
    return revision


def has_revisions(session: Session, article_id: int) -> bool:
    query = select(ArticleRevision.id).where(ArticleRevision.article_id == article_id).limit(1)
    return session.exec(query).first() is not None


def revisions_of(session: Session, article_id: int) -> Sequence[ArticleRevision]:
    """Every revision of an article, oldest first."""
    return session.exec(
        select(ArticleRevision)
        .where(ArticleRevision.article_id == article_id)
        .order_by(col(ArticleRevision.id))
    ).all()


def latest_revision(
    session: Session, article_id: int, kinds: Sequence[RevisionKind] | None = None
) -> ArticleRevision | None:
    query = select(ArticleRevision).where(ArticleRevision.article_id == article_id)
    if kinds is not None:
        query = query.where(col(ArticleRevision.kind).in_([str(kind) for kind in kinds]))
    return session.exec(query.order_by(col(ArticleRevision.id).desc()).limit(1)).first()


def last_import_hash(session: Session, article: Article) -> str:
    """The content hash of the version an import last brought (applied or held)."""
    found = latest_revision(session, article.id or 0, [RevisionKind.imported, RevisionKind.held])
    return article.content_hash if found is None else found.content_hash


def waiting_import(session: Session, article_id: int) -> ArticleRevision | None:
    """The newest held import version that staff have not taken yet, if any."""
    held = latest_revision(session, article_id, [RevisionKind.held])
    if held is None:
        return None
    applied = latest_revision(session, article_id, [RevisionKind.imported])
    return held if applied is None or (applied.id or 0) < (held.id or 0) else None


@dataclass(frozen=True)
class FieldChange:
    """One field's difference between a revision and the one before it."""

    label: str
    lines: list[str]


DIFFED_FIELDS = (
    ("title", "Naslov"),
    ("published_at", "Datum objave"),
    ("status", "Stanje"),
    ("summary", "Povzetek"),
    ("body_text", "Besedilo"),
    ("topics", "Teme"),
    ("photo_id", "Fotografija"),
    ("image_caption", "Podnapis"),
)


def _field_text(revision: ArticleRevision | None, name: str, tz: ZoneInfo) -> str:
    if revision is None:
        return ""
    value = getattr(revision, name)
    if name == "published_at":
        return format_moment(value, "sl", tz)
    if name == "topics":
        return ", ".join(json.loads(value))
    return "" if value is None else str(value)


def differences(
    before: ArticleRevision | None, after: ArticleRevision, tz: ZoneInfo
) -> list[FieldChange]:
    """What changed from ``before`` to ``after``, per field, as unified-diff lines."""
    changes = []
    for name, label in DIFFED_FIELDS:
        old, new = _field_text(before, name, tz), _field_text(after, name, tz)
        if old == new:
            continue
        lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1))[2:]
        changes.append(FieldChange(label, lines))
    return changes
