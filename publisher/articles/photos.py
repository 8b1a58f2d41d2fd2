"""An article's photo: from an import (the file beside an office export, a JSON or API
``image_url`` fetched once) or from staff (the admin's upload, the editor).

Both ways go through :func:`publisher.media.photos.store_photo`, so every photo is checked,
turned upright, stripped of its metadata and resized the same way. A photo that cannot be
had never costs the article: the import saves it without and says why (a warning), staff
see the reason on the page and the article stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from sqlmodel import Session

from publisher.articles.drafts import (
    IMAGE_ALT_MAX_LENGTH,
    IMAGE_CREDIT_MAX_LENGTH,
    ArticleDraft,
    PhotoFile,
)
from publisher.articles.formats.feed_fetch import FeedFetchError, FetchPolicy, fetch_feed
from publisher.articles.models import Article
from publisher.articles.sanitize import normalise_space, without_controls
from publisher.articles.store import get_article
from publisher.audit import AuditAction, record, settings_change
from publisher.clock import utcnow
from publisher.config import Settings
from publisher.media.photos import PhotoRefused, store_photo

CAPTION_MAX_LENGTH = 2000


@dataclass(frozen=True)
class PhotoIntake:
    """How an import takes photos: the settings (limits, the media store) and how far an
    ``image_url`` download may go (the feed import's policy, with the photo size cap)."""

    settings: Settings
    fetch_policy: FetchPolicy

    @classmethod
    def from_settings(cls, settings: Settings) -> PhotoIntake:
        policy = replace(FetchPolicy.from_settings(settings), max_bytes=settings.photo_max_bytes)
        return cls(settings, policy)

    @staticmethod
    def pending(article: Article | None, draft: ArticleDraft) -> bool:
        """Whether ``draft`` brings a photo ``article`` does not have yet (from its source)."""
        source = draft.photo_source
        if source is None:
            return False
        return article is None or article.photo_id is None or article.image_source != source

    def take(self, session: Session, article: Article, draft: ArticleDraft) -> str | None:
        """Give ``article`` the photo ``draft`` brings, fetched and stored once per source;
        returns why it could not (for the import report), or ``None``."""
        source = draft.photo_source
        if source is None:
            return None
        article.image_alt = draft.image_alt or draft.image_caption
        article.image_credit = draft.image_credit
        if not self.pending(article, draft):
            return None
        try:
            if draft.photo is not None:
                data, name = draft.photo.data, draft.photo.name
            else:
                data = fetch_feed(source, self.fetch_policy, what="photo")
                # A URL's ending says nothing sure about what a server sends; the bytes decide.
                name = PurePosixPath(urlsplit(source).path).stem or "image_url"
            photo = store_photo(session, self.settings, data, name)
        except FeedFetchError as exc:
            return f"saved without its photo {source}: {exc.reason}"
        except PhotoRefused as exc:
            shown = draft.photo.name if draft.photo is not None else source
            return f"saved without its photo {shown}: {exc.reason}"
        article.photo_id = photo.id
        article.photo = photo
        article.image_source = source
        return None


def set_article_photo(
    session: Session,
    settings: Settings,
    key: str | int,
    data: bytes,
    name: str,
    alt: str,
    caption: str,
    credit: str,
    actor: str,
    client: str | None = None,
) -> Article:
    """Staff give an article a photo (the admin's upload, the editor): checked and stored,
    with its required alt text, caption and credit; recorded in the audit log.

    Raises :class:`~publisher.media.photos.PhotoRefused` (in English and Slovenian) for a
    file we do not take or a missing alt text; the article is then left as it was.
    """
    alt, caption, credit = (
        normalise_space(without_controls(text)) for text in (alt, caption, credit)
    )
    if not alt:
        raise PhotoRefused(
            "Describe the photo for readers who cannot see it (alt text is required).",
            "Opišite fotografijo za bralce, ki je ne vidijo (opis je obvezen).",
        )
    for text, limit, field_en, field_sl in (
        (alt, IMAGE_ALT_MAX_LENGTH, "The alt text", "Opis"),
        (caption, CAPTION_MAX_LENGTH, "The caption", "Podnapis"),
        (credit, IMAGE_CREDIT_MAX_LENGTH, "The credit", "Avtor fotografije"),
    ):
        if len(text) > limit:
            raise PhotoRefused(
                f"{field_en} is longer than {limit} characters.",
                f"{field_sl} je daljši od {limit} znakov.",
            )
    article = get_article(session, key)
    photo = store_photo(session, settings, data, name)
    before = _photo_fields(article)
    article.photo_id = photo.id
    article.photo = photo
    article.image_source = PhotoFile(name, data).source
    article.image_alt, article.image_caption, article.image_credit = alt, caption, credit
    _changed(session, article, before, actor, client)
    return article


def remove_article_photo(
    session: Session, key: str | int, actor: str, client: str | None = None
) -> tuple[Article, bool]:
    """Staff take an article's photo away; returns it and whether it had one. The stored
    files stay (another article may show the same picture)."""
    article = get_article(session, key)
    if article.photo_id is None:
        return article, False
    before = _photo_fields(article)
    article.photo_id = None
    article.photo = None
    article.image_source = None
    _changed(session, article, before, actor, client)
    return article, True


def _photo_fields(article: Article) -> dict[str, object]:
    return {
        "photo": article.photo.key if article.photo is not None else None,
        "alt": article.image_alt,
        "caption": article.image_caption,
        "credit": article.image_credit,
    }


def _changed(
    session: Session, article: Article, before: dict[str, object], actor: str, client: str | None
) -> None:
    article.updated_at = utcnow()  # feeds and their caches see the change
    article.version += 1
    session.add(article)
    session.flush()
    record(
        session,
        AuditAction.article_photo_changed,
        actor=actor,
        client=client,
        subject=article.external_id,
        detail=settings_change(before, _photo_fields(article)),
    )
