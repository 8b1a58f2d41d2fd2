"""The sample articles' photos: drawn for the project, small, each beside its export."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PIL import Image

from publisher.samples.draw_photos import PHOTOS

MAX_BYTES = 80 * 1024


def test_each_drawn_photo_is_a_small_jpeg_beside_the_export_it_belongs_to() -> None:
    with resources.as_file(resources.files("publisher") / "samples" / "articles") as folder:
        photos = sorted(Path(folder).glob("*.jpg"))
        assert [photo.stem for photo in photos] == sorted(PHOTOS)
        for photo in photos:
            assert (photo.with_suffix(".txt")).is_file(), photo.name
            assert photo.stat().st_size < MAX_BYTES, photo.name
            with Image.open(photo) as image:
                assert image.format == "JPEG"
                assert 800 <= image.width <= 1200 and image.height < image.width
                assert not image.getexif(), "no metadata in a sample photo"
