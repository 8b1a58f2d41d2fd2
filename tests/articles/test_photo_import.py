"""Photos that come with imports: the image beside an office export, a JSON ``image_url``.

Each is stored once (a re-import of the same photo does not process it again); one that
cannot be had or is not a photo we take leaves the article saved without it, and the report
names the file, the line and the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from publisher.articles.importing import import_sources
from publisher.articles.models import Article
from publisher.articles.photos import PhotoIntake
from publisher.articles.store import SaveOutcome
from publisher.cli import app as cli_app
from publisher.config import Settings, load_settings
from publisher.media.models import MediaObject, Photo
from tests.articles.test_importing import write_export
from tests.media.photo_support import SVG, bomb_png, phone_jpeg, photo_server, png, truncated_jpeg

LJUBLJANA = ZoneInfo("Europe/Ljubljana")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(database_url=database_url, media_dir=tmp_path / "media")


def run(engine: Engine, settings: Settings, *sources: Path | str):
    return import_sources(
        engine,
        [str(source) for source in sources],
        tz=LJUBLJANA,
        photos=PhotoIntake.from_settings(settings),
        fetch_policy=PhotoIntake.from_settings(settings).fetch_policy,
    )


def articles(engine: Engine) -> list[Article]:
    with Session(engine) as session:
        found = list(session.exec(select(Article).order_by(Article.id)))
        for article in found:
            _ = article.photo
        return found


def photos_stored(engine: Engine, settings: Settings) -> tuple[int, int]:
    """Photo rows, and files in the media folder (SQLite) or rows of media (PostgreSQL)."""
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(Photo)).one()
        objects = session.exec(select(func.count()).select_from(MediaObject)).one()
    folder = settings.media_dir
    assert folder is not None
    files = len(list(folder.glob("*.jpg"))) if folder.exists() else 0
    return rows, objects + files


def export(folder: Path, stem: str = "novica") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_export(
        folder,
        f"{stem}.txt",
        caption="Prenovljeni vodnjak na trgu. Foto: Ana Novak",
        title="Vodnjak spet teče",
        date="3. 3. 2025",
        paragraphs=["Vodnjak na Glavnem trgu je spet v obratovanju."],
    )


def test_the_photo_beside_an_export_is_imported_once_with_caption_alt_and_credit(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "izvoz"
    export(folder)
    (folder / "novica.jpg").write_bytes(phone_jpeg(1600, 900))
    report = run(engine, settings, folder)
    assert report.ok and not report.warnings
    assert [source.source for source in report.sources] == [str(folder / "novica.txt")]
    [article] = articles(engine)
    assert article.photo is not None and (article.photo.width, article.photo.height) == (900, 1600)
    assert article.image_caption == "Prenovljeni vodnjak na trgu."
    assert article.image_alt == "Prenovljeni vodnjak na trgu."
    assert article.image_credit == "Ana Novak"
    assert (article.image_source or "").startswith("novica.jpg sha256:")
    stored = photos_stored(engine, settings)

    again = run(engine, settings, folder)
    assert again.count(SaveOutcome.unchanged) == 1
    assert photos_stored(engine, settings) == stored

    (folder / "novica.jpg").unlink()
    (folder / "novica.png").write_bytes(png(640, 480))  # a new photo: the article changes
    third = run(engine, settings, folder)
    assert third.count(SaveOutcome.updated) == 1
    [article] = articles(engine)
    assert article.photo is not None and article.photo.width == 640


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("novica.jpg", png(), "ends in .jpg but the file is a PNG"),
        ("novica.png", bomb_png(), "more than 50,000,000 pixels"),
        ("novica.jpeg", SVG, "SVG"),
        ("novica.jpg", truncated_jpeg(), "damaged or incomplete"),
    ],
    ids=["png-named-jpg", "20000x20000", "svg", "truncated-jpeg"],
)
def test_a_bad_photo_beside_an_export_is_a_warning_and_the_article_is_imported_without_it(
    engine: Engine, settings: Settings, tmp_path: Path, name: str, data: bytes, words: str
) -> None:
    folder = tmp_path / "izvoz"
    path = export(folder)
    (folder / name).write_bytes(data)
    report = run(engine, settings, path)
    assert report.ok and report.count(SaveOutcome.imported) == 1
    [warning] = report.warnings
    assert str(warning).startswith(f"{path}:3: saved without its photo")
    assert words in warning.reason
    [article] = articles(engine)
    assert article.photo_id is None


def test_image_url_in_json_is_fetched_once_and_stored(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with photo_server({"/slike/trg.jpg": (phone_jpeg(), "image/jpeg")}) as server:
        settings = load_settings(
            database_url=database_url,
            media_dir=tmp_path / "media",
            import_allowed_hosts=[server.base.removeprefix("http://")],
        )
        url = f"{server.base}/slike/trg.jpg"
        item = {
            "id": "cms-1",
            "title": "Trg",
            "published_at": "2025-03-03T10:00:00+01:00",
            "body_text": "Besedilo.",
            "caption": "Glavni trg",
            "image_url": url,
            "image_alt": "Glavni trg s prenovljenim tlakom",
            "image_credit": "Arhiv občine",
        }
        source = tmp_path / "novice.json"
        source.write_text(json.dumps([item]), encoding="utf-8")
        first = run(engine, settings, source)
        assert first.ok and not first.warnings
        second = run(engine, settings, source)
        assert second.count(SaveOutcome.unchanged) == 1
        assert server.requests == ["/slike/trg.jpg"]
    [article] = articles(engine)
    assert article.photo is not None and article.image_url == url == article.image_source
    assert (article.image_alt, article.image_credit) == (
        "Glavni trg s prenovljenim tlakom",
        "Arhiv občine",
    )


def test_an_image_url_on_a_private_network_is_not_fetched_and_the_article_is_kept(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with photo_server({"/trg.jpg": (phone_jpeg(), "image/jpeg")}) as server:
        item = {
            "title": "Trg",
            "published_at": "2025-03-03",
            "body_text": "Besedilo.",
            "image_url": f"{server.base}/trg.jpg",
        }
        source = tmp_path / "novice.jsonl"
        source.write_text(json.dumps(item) + "\n", encoding="utf-8")
        report = run(engine, settings, source)
        assert server.requests == []
    [warning] = report.warnings
    assert f"{source}:1: saved without its photo" in str(warning)
    assert "loopback" in warning.reason
    [article] = articles(engine)
    assert article.photo_id is None and article.image_url == item["image_url"]


def test_the_cli_import_prints_a_photo_warning_and_succeeds(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "izvoz"
    export(folder)
    (folder / "novica.jpg").write_bytes(SVG)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLISHER_MEDIA_DIR", str(tmp_path / "media"))
    result = CliRunner().invoke(cli_app, ["articles", "import", str(folder)])
    assert result.exit_code == 0, result.output
    assert "saved without its photo" in result.output and "SVG" in result.output
    assert "1 warned" in result.output
