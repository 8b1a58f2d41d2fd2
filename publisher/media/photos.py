"""Photos of articles: the one way a picture gets in (checked, upright, EXIF-free, resized,
stored under its hash) and the one way its addresses are made.

CONTRACT (this session's helpers build behind it; see each function):
``store_photo`` is not written yet and raises; ``rendition_name``/``photo_url``/``WIDTHS`` are.
"""

from __future__ import annotations

import json

from sqlmodel import Session

from publisher.config import Settings
from publisher.links import media_url
from publisher.media.models import Photo

WIDTHS = {"large": 1200, "medium": 800, "thumb": 400}
"""The sizes kept of every photo, by use: ``large`` is the digest's 600 px column at 2× and
the article page; ``medium`` the article page on phones; ``thumb`` the lists. A photo
narrower than a size is kept at its own width for it (never enlarged)."""


class PhotoRefused(ValueError):
    """A file that is not a photo we take, and why, in English (``reason``) and Slovenian
    (``reason_sl``, for the admin); nothing else about the article is lost."""

    def __init__(self, reason: str, reason_sl: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reason_sl = reason_sl


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
    raise NotImplementedError("store_photo: being written in this session")
