"""Public pages: the home page, article pages (the feeds' permalinks), topic pages, and the
follow pages that explain, for the site and for each topic, how to follow it in a feed reader."""

from __future__ import annotations

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
from publisher.feeds.following import feed_links, follow_page_path, reader_links
from publisher.topics import Topic
from publisher.web.layout import page_language, render
from publisher.web.security import CSP_WITH_OUR_SCRIPTS

router = APIRouter()
HOME_ARTICLES = 20
TOPIC_ARTICLES = 50


def _render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
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
        return _render(request, "home.html", entries=entries)


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
            return _render(request, "withdrawn.html", status_code=410)
        if not is_public(article):  # a draft, or scheduled and not yet due: as if not there
            return not_found_page(request)
        entry = entry_from_article(article, settings)
        return _render(request, "article.html", entry=entry)


def _public_topic(session: Session, slug: str) -> Topic | None:
    """The topic named ``slug`` if it has public articles (else it has no page)."""
    return next((t for t, _ in list_topics(session) if t.slug == slug), None)


@router.api_route("/topics/{slug}", methods=["GET", "HEAD"])
def topic_page(request: Request, slug: str) -> Response:
    settings: Settings = request.app.state.settings
    with _session(request) as session:
        topic = _public_topic(session, slug)
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
            topic=topic,
            entries=entries,
            feeds=feed_links(settings, lang, topic.slug, topic.name_for(lang)),
        )


def _follow_page(request: Request, topic: Topic | None) -> Response:
    """The follow page of the site or of ``topic``, in the reader's language. It alone among
    the news pages loads a script (``copy.js``, for the copy buttons), so its policy allows
    the site's own script files."""
    settings: Settings = request.app.state.settings
    lang = page_language(request)
    feeds = feed_links(
        settings, lang, topic.slug if topic else None, topic.name_for(lang) if topic else None
    )
    return render(
        request,
        "following.html",
        lang=lang,
        headers={"Content-Security-Policy": CSP_WITH_OUR_SCRIPTS},
        topic=topic,
        feeds=feeds,
        readers=reader_links(feeds[0].url),
        follow_path=follow_page_path,
    )


@router.api_route("/viri", methods=["GET", "HEAD"])
def follow_site(request: Request) -> Response:
    return _follow_page(request, None)


@router.api_route("/topics/{slug}/viri", methods=["GET", "HEAD"])
def follow_topic(request: Request, slug: str) -> Response:
    with _session(request) as session:
        topic = _public_topic(session, slug)
        if topic is None:
            return not_found_page(request)
    return _follow_page(request, topic)
