"""Articles and topics: list, read, publish or withdraw, give a photo, name topics.

Publishing and withdrawing call the store's ``set_status`` and ping the WebSub hub exactly
as ``publisher articles publish/withdraw`` do; a photo goes through ``set_article_photo``,
the editor's way too.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from publisher.articles.editing import edit_status
from publisher.articles.models import ArticleStatus
from publisher.articles.photos import remove_article_photo, set_article_photo
from publisher.articles.revisions import waiting_import
from publisher.articles.sanitize import slugify_title
from publisher.articles.store import (
    ArticleNotFound,
    UnknownTopic,
    get_article,
    list_articles,
    list_topics,
    save_topic,
    set_article_topics,
    set_status,
)
from publisher.config import Settings
from publisher.db import session_scope
from publisher.feeds.websub import notify_hub_of_changes
from publisher.links import article_url
from publisher.media.models import Photo
from publisher.media.photos import PhotoRefused, photo_url, rendition_size
from publisher.slugs import slug_problem
from publisher.staff.models import StaffAccount
from publisher.web.admin.auth import Staff
from publisher.web.admin.render import ENGLISH_NAME_TOO_LONG, engine_of, render, settings_of
from publisher.web.body import FORM_BODY_LIMIT, BodyRule
from publisher.web.clients import client_address
from publisher.web.csrf import FIELD as CSRF_FIELD
from publisher.web.csrf import check_csrf_token, require_csrf
from publisher.web.uploads import UploadRefused, receive_upload

router = APIRouter()
PAGE_SIZE = 50
PHOTO_TYPES = "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif"
"""What the photo form's file picker offers (the server checks the bytes, not this)."""
NOTICES = {
    "published": "Članek je objavljen: viden je v virih in pride v naslednje izdaje.",
    "withdrawn": "Članek je umaknjen: izginil je iz virov in prihodnjih izdaj.",
    "topics": "Teme so shranjene: članek je v virih in izdajah teh tem.",
    "photo": "Fotografija je shranjena: članek jo kaže na strani, v virih in izdajah.",
    "photo-removed": "Fotografija je odstranjena iz članka.",
    "created": "Članek je shranjen.",
    "edited": "Popravki so shranjeni; bralci virov dobijo popravljeni članek.",
    "unchanged": "Ničesar niste spremenili.",
    "taken": "Prevzeli ste uvoženo različico članka.",
}


def photo_body_rule(settings: Settings) -> BodyRule:
    """The photo form's body limit: the largest photo taken and the form's fields."""
    return BodyRule(r"/admin/articles/[0-9]+/photo", settings.photo_max_bytes + FORM_BODY_LIMIT)


@router.get("/admin/articles")
def articles_page(
    request: Request, staff: Staff, topic: str | None = None, page: int = 1
) -> Response:
    page = max(page, 1)
    with Session(engine_of(request), expire_on_commit=False) as session:
        found = list_articles(
            session,
            topic=topic or None,
            include_withdrawn=True,
            limit=PAGE_SIZE + 1,
            offset=(page - 1) * PAGE_SIZE,
        )
        return render(
            request,
            "admin/articles.html",
            staff=staff,
            active="articles",
            articles=found[:PAGE_SIZE],
            more=len(found) > PAGE_SIZE,
            page=page,
            topic=topic or "",
            topics=[t for t, _ in list_topics(session)],
            states={article.id: edit_status(article) for article in found},
        )


@router.get("/admin/articles/{key}")
def article_page(request: Request, staff: Staff, key: int, notice: str | None = None) -> Response:
    return _article_view(request, staff, key, notice=NOTICES.get(notice or ""))


