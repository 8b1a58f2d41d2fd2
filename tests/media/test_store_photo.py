"""store_photo on a real database and media store: what goes in, what is kept, what is refused."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from publisher.config import load_settings
from publisher.media.models import MediaObject, Photo
from publisher.media.photos import (
    WIDTHS,
    PhotoRefused,
    rendition_name,
    rendition_size,
    store_photo,
)
from publisher.media.store import media_store
from tests.media.photo_support import SVG, bomb_png, phone_jpeg, png, truncated_jpeg


@pytest.fixture
def settings(database_url: str, tmp_path: Path):
    return load_settings(database_url=database_url, media_dir=tmp_path / "media")


def test_a_phone_photo_is_kept_upright_in_every_size_without_its_metadata(
    engine: Engine, settings
) -> None:
    with Session(engine) as session:
        photo = store_photo(session, settings, phone_jpeg(1600, 900), "trg.jpg")
        session.commit()
        assert (photo.width, photo.height) == (900, 1600)  # turned upright, never enlarged
        assert json.loads(photo.sizes) == [900, 800, 400]
        store = media_store(settings, session)
        for use in WIDTHS:
            stored = store.get(rendition_name(photo, use))
            assert stored is not None and stored.content_type == "image/jpeg"
            image = Image.open(io.BytesIO(stored.data))
            assert image.format == "JPEG"
            assert image.size == rendition_size(photo, use)
            assert image.height > image.width
            assert not image.getexif()
            assert b"GPS" not in stored.data and b"taken at home" not in stored.data
            assert "comment" not in image.info and "xmp" not in image.info


def test_the_same_picture_is_stored_once(engine: Engine, settings) -> None:
    data = png(500, 300, transparent=True)
    with Session(engine) as session:
        first = store_photo(session, settings, data, "a.png")
        second = store_photo(session, settings, data, "b.png")
        session.commit()
        assert first.id == second.id
        assert session.exec(select(func.count()).select_from(Photo)).one() == 1
        flat = Image.open(
            io.BytesIO(media_store(settings, session).get(f"{first.key}-500.jpg").data)
        )
        assert flat.getpixel((10, 10)) >= (250, 250, 250)  # transparency on white


def test_photos_are_kept_in_a_folder_on_sqlite_and_in_the_database_on_postgresql(
    engine: Engine, settings, tmp_path: Path
) -> None:
    with Session(engine) as session:
        store_photo(session, settings, png(), "a.png")
        session.commit()
        rows = session.exec(select(func.count()).select_from(MediaObject)).one()
    files = list((tmp_path / "media").glob("*.jpg")) if (tmp_path / "media").exists() else []
    if engine.dialect.name == "postgresql":
        assert (rows, len(files)) == (1, 0)
    else:
        assert (rows, len(files)) == (0, 1)


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (png(), "photo.jpg", "ends in .jpg but the file is a PNG"),
        (bomb_png(), "bomb.png", "more than 50,000,000 pixels"),
        (SVG, "drawing.svg", "SVG"),
        (truncated_jpeg(), "cut.jpg", "damaged or incomplete"),
        (b"%PDF-1.4 not a photo", "doc.jpg", "not a photo we take"),
    ],
    ids=["png-named-jpg", "20000x20000", "svg", "truncated-jpeg", "pdf"],
)
def test_a_file_that_is_not_a_photo_we_take_is_refused_with_a_message(
    engine: Engine, settings, data: bytes, name: str, words: str
) -> None:
    with Session(engine) as session, pytest.raises(PhotoRefused) as refused:
        store_photo(session, settings, data, name)
    assert words in refused.value.reason and name in refused.value.reason
    assert refused.value.reason_sl and refused.value.reason_sl != refused.value.reason
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Photo)).one() == 0


def test_a_file_over_the_size_cap_is_refused(engine: Engine, database_url: str, tmp_path) -> None:
    settings = load_settings(
        database_url=database_url, media_dir=tmp_path / "m", photo_max_bytes=100_000
    )
    big = Image.effect_noise((400, 400), 100).convert("RGB")
    out = io.BytesIO()
    big.save(out, "PNG")
    assert len(out.getvalue()) > 100_000
    with Session(engine) as session, pytest.raises(PhotoRefused, match=r"larger than 0\.1 MB"):
        store_photo(session, settings, out.getvalue(), "noise.png")


@pytest.mark.parametrize(("fmt", "name"), [("WEBP", "a.webp"), ("HEIF", "iphone.HEIC")])
def test_webp_and_a_phones_heic_are_taken(engine: Engine, settings, fmt: str, name: str) -> None:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 90, 150)).save(out, fmt)
    with Session(engine) as session:
        photo = store_photo(session, settings, out.getvalue(), name)
        assert (photo.width, photo.height, json.loads(photo.sizes)) == (640, 480, [640, 400])
