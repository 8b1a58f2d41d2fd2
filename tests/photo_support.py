"""Photos for display tests: a :class:`Photo` row as ``store_photo`` leaves it, given to an
article, without making the image itself (pages, feeds and digests only name its sizes)."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.engine import Engine
from sqlmodel import select

from publisher.articles.models import Article
from publisher.db import session_scope
from publisher.media.models import Photo
from publisher.media.photos import WIDTHS


def give_photo(
    engine: Engine,
    slug: str,
    *,
    width: int = 1600,
    height: int = 1000,
    alt: str = "",
    caption: str | None = None,
    credit: str = "",
) -> Photo:
    """Store a photo row of ``width`` × ``height`` (every size of :data:`WIDTHS` it reaches)
    and make it ``slug``'s photo, with its alt text, caption (unchanged if None) and credit."""
    with session_scope(engine) as session:
        photo = Photo(
            key=hashlib.sha256(f"{slug}:{width}x{height}".encode()).hexdigest(),
            width=min(width, WIDTHS["large"]),
            height=round(height * min(width, WIDTHS["large"]) / width),
            sizes=json.dumps(sorted({min(w, width) for w in WIDTHS.values()}, reverse=True)),
        )
        session.add(photo)
        session.flush()
        article = session.exec(select(Article).where(Article.slug == slug)).one()
        article.photo_id = photo.id
        article.image_alt = alt
        article.image_credit = credit
        if caption is not None:
            article.image_caption = caption
        session.add(article)
        session.flush()
        session.expunge(photo)
        return photo
