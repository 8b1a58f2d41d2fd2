"""Public pages: the home page, article pages (the feeds' permalinks) and topic pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from publisher.articles.models import ArticleStatus
from publisher.articles.store import (
    ArticleNotFound,
    get_article,
    is_public,
    list_articles,
    list_topics,
)
from publisher.config import Settings
from publisher.feeds.entries import entry_from_article
from publisher.feeds.models import FeedFormat, FeedKey
from publisher.links import feed_url
from publisher.web.layout import page_language, render

router = APIRouter()
HOME_ARTICLES = 20
TOPIC_ARTICLES = 50


@dataclass(frozen=True)
class FeedLink:
    """One ``<link rel="alternate">`` for feed autodiscovery, and a visible link."""

    title: str
    media_type: str
    url: str
    label: str


def feed_links(
    settings: Settings, lang: str, topic: str | None = None, topic_name: str | None = None
) -> list[FeedLink]:
    """The feeds a page offers, titled with the site's name in the page's language."""
    site_name = settings.site_names(lang).nominative
    scope = f"{site_name}: {topic_name}" if topic_name else site_name
    return [
        FeedLink(
            title=f"{scope} ({fmt.label})",
            media_type=fmt.media_type,
            url=feed_url(settings, FeedKey(format=fmt, topic=topic).path),
            label=fmt.label,
        )
        for fmt in FeedFormat
    ]


def _render(
    request: Request,
    template: str,
    session: Session,
    status_code: int = 200,
    *,
    preferred: str | None = None,
    **context: Any,
) -> Response:
    """A news page in the site's one layout, in the language the reader asked for."""
    return render(
        request,
        template,
        lang=page_language(request, preferred),
        status_code=status_code,
        **context,
    )


MACHINE_PATHS = (
    "/api/",
    "/feeds/",
    "/static/",
    "/media/",
    "/webhooks/",
    "/admin",
    "/healthz",
    "/readyz",
    "/metrics",
)
"""Where a missing thing is asked for by a program (or staff, with their own layout): its 404
stays short text or JSON rather than a page of the site."""


def is_page_path(path: str) -> bool:
    """Whether a 404 at ``path`` is answered with the site's page (readers) or as data."""
    return not path.startswith(MACHINE_PATHS)


def not_found_page(request: Request) -> Response:
    """The site's 404 page, in the one layout and the reader's language: a way home, to the
    archive and to the subscription form, the status kept."""
    return render(request, "not_found.html", lang=page_language(request), status_code=404)


def _session(request: Request) -> Session:
    return Session(request.app.state.engine)


@router.api_route("/", methods=["GET", "HEAD"])
def home(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    with _session(request) as session:
        entries = [
            entry_from_article(article, settings)
            for article in list_articles(session, limit=HOME_ARTICLES)
        ]
        return _render(request, "home.html", session, entries=entries)


@router.api_route("/articles/{slug}", methods=["GET", "HEAD"])
def article_page(request: Request, slug: str) -> Response:
    settings: Settings = request.app.state.settings
    with _session(request) as session:
        try:
            article = get_article(session, slug)
        except ArticleNotFound:
            article = None
        if article is None or article.slug != slug:  # digits are ids to get_article
            return not_found_page(request)
        if article.status == ArticleStatus.withdrawn:
            return _render(request, "withdrawn.html", session, status_code=410)
        if not is_public(article):  # a draft, or scheduled and not yet due: as if not there
            return not_found_page(request)
        entry = entry_from_article(article, settings)
        return _render(request, "article.html", session, entry=entry)


@router.api_route("/topics/{slug}", methods=["GET", "HEAD"])
def topic_page(request: Request, slug: str) -> Response:
    settings: Settings = request.app.state.settings
    with _session(request) as session:
        topic = next((t for t, _ in list_topics(session) if t.slug == slug), None)
        if topic is None:
            return not_found_page(request)
        lang = page_language(request)
        entries = [
            entry_from_article(article, settings)
            for article in list_articles(session, topic=slug, limit=TOPIC_ARTICLES)
        ]
        return _render(
            request,
            "topic.html",
            session,
            topic=topic,
            entries=entries,
            feeds=feed_links(settings, lang, topic.slug, topic.name_for(lang)),
        )
