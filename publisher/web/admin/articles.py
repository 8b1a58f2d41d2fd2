"""Articles and topics: list, read, publish or withdraw, name topics.

Publishing and withdrawing call the store's ``set_status`` and ping the WebSub hub exactly
as ``publisher articles publish/withdraw`` do.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.exceptions import HTTPException

from publisher.articles.editing import edit_status
from publisher.articles.models import ArticleStatus
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
from publisher.db import session_scope
from publisher.feeds.websub import notify_hub_of_changes
from publisher.links import article_url
from publisher.slugs import slug_problem
from publisher.staff.models import StaffAccount
from publisher.web.admin.auth import Staff
from publisher.web.admin.render import engine_of, render, settings_of
from publisher.web.clients import client_address
from publisher.web.csrf import require_csrf

router = APIRouter()
PAGE_SIZE = 50


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
    settings = settings_of(request)
    with Session(engine_of(request), expire_on_commit=False) as session:
        try:
            article = get_article(session, key)
        except ArticleNotFound:
            raise HTTPException(status_code=404) from None
        notices = {
            "published": "Članek je objavljen: viden je v virih in pride v naslednje izdaje.",
            "withdrawn": "Članek je umaknjen: izginil je iz virov in prihodnjih izdaj.",
            "topics": "Teme so shranjene: članek je v virih in izdajah teh tem.",
            "created": "Članek je shranjen.",
            "edited": "Popravki so shranjeni; bralci virov dobijo popravljeni članek.",
            "unchanged": "Ničesar niste spremenili.",
            "taken": "Prevzeli ste uvoženo različico članka.",
        }
        return render(
            request,
            "admin/article.html",
            staff=staff,
            active="articles",
            article=article,
            public_url=article_url(settings, article.slug),
            notice=notices.get(notice or ""),
            all_topics=[topic for topic, _ in list_topics(session)],
            chosen={topic.slug for topic in article.topics},
            state=edit_status(article),
            waiting=waiting_import(session, key),
        )


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
            article, changed = set_article_topics(session, key, topics or [])
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
    with Session(engine_of(request), expire_on_commit=False) as session:
        return render(
            request,
            "admin/topics.html",
            staff=staff,
            active="topics",
            topics=list_topics(session),
            notice="Tema je shranjena." if notice == "saved" else None,
            error=None,
        )


@router.post("/admin/topics", dependencies=[Depends(require_csrf)])
def save_topic_form(
    request: Request,
    staff: Staff,
    slug: Annotated[str, Form(max_length=80)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create a topic, or rename one (same slug), as ``publisher topics add`` does."""
    clean = slug.strip() or slugify_title(name)
    problem = slug_problem(clean)
    if problem is not None or not name.strip():
        error = (
            "Kratka oznaka ni veljavna: uporabite male črke (a–z), števke in vezaje, npr. promet."
            if slug.strip() and problem is not None
            else "Vpišite ime teme (in po želji kratko oznako, npr. promet)."
        )
        with Session(engine_of(request), expire_on_commit=False) as session:
            return render(
                request,
                "admin/topics.html",
                staff=staff,
                status_code=400,
                active="topics",
                topics=list_topics(session),
                notice=None,
                error=error,
            )
    with session_scope(engine_of(request)) as session:
        save_topic(session, clean, name.strip(), actor=staff.email, client=client_address(request))
    return RedirectResponse("/admin/topics?notice=saved", status_code=303)


def _with_notice(key: str, notice: str) -> str:
    """The article's page, telling the staff member what was just done."""
    return f"/admin/articles/{key}?{urlencode({'notice': notice})}"