def _article_view(
    request: Request,
    staff: StaffAccount,
    key: int,
    *,
    notice: str | None = None,
    photo_error: str | None = None,
    photo_form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    settings = settings_of(request)
    with Session(engine_of(request), expire_on_commit=False) as session:
        try:
            article = get_article(session, key)
        except ArticleNotFound:
            raise HTTPException(status_code=404) from None
        photo = article.photo
        return render(
            request,
            "admin/article.html",
            staff=staff,
            status_code=status_code,
            active="articles",
            article=article,
            public_url=article_url(settings, article.slug),
            notice=notice,
            all_topics=[topic for topic, _ in list_topics(session)],
            chosen={topic.slug for topic in article.topics},
            state=edit_status(article),
            waiting=waiting_import(session, key),
            photo=None if photo is None else _shown_photo(settings, photo),
            photo_error=photo_error,
            photo_form=photo_form
            or {
                "alt": article.image_alt or article.image_caption,
                "caption": article.image_caption,
                "credit": article.image_credit,
            },
            photo_types=PHOTO_TYPES,
        )


def _shown_photo(settings: Settings, photo: Photo) -> dict[str, object]:
    width, height = rendition_size(photo, "thumb")
    return {"src": photo_url(settings, photo, "thumb"), "width": width, "height": height}


@router.post("/admin/articles/{key}/photo")
async def upload_photo(request: Request, staff: Staff, key: int) -> Response:
    """Give the article a photo: the file streams to disk once under the body limit
    (:func:`photo_body_rule`), its CSRF token is checked once read, and a file we do not
    take is refused with the reason in Slovenian, the article left as it was."""
    with tempfile.TemporaryDirectory(prefix="publisher-photo-") as folder:
        try:
            upload = await receive_upload(request, Path(folder), default_name="fotografija")
        except UploadRefused:
            return await run_in_threadpool(
                _article_view,
                request,
                staff,
                key,
                photo_error="Fotografije ni bilo mogoče prebrati: izberite datoteko in jo "
                "pošljite z obrazcem na tej strani.",
                status_code=400,
            )
        check_csrf_token(request, upload.fields.get(CSRF_FIELD))
        assert upload.path is not None
        data = upload.path.read_bytes()
    form = {name: upload.fields.get(name, "") for name in ("alt", "caption", "credit")}
    return await run_in_threadpool(_set_photo, request, staff, key, data, upload.filename, form)


def _set_photo(
    request: Request, staff: StaffAccount, key: int, data: bytes, name: str, form: dict[str, str]
) -> Response:
    settings = settings_of(request)
    engine = engine_of(request)
    try:
        with session_scope(engine) as session:
            article = set_article_photo(
                session,
                settings,
                key,
                data,
                name,
                form["alt"],
                form["caption"],
                form["credit"],
                actor=staff.email,
                client=client_address(request),
            )
            topics = [topic.slug for topic in article.topics]
    except ArticleNotFound:
        raise HTTPException(status_code=404) from None
    except PhotoRefused as exc:
        return _article_view(
            request, staff, key, photo_error=exc.reason_sl, photo_form=form, status_code=400
        )
    notify_hub_of_changes(engine, settings, topics)
    return RedirectResponse(_with_notice(key, "photo"), status_code=303)


@router.post("/admin/articles/{key}/photo/remove", dependencies=[Depends(require_csrf)])
def remove_photo(request: Request, staff: Staff, key: int) -> Response:
    settings = settings_of(request)
    engine = engine_of(request)
    with session_scope(engine) as session:
        try:
            article, changed = remove_article_photo(
                session, key, actor=staff.email, client=client_address(request)
            )
        except ArticleNotFound:
            raise HTTPException(status_code=404) from None
        topics = [topic.slug for topic in article.topics]
    if changed:
        notify_hub_of_changes(engine, settings, topics)
    return RedirectResponse(_with_notice(key, "photo-removed"), status_code=303)


def _change(request: Request, staff: StaffAccount, key: int, status: ArticleStatus) -> Response:
    settings = settings_of(request)
    engine = engine_of(request)
    with session_scope(engine) as session:
        try:
            article, changed = set_status(
                session, key, status, actor=staff.email, client=client_address(request)
            )
        except ArticleNotFound:
            raise HTTPException(status_code=404) from None
        topics = [topic.slug for topic in article.topics]
    if changed:
        notify_hub_of_changes(engine, settings, topics)
    return RedirectResponse(_with_notice(key, status.value), status_code=303)


@router.post("/admin/articles/{key}/publish", dependencies=[Depends(require_csrf)])
def publish(request: Request, staff: Staff, key: int) -> Response:
    return _change(request, staff, key, ArticleStatus.published)


@router.post("/admin/articles/{key}/withdraw", dependencies=[Depends(require_csrf)])
def withdraw(request: Request, staff: Staff, key: int) -> Response:
    return _change(request, staff, key, ArticleStatus.withdrawn)


@router.post("/admin/articles/{key}/topics", dependencies=[Depends(require_csrf)])
def save_article_topics(
    request: Request, staff: Staff, key: int, topics: Annotated[list[str] | None, Form()] = None
) -> Response:
    """File the article under the ticked topics (same store function as an import uses)."""
    settings = settings_of(request)
    engine = engine_of(request)
    with session_scope(engine) as session:
        try:
            before = {topic.slug for topic in get_article(session, key).topics}
            article, changed = set_article_topics(session, key, topics or [], actor=staff.email)
        except ArticleNotFound:
            raise HTTPException(status_code=404) from None
        except UnknownTopic as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        touched = sorted(before | {topic.slug for topic in article.topics})
    if changed:
        notify_hub_of_changes(engine, settings, touched)
    return RedirectResponse(_with_notice(key, "topics"), status_code=303)


@router.get("/admin/topics")
def topics_page(request: Request, staff: Staff, notice: str | None = None) -> Response:
    return _topics_view(request, staff, notice="Tema je shranjena." if notice == "saved" else None)


def _topics_view(
    request: Request,
    staff: StaffAccount,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    with Session(engine_of(request), expire_on_commit=False) as session:
        return render(
            request,
            "admin/topics.html",
            staff=staff,
            status_code=status_code,
            active="topics",
            topics=list_topics(session),
            notice=notice,
            error=error,
        )


@router.post("/admin/topics", dependencies=[Depends(require_csrf)])
def save_topic_form(
    request: Request,
    staff: Staff,
    slug: Annotated[str, Form(max_length=80)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    name_en: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Create a topic, or rename one (same slug), as ``publisher topics add`` does; the
    English name is the form's to set: left empty, English readers see the Slovenian one."""
    clean = slug.strip() or slugify_title(name)
    problem = slug_problem(clean)
    if problem is not None or not name.strip():
        error = (
            "Kratka oznaka ni veljavna: uporabite male črke (a–z), števke in vezaje, npr. promet."
            if slug.strip() and problem is not None
            else "Vpišite ime teme (in po želji kratko oznako, npr. promet)."
        )
        return _topics_view(request, staff, error=error, status_code=400)
    try:
        with session_scope(engine_of(request)) as session:
            save_topic(
                session,
                clean,
                name.strip(),
                name_en=name_en,
                actor=staff.email,
                client=client_address(request),
            )
    except ValueError:  # the English name's rule (clean_english_name)
        return _topics_view(request, staff, error=ENGLISH_NAME_TOO_LONG, status_code=400)
    return RedirectResponse("/admin/topics?notice=saved", status_code=303)


def _with_notice(key: str | int, notice: str) -> str:
    """The article's page, telling the staff member what was just done."""
    return f"/admin/articles/{key}?{urlencode({'notice': notice})}"
