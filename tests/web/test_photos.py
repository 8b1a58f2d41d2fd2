"""Photos over real HTTP: staff upload one in the admin, everyone fetches it from /media/.

What a user notices: every size served has lost the phone's GPS position and stands
upright; a file that is not a photo we take is refused with a reason in Slovenian and the
article stays as it was; the photos are cached by browsers for good; on PostgreSQL another
web machine (another app, an empty media folder) serves the same photo.
"""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.articles.models import Article
from publisher.audit import AuditAction, AuditEntry
from publisher.config import load_settings
from publisher.db import make_engine, session_scope
from publisher.media.photos import WIDTHS, photo_url, rendition_name
from publisher.staff.api_tokens import create_token
from publisher.web.app import create_app
from tests.media.photo_support import (
    SVG,
    an_article,
    bomb_png,
    phone_jpeg,
    photo_server,
    png,
    truncated_jpeg,
)
from tests.web import admin_support
from tests.web.admin_support import AdminSite, logged_in, open_admin_site, token_for
from tests.web.conftest import serve

admin_site = admin_support.admin_site


def upload(
    client: httpx.Client, article_id: int, name: str, data: bytes, alt: str = "Trg pred občino"
) -> httpx.Response:
    token = token_for(client, f"/admin/articles/{article_id}")
    return client.post(
        f"/admin/articles/{article_id}/photo",
        data={"csrf_token": token, "alt": alt, "caption": "Glavni trg", "credit": "Ana Novak"},
        files={"file": (name, data, "image/jpeg")},
    )


def stored_article(engine: Engine, article_id: int) -> Article:
    with Session(engine) as session:
        article = session.get(Article, article_id)
        assert article is not None
        if article.photo is not None:
            session.refresh(article.photo)
        session.expunge_all()
        return article


def test_every_served_size_of_an_uploaded_phone_photo_is_upright_and_without_gps(
    admin_site: AdminSite,
) -> None:
    article_id = an_article(admin_site.engine)
    client = logged_in(admin_site)
    answer = upload(client, article_id, "trg.jpg", phone_jpeg(1600, 900))
    assert answer.status_code == 303, answer.text
    page = client.get(answer.headers["location"])
    assert "Fotografija je shranjena" in page.text
    assert 'alt="Trg pred občino"' in page.text
    article = stored_article(admin_site.engine, article_id)
    assert article.photo is not None
    assert (article.image_alt, article.image_caption, article.image_credit) == (
        "Trg pred občino",
        "Glavni trg",
        "Ana Novak",
    )
    for use in WIDTHS:
        served = httpx.get(photo_url(admin_site.settings, article.photo, use))
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        image = Image.open(io.BytesIO(served.content))
        assert not image.getexif()
        assert b"GPS" not in served.content and b"taken at home" not in served.content
        assert image.height > image.width  # orientation 6 applied: the 1600 × 900 stands up
        assert image.width == min(WIDTHS[use], 900)
    with Session(admin_site.engine) as session:
        [entry] = session.exec(
            select(AuditEntry).where(AuditEntry.action == AuditAction.article_photo_changed)
        ).all()
        assert entry.actor == admin_support.STAFF_EMAIL


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("fotografija.jpg", png(), "ime se končuje s .jpg, datoteka pa je slika PNG"),
        ("velika.png", bomb_png(), "več kot 50.000.000 pikslov"),
        ("risba.svg", SVG, "SVG"),
        ("prekinjena.jpg", truncated_jpeg(), "poškodovana ali nepopolna"),
    ],
    ids=["png-named-jpg", "20000x20000", "svg", "truncated-jpeg"],
)
def test_an_upload_that_is_not_a_photo_we_take_is_refused_in_slovenian_and_changes_nothing(
    admin_site: AdminSite, name: str, data: bytes, words: str
) -> None:
    article_id = an_article(admin_site.engine)
    client = logged_in(admin_site)
    answer = upload(client, article_id, name, data, alt="Moj opis")
    assert answer.status_code == 400
    assert words in answer.text
    assert "Moj opis" in answer.text  # what staff typed is kept in the form
    article = stored_article(admin_site.engine, article_id)
    assert article.photo_id is None and article.image_alt == ""


def test_a_photo_without_alt_text_is_refused(admin_site: AdminSite) -> None:
    article_id = an_article(admin_site.engine)
    client = logged_in(admin_site)
    answer = upload(client, article_id, "trg.jpg", phone_jpeg(), alt="  ")
    assert answer.status_code == 400
    assert "opis je obvezen" in answer.text
    assert stored_article(admin_site.engine, article_id).photo_id is None


