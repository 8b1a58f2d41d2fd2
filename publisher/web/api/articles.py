"""Articles: the CMS pushes, reads, replaces and withdraws them.

An article pushed here goes through the JSON importer's reading and sanitising
(:func:`draft_from_object`), so it is stored exactly as an imported one, and from there reaches
the feeds and the next digest like any other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlmodel import Session
from starlette.exceptions import HTTPException

from publisher.articles.formats.json_import import draft_from_object
from publisher.articles.models import Article, ArticleStatus
from publisher.articles.photos import PhotoIntake
from publisher.articles.store import (
    ArticleNotFound,
    ArticleWriter,
    SaveOutcome,
    article_to_dict,
    get_article,
    list_articles,
    set_status,
)
from publisher.audit import api_actor
from publisher.config import Settings
from publisher.feeds.websub import notify_hub_of_changes
from publisher.links import article_url
from publisher.media.photos import photo_url
from publisher.staff.models import ApiToken
from publisher.web.api.auth import Caller
from publisher.web.api.dependencies import Db, settings_of
from publisher.web.api.errors import documented, problem_at, unprocessable
from publisher.web.api.schemas import MAX_OFFSET, ArticleIn, ArticleOut, Day
from publisher.web.clients import client_address

router = APIRouter()


def _article_out(
    article: Article, settings: Settings, warnings: list[str] | None = None
) -> ArticleOut:
    data = article_to_dict(article, settings.tz)
    data["link"] = article_url(settings, article.slug)
    data["photo"] = photo_url(settings, article.photo, "large") if article.photo else None
    data["warnings"] = warnings or []
    return ArticleOut.model_validate(data)


def _find_article(session: Session, key: str) -> Article:
    try:
        return get_article(session, key)
    except ArticleNotFound:
        raise HTTPException(404, detail=f"no article with id or slug {key!r}") from None


def _save(
    request: Request, session: Session, body: ArticleIn, token: ApiToken, external_id: str | None
) -> tuple[SaveOutcome, Article, list[str]] | JSONResponse:
    settings = settings_of(request)
    try:
        draft = draft_from_object(body.as_import_item(), f"api:{token.name}", tz=settings.tz)
    except ValueError as exc:
        return unprocessable([problem_at(["body"], problem) for problem in str(exc).split("; ")])
    if external_id is not None:
        draft.external_id = external_id
    writer = ArticleWriter(session, PhotoIntake.from_settings(settings))
    outcome, article = writer.save(draft)
    warnings = [warning.reason for warning in writer.warnings]
    if body.status is not None:
        article, changed = set_status(
            session,
            article.id or 0,
            ArticleStatus(body.status),
            actor=api_actor(token.name),
            client=client_address(request),
        )
        if changed and outcome is SaveOutcome.unchanged:
            outcome = SaveOutcome.updated
    return outcome, article, warnings


def publish_changes(request: Request, session: Session) -> None:
    """Commit, then tell the WebSub hub (if any) in the background, as the import does."""
    session.commit()
    notify_hub_of_changes(request.app.state.engine, settings_of(request))


@router.get(
    "/articles",
    response_model=list[ArticleOut],
    tags=["articles"],
    summary="List articles",
    responses=documented(422),
)
def list_articles_route(
    request: Request,
    session: Db,
    topic: Annotated[str | None, Query(description="Only this topic (slug).")] = None,
    since: Annotated[Day | None, Query(description="Published on or after this day.")] = None,
    include_withdrawn: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ArticleOut]:
    """Articles, newest first."""
    settings = settings_of(request)
    moment = datetime.combine(since, datetime.min.time(), tzinfo=settings.tz) if since else None
    articles = list_articles(
        session,
        topic=topic,
        since=moment,
        include_withdrawn=include_withdrawn,
        limit=limit,
        offset=offset,
    )
    return [_article_out(article, settings) for article in articles]


@router.post(
    "/articles",
    response_model=ArticleOut,
    status_code=201,
    summary="Push an article",
    tags=["articles"],
    responses={
        200: {"description": "An article with this id existed: updated (or unchanged)."},
        **documented(400, 413, 422),
    },
)
def create_article(
    request: Request, response: Response, session: Db, body: ArticleIn, token: Caller
) -> Any:
    """Push an article: created (201), or updated (200) when its `id` was pushed before."""
    saved = _save(request, session, body, token, None)
    if isinstance(saved, JSONResponse):
        return saved
    outcome, article, warnings = saved
    publish_changes(request, session)
    if outcome is not SaveOutcome.imported:
        response.status_code = 200
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/articles/{article.id}"
    return _article_out(article, settings_of(request), warnings)


@router.get(
    "/articles/{key}",
    response_model=ArticleOut,
    tags=["articles"],
    summary="Read an article",
    responses=documented(404),
)
def read_article(request: Request, session: Db, key: str) -> ArticleOut:
    """One article by id or slug, withdrawn ones included."""
    return _article_out(_find_article(session, key), settings_of(request))


@router.put(
    "/articles/{key}",
    response_model=ArticleOut,
    tags=["articles"],
    summary="Replace an article",
    responses=documented(400, 404, 413, 422),
)
def replace_article(request: Request, session: Db, key: str, body: ArticleIn, token: Caller) -> Any:
    """Replace an article's content (the path names it; `id` in the body is not used)."""
    existing = _find_article(session, key)
    saved = _save(request, session, body, token, existing.external_id)
    if isinstance(saved, JSONResponse):
        return saved
    publish_changes(request, session)
    return _article_out(saved[1], settings_of(request), saved[2])


@router.delete(
    "/articles/{key}",
    response_model=ArticleOut,
    tags=["articles"],
    summary="Withdraw an article",
    responses=documented(404),
)
def withdraw_article(request: Request, session: Db, key: str, token: Caller) -> ArticleOut:
    """Withdraw: the article leaves the site, feeds and future digests; the record is kept."""
    article = _find_article(session, key)
    article, changed = set_status(
        session,
        article.id or 0,
        ArticleStatus.withdrawn,
        actor=api_actor(token.name),
        client=client_address(request),
    )
    if changed:
        publish_changes(request, session)
    return _article_out(article, settings_of(request))
