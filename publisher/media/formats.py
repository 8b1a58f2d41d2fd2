"""The photo formats we take, by Pillow's name and by file ending (light: no Pillow here, so
the article importer can tell a photo file from an article file without loading it)."""

from __future__ import annotations

from pathlib import PurePath

FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC"}
"""The formats we take, by Pillow's name, as people call them."""

EXTENSIONS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
    ".heic": "HEIF",
    ".heif": "HEIF",
    ".hif": "HEIF",
}
"""The file name endings of the formats we take (a photo beside an office export is found by
these, and a name that says another format than the content is refused)."""


def extension_format(name: str) -> str | None:
    """The format a file name's ending says, among those we take."""
    return EXTENSIONS.get(PurePath(name).suffix.lower())


def is_photo_name(name: str) -> bool:
    return extension_format(name) is not None
