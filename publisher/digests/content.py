"""What an edition contains: the articles of a list for a period, and the digest built from them.

``articles_for`` is the one place that finds the articles of a list's period (the
candidates); which of them an edition carries, and in what order, is
:func:`publisher.digests.editions.edition_articles`, which the preview, the editions, the
admin, the CLI and the scheduler call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlmodel import Session, col, select

from publisher import links
from publisher.articles.models import Article, ArticleTopic
from publisher.articles.store import public_clause, with_topics_and_photo
from publisher.config import Settings
from publisher.digests.periods import Period
from publisher.feeds.entries import entry_photo
from publisher.links import article_url
from publisher.mail.compose import (
    Branding,
    ComposedDigest,
    Digest,
    DigestItem,
    DigestPhoto,
    compose_digest,
)
from publisher.mail.message import Recipient, message_id_for
from publisher.subscribers.models import MailingList, MailingListTopic


def articles_for(
    session: Session, mailing_list: MailingList, period: Period, settings: Settings
) -> list[Article]:
    """Public articles of ``period`` (local time) for the list, newest first.

    Public now (:func:`~publisher.articles.store.public_clause`): an edition composed before a
    scheduled article's time does not carry it; the next one composed after it does.

    A list with topics carries only articles filed under at least one of them; a list
    without topics carries everything.
    """
    start, end = period.bounds(settings.tz)
    query = (
        select(Article)
        .where(public_clause())
        .where(col(Article.published_at) >= start, col(Article.published_at) < end)
        .options(*with_topics_and_photo())
        .order_by(col(Article.published_at).desc(), col(Article.id).desc())
    )
    list_topics = select(MailingListTopic.topic_id).where(
        MailingListTopic.list_id == mailing_list.id
    )
    if session.exec(list_topics.limit(1)).first() is not None:
        query = query.where(
            col(Article.id).in_(
                select(ArticleTopic.article_id).where(col(ArticleTopic.topic_id).in_(list_topics))
            )
        )
    return list(session.exec(query).all())


def edition_key(list_slug: str, period_key: str) -> str:
    """What staff call an edition (``tedenske-novice/2025-W10``): CLI, admin, job, headers."""
    return f"{list_slug}/{period_key}"


def digest_photo(settings: Settings, article: Article) -> DigestPhoto | None:
    """The article's stored photo as the feeds and pages have it (:func:`entry_photo`), in
    its large size (the column at 2×), fitted to the column."""
    photo = entry_photo(article, settings)
    if photo is None:
        return None
    return DigestPhoto.at_column_width(
        photo.large.url,
        (photo.large.width, photo.large.height),
        alt=photo.alt,
        caption=photo.caption,
        credit=photo.credit,
    )


def build_digest(
    settings: Settings,
    mailing_list: MailingList,
    period: Period,
    articles: Sequence[Article],
    *,
    notes: Mapping[str, str] | None = None,
    is_test: bool = False,
) -> Digest:
    """The language-neutral content of one edition (the note is by language, each shown only
    in its own)."""
    return Digest(
        edition_key=edition_key(mailing_list.slug, period.key),
        list_slug=mailing_list.slug,
        list_name=mailing_list.name,
        list_name_en=mailing_list.name_en,
        period_start=period.start,
        period_end=period.end,
        items=[
            DigestItem(
                title=article.title,
                url=article_url(settings, article.slug),
                published_at=article.published_at,
                summary=article.summary,
                topics=tuple(topic.name for topic in article.topics),
                topics_en=tuple(topic.name_en for topic in article.topics),
                photo=digest_photo(settings, article),
            )
            for article in articles
        ],
        archive_url=links.archive_url(settings, mailing_list.slug, period.key),
        notes=dict(notes or {}),
        is_test=is_test,
    )


def compose(
    settings: Settings,
    mailing_list: MailingList,
    period: Period,
    articles: Sequence[Article],
    language: str,
    *,
    notes: Mapping[str, str] | None = None,
    is_test: bool = False,
) -> ComposedDigest:
    """The function preview, test sends and editions all call to turn articles into a message."""
    digest = build_digest(settings, mailing_list, period, articles, notes=notes, is_test=is_test)
    return compose_digest(digest, language, Branding.from_settings(settings))


def sample_recipient(settings: Settings, mailing_list: MailingList, period: Period) -> Recipient:
    """Who a preview is addressed to: a made-up resident, with links that lead nowhere personal."""
    domain = Branding.from_settings(settings).domain
    return Recipient(
        email="ana.primer@example.org",
        name="Ana Primer",
        unsubscribe_url=links.unsubscribe_url(settings, "preview"),
        preferences_url=links.preferences_url(settings, "preview"),
        message_id=message_id_for(edition_key(mailing_list.slug, period.key), "preview", domain),
    )
