"""Photos of articles: the one way a picture gets in (checked, upright, EXIF-free, resized,
stored under its hash) and the one way its addresses are made.

The Pillow work is in :mod:`publisher.media.images`, the bytes' home in
:mod:`publisher.media.store`; this module ties them to the :class:`Photo` rows.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from publisher.config import Settings
from publisher.links import media_url
from publisher.media.images import PhotoRefused, check_file, decode, render_sizes
from publisher.media.models import Photo
from publisher.media.store import media_store

__all__ = [
    "WIDTHS",
    "PhotoRefused",
    "photo_key",
    "photo_url",
    "rendition_name",
    "rendition_size",
    "store_photo",
    "stored_widths",
]

WIDTHS = {"large": 1200, "medium": 800, "thumb": 400}
"""The sizes kept of every photo, by use: ``large`` is the digest's 600 px column at 2× and
the article page; ``medium`` the article page on phones; ``thumb`` the lists. A photo
narrower than a size is kept at its own width for it (never enlarged)."""


def rendition_name(photo: Photo, use: str) -> str:
    """The media store's name of ``photo`` in the size of ``use`` (a key of :data:`WIDTHS`)."""
    width = min(WIDTHS[use], photo.width)
    return f"{photo.key}-{width}.jpg"


def rendition_size(photo: Photo, use: str) -> tuple[int, int]:
    """Width and height in pixels of ``photo`` in the size of ``use`` (for ``width``/``height``
    attributes, so that nothing jumps while it loads)."""
    width = min(WIDTHS[use], photo.width)
    return width, max(1, round(photo.height * width / photo.width))


def photo_url(settings: Settings, photo: Photo, use: str) -> str:
    """The absolute URL of ``photo`` in the size of ``use``."""
    return media_url(settings, rendition_name(photo, use))


def stored_widths(photo: Photo) -> list[int]:
    return [int(width) for width in json.loads(photo.sizes)]


def store_photo(session: Session, settings: Settings, data: bytes, name: str) -> Photo:
    """Check ``data`` by its content, make every size, store them, and return the flushed
    :class:`Photo` (the same row when the same picture was stored before).

    Raises :class:`PhotoRefused` for anything but a real JPEG, PNG, WebP (or HEIC) image
    within ``photo_max_bytes`` and ``photo_max_pixels``, and for a name whose extension
    says another type than the content.
    """
    fmt = check_file(data, name, max_bytes=settings.photo_max_bytes)
    key = photo_key(data)
    existing = session.exec(select(Photo).where(Photo.key == key)).first()
    if existing is not None:
        return existing
    picture = decode(data, name, fmt, max_pixels=settings.photo_max_pixels)
    renditions = render_sizes(picture, sorted(WIDTHS.values()))
    store = media_store(settings, session)
    for rendition in renditions:
        store.put(f"{key}-{rendition.width}.jpg", rendition.data, "image/jpeg")
    largest = renditions[0]
    photo = Photo(
        key=key,
        width=largest.width,
        height=largest.height,
        sizes=json.dumps([rendition.width for rendition in renditions]),
    )
    try:
        with session.begin_nested():
            session.add(photo)
    except IntegrityError:  # the same picture, stored at this moment by another request
        session.expunge(photo)
        return session.exec(select(Photo).where(Photo.key == key)).one()
    return photo


def photo_key(data: bytes) -> str:
    """The name of a photo's files: the SHA-256 of the bytes as they came (the same file
    brought twice is looked up, not decoded again)."""
    return hashlib.sha256(data).hexdigest()