def test_the_photo_form_offers_the_caption_as_alt_text_and_the_photo_can_be_removed(
    admin_site: AdminSite,
) -> None:
    article_id = an_article(admin_site.engine, caption="Prenovljeni vodnjak")
    client = logged_in(admin_site)
    page = client.get(f"/admin/articles/{article_id}")
    assert 'enctype="multipart/form-data"' in page.text
    assert ">Prenovljeni vodnjak</textarea>" in page.text
    assert upload(client, article_id, "trg.jpg", phone_jpeg()).status_code == 303
    before = stored_article(admin_site.engine, article_id).updated_at
    removed = client.post(
        f"/admin/articles/{article_id}/photo/remove",
        data={"csrf_token": token_for(client, f"/admin/articles/{article_id}")},
    )
    assert removed.status_code == 303
    after = stored_article(admin_site.engine, article_id)
    assert after.photo_id is None and after.updated_at >= before


def test_a_photo_is_cached_for_good_and_answered_304_when_unchanged(
    admin_site: AdminSite,
) -> None:
    article_id = an_article(admin_site.engine)
    client = logged_in(admin_site)
    upload(client, article_id, "trg.png", png(500, 300))
    photo = stored_article(admin_site.engine, article_id).photo
    assert photo is not None
    url = photo_url(admin_site.settings, photo, "large")
    served = httpx.get(url)  # no staff session: photos are public
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = served.headers["etag"]
    again = httpx.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["etag"] == etag
    for wrong in (
        f"{photo.key}-500.png",
        f"{photo.key.upper()}-500.jpg",
        f"{photo.key}-7.jpg",  # a well-formed name that is not stored
        "..%2F..%2Fpublisher.db",
        f"{photo.key}-500.jpg.bak",
    ):
        assert httpx.get(f"{admin_site.url}/media/{wrong}").status_code == 404, wrong


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_on_postgresql_a_photo_stored_by_one_web_machine_is_served_by_another(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    article_id = an_article(engine)
    with open_admin_site(engine, database_url, media_dir=tmp_path / "one") as first:
        answer = upload(logged_in(first), article_id, "trg.jpg", phone_jpeg(800, 600))
        assert answer.status_code == 303, answer.text
    photo = stored_article(engine, article_id).photo
    assert photo is not None
    (tmp_path / "two").mkdir()
    elsewhere = {"database_url": database_url, "media_dir": tmp_path / "two"}

    its_engine = make_engine(database_url)

    def another_machine(url: str) -> FastAPI:
        return create_app(load_settings(**elsewhere, base_url=url), its_engine)

    try:
        with serve(another_machine) as (url, _):
            served = httpx.get(f"{url}/media/{rendition_name(photo, 'thumb')}")
            assert served.status_code == 200
            assert Image.open(io.BytesIO(served.content)).size == (400, 533)
    finally:
        its_engine.dispose()
    assert not any((tmp_path / "two").iterdir())
    assert not (tmp_path / "one").exists()


def test_an_article_pushed_through_the_api_gets_its_image_url_fetched_once_or_a_warning(
    engine: Engine, database_url: str
) -> None:
    with session_scope(engine) as session:
        _, secret = create_token(session, "cms")
    files = {"/trg.jpg": (phone_jpeg(), "image/jpeg"), "/risba.jpg": (SVG, "image/svg+xml")}
    with photo_server(files) as partner:
        allowed = [partner.base.removeprefix("http://")]
        with (
            open_admin_site(engine, database_url, import_allowed_hosts=allowed) as site,
            httpx.Client(
                base_url=f"{site.url}/api", headers={"Authorization": f"Bearer {secret}"}
            ) as api,
        ):
            article = {
                "id": "cms-7",
                "title": "Trg",
                "published_at": "2025-03-03T10:00:00+01:00",
                "body_text": "Besedilo.",
                "image_caption": "Glavni trg",
                "image_url": f"{partner.base}/trg.jpg",
                "image_credit": "Ana Novak",
            }
            first = api.post("/articles", json=article)
            assert first.status_code == 201, first.text
            assert first.json()["warnings"] == []
            assert first.json()["photo"].startswith(f"{site.url}/media/")
            assert first.json()["image_alt"] == "Glavni trg"
            again = api.post("/articles", json=article)  # the same id: pushed again
            assert again.status_code == 200 and again.json()["photo"] == first.json()["photo"]
            assert partner.requests == ["/trg.jpg"]
            assert httpx.get(first.json()["photo"]).status_code == 200

            drawing = api.post(
                "/articles",
                json={**article, "id": "cms-8", "image_url": f"{partner.base}/risba.jpg"},
            )
            assert drawing.status_code == 201
            [warning] = drawing.json()["warnings"]
            assert "SVG" in warning
            assert drawing.json()["photo"] is None
