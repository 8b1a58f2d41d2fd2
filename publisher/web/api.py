"""The API the municipality's CMS calls: articles, topics, lists and editions, as JSON.

A sub-application mounted at ``/api`` with its own OpenAPI document (``/api/openapi.json``)
and docs page (``/api/docs``), JSON errors and bearer-token authentication. It is thin: every
route calls the same domain functions as the CLI. An article pushed here goes through the JSON
importer's reading and sanitising (:func:`draft_from_object`), so it is stored exactly as an
imported one, and from there reaches the feeds and the next digest like any other.

No CSRF tokens: a browser never sends the bearer token by itself (it is not a cookie), so a
page on another site cannot make a request in the CMS's name.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, Security
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher.articles.formats.json_import import draft_from_object
from publisher.articles.models import Article, ArticleStatus
from publisher.articles.store import (
    ArticleNotFound,
    ArticleWriter,
    SaveOutcome,
    article_to_dict,
    get_article,
    list_articles,
    list_topics,
    save_topic,
    set_status,
)
from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.runner import Senders
from publisher.digests.editions import (
    EditionNotFound,
    editions_of,
    get_edition,
    report,
    resolve_period,
)
from publisher.digests.models import Edition
from publisher.digests.periods import BadPeriod, PeriodKind, period_containing
from publisher.digests.workflow import (
    AlreadyFinished,
    Approved,
    NoArticles,
    Resuming,
    send_or_resume,
)
from publisher.feeds.websub import notify_hub_of_changes
from publisher.links import archive_url, article_url
from publisher.staff.api_tokens import authenticate
from publisher.staff.models import ApiToken
from publisher.subscribers.models import MailingList
from publisher.subscribers.register import (
    ListNotFound,
    all_lists,
    get_list,
    list_topic_slugs,
    status_counts,
)

MAX_BODY_BYTES = 2 * 1024 * 1024
"""Largest request body accepted (413 beyond): a long article with tables fits many times."""
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI's files as the fastapi-offline package ships them: served by us, no CDN."""

DESCRIPTION = """\
The API the municipality's CMS pushes articles through, and reads topics, lists and digest
editions from.

**Authentication.** Every call needs `Authorization: Bearer TOKEN`, with a token made by
`publisher api-token create NAME` (shown once; `publisher api-token revoke NAME` ends it).
Without a valid token the answer is 401 with `WWW-Authenticate: Bearer`.

**Articles** are read and sanitised exactly as the JSON import reads them: scripts, event
handlers, styles and `javascript:` links are removed on the way in. A pushed article appears in
the feeds within a second and in the next digest of every list that carries its topics.
Posting again with the same `id` updates the article (its URL and feed id stay).
**DELETE withdraws**: the article leaves the site, the feeds and future digests, but the
record is kept (PUT with `"status": "published"` brings it back).

**Errors** are JSON: `{"detail": ...}`; a 422 lists each problem with its location
(`loc`, e.g. `["body", "title"]`) and message. Request bodies are limited to 2 MiB (413).
"""


# --- request and response shapes ----------------------------------------------------------


class TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(default="", max_length=80, examples=["promet"])
    name: str = Field(default="", max_length=200, examples=["Promet"])


class ArticleIn(BaseModel):
    """An article as the CMS sends it; unknown fields are an error (a typo never passes)."""

    model_config = ConfigDict(extra="forbid")

    id: str | int | None = Field(
        default=None,
        description="The CMS's own id: posting the same id again updates the article.",
        examples=["cms-4711"],
    )
    title: str = Field(min_length=1, max_length=500, examples=["Zapora Ljubljanske ceste"])
    published_at: datetime = Field(
        description="ISO 8601; without an offset it is local time (Europe/Ljubljana).",
        examples=["2025-03-07T09:00:00+01:00"],
    )
    updated_at: datetime | None = None
    body_html: str | None = Field(default=None, max_length=1_000_000)
    body_text: str | None = Field(default=None, max_length=1_000_000)
    summary: str = Field(default="", max_length=2000)
    image_caption: str = Field(default="", max_length=2000)
    image_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://\S+$",
        description="The article's page on the CMS's site, if any.",
    )
    topics: list[str | TopicIn] = Field(default_factory=list, max_length=50, examples=[["Promet"]])
    status: Literal["published", "withdrawn"] | None = Field(
        default=None, description="New articles are published; omit to keep the status."
    )

    @model_validator(mode="after")
    def _needs_a_body(self) -> ArticleIn:
        if not (self.body_html or "").strip() and not (self.body_text or "").strip():
            raise ValueError("give body_html or body_text")
        return self

    def as_import_item(self) -> dict[str, Any]:
        """The object the JSON importer reads, so both paths store the same thing."""
        return {
            "id": self.id,
            "title": self.title,
            "published_at": self.published_at.isoformat(),
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "body_html": self.body_html,
            "body_text": self.body_text,
            "summary": self.summary,
            "caption": self.image_caption,
            "image_url": self.image_url,
            "url": self.url,
            "topics": [
                topic if isinstance(topic, str) else topic.model_dump() for topic in self.topics
            ],
        }


class ArticleOut(BaseModel):
    id: int
    uid: str = Field(description="Permanent feed id (Atom id, RSS guid).")
    slug: str
    link: str = Field(description="The article's page on this site.")
    title: str
    published_at: datetime
    updated_at: datetime
    status: Literal["published", "withdrawn"]
    summary: str
    image_caption: str
    image_url: str | None
    url: str | None
    topics: list[str]
    source: str
    body_html: str
    body_text: str


class TopicOut(BaseModel):
    slug: str
    name: str
    articles: int = Field(description="Published articles filed under the topic.")


class TopicName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, examples=["Promet"])


class ListOut(BaseModel):
    slug: str
    name: str
    description: str
    language: str
    public: bool
    topics: list[str] = Field(description="Topics the list carries; empty: every topic.")
    subscribers: dict[str, int] = Field(description="Subscriptions by status.")


class EditionOut(BaseModel):
    id: int
    list: str
    period: str
    status: Literal["draft", "approved"]
    state: str = Field(description="draft, approved, sending, sent, paused, cancelled …")
    subject: str
    approved_at: datetime | None
    approved_by: str
    recipients: int
    counts: dict[str, int] = Field(description="Deliveries by status.")
    archive_url: str


class EditionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    list: str = Field(examples=["tedenske-novice"])
    period: str | None = Field(
        default=None,
        description="2025-W10, 2025-03 or 2025-03-07; default: this week.",
        examples=["2025-W10"],
    )
    send: bool = Field(
        default=True, description="Start sending at once (else a worker sends the queue)."
    )


# --- plumbing: body size, errors, authentication ------------------------------------------


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """413 for bodies over :data:`MAX_BODY_BYTES`, declared or streamed, before parsing."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"request body over {self.limit // (1024 * 1024)} MiB"}, status_code=413
        )
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _problem(loc: list[str | int], msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


def unprocessable(problems: list[dict[str, Any]]) -> JSONResponse:
    """422 in FastAPI's shape, plus a one-line ``message`` a person can read in a log."""
    summary = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in problems
    )
    return JSONResponse({"detail": problems, "message": summary}, status_code=422)


async def _validation_errors(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Without ``input`` and ``ctx``: a 2 MiB article is not echoed back, nor is anything
    # that cannot be JSON-encoded.
    problems = [_problem(list(error["loc"]), error["msg"], error["type"]) for error in exc.errors()]
    return unprocessable(problems)


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A token from `publisher api-token create NAME`.",
)


def _unauthorised(detail: str, error: str | None = None) -> HTTPException:
    challenge = 'Bearer realm="publisher"'
    if error:
        challenge += f', error="{error}"'
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": challenge})


def _session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> ApiToken:
    """The caller's token, or 401: missing, unknown or revoked are all refused alike."""
    if credentials is None:
        raise _unauthorised("send Authorization: Bearer TOKEN (publisher api-token create NAME)")
    with session_scope(request.app.state.engine) as session:
        token = authenticate(session, credentials.credentials)
    if token is None:
        raise _unauthorised("the token is unknown or revoked", "invalid_token")
    return token


Caller = Annotated[ApiToken, Depends(require_token)]
Db = Annotated[Session, Depends(_session)]

router = APIRouter(dependencies=[Depends(require_token)])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _article_out(article: Article, settings: Settings) -> ArticleOut:
    data = article_to_dict(article, settings.tz)
    data["link"] = article_url(settings, article.slug)
    return ArticleOut.model_validate(data)


def _find_article(session: Session, key: str) -> Article:
    try:
        return get_article(session, key)
    except ArticleNotFound:
        raise HTTPException(404, detail=f"no article with id or slug {key!r}") from None


def _save(
    request: Request, session: Session, body: ArticleIn, token: ApiToken, external_id: str | None
) -> tuple[SaveOutcome, Article] | JSONResponse:
    settings = _settings(request)
    try:
        draft = draft_from_object(body.as_import_item(), f"api:{token.name}", tz=settings.tz)
    except ValueError as exc:
        return unprocessable([_problem(["body"], problem) for problem in str(exc).split("; ")])
    if external_id is not None:
        draft.external_id = external_id
    outcome, article = ArticleWriter(session).save(draft)
    if body.status is not None:
        article, changed = set_status(session, article.id or 0, ArticleStatus(body.status))
        if changed and outcome is SaveOutcome.unchanged:
            outcome = SaveOutcome.updated
    return outcome, article


def _changed(request: Request, session: Session) -> None:
    """Commit, then tell the WebSub hub (if any) in the background, as the import does."""
    session.commit()
    notify_hub_of_changes(request.app.state.engine, _settings(request))


# --- articles -----------------------------------------------------------------------------


@router.get(
    "/articles", response_model=list[ArticleOut], tags=["articles"], summary="List articles"
)
def list_articles_route(
    request: Request,
    session: Db,
    topic: Annotated[str | None, Query(description="Only this topic (slug).")] = None,
    since: Annotated[date | None, Query(description="Published on or after this day.")] = None,
    include_withdrawn: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ArticleOut]:
    """Articles, newest first."""
    settings = _settings(request)
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
    responses={200: {"description": "An article with this id existed: updated (or unchanged)."}},
)
def create_article(
    request: Request, response: Response, session: Db, body: ArticleIn, token: Caller
) -> Any:
    """Push an article: created (201), or updated (200) when its `id` was pushed before."""
    saved = _save(request, session, body, token, None)
    if isinstance(saved, JSONResponse):
        return saved
    outcome, article = saved
    _changed(request, session)
    if outcome is not SaveOutcome.imported:
        response.status_code = 200
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/articles/{article.id}"
    return _article_out(article, _settings(request))


@router.get(
    "/articles/{key}", response_model=ArticleOut, tags=["articles"], summary="Read an article"
)
def read_article(request: Request, session: Db, key: str) -> ArticleOut:
    """One article by id or slug, withdrawn ones included."""
    return _article_out(_find_article(session, key), _settings(request))


@router.put(
    "/articles/{key}", response_model=ArticleOut, tags=["articles"], summary="Replace an article"
)
def replace_article(request: Request, session: Db, key: str, body: ArticleIn, token: Caller) -> Any:
    """Replace an article's content (the path names it; `id` in the body is not used)."""
    existing = _find_article(session, key)
    saved = _save(request, session, body, token, existing.external_id)
    if isinstance(saved, JSONResponse):
        return saved
    _changed(request, session)
    return _article_out(saved[1], _settings(request))


@router.delete(
    "/articles/{key}", response_model=ArticleOut, tags=["articles"], summary="Withdraw an article"
)
def withdraw_article(request: Request, session: Db, key: str) -> ArticleOut:
    """Withdraw: the article leaves the site, feeds and future digests; the record is kept."""
    article = _find_article(session, key)
    article, changed = set_status(session, article.id or 0, ArticleStatus.withdrawn)
    if changed:
        _changed(request, session)
    return _article_out(article, _settings(request))


# --- topics and lists ---------------------------------------------------------------------


@router.get("/topics", response_model=list[TopicOut], tags=["topics"], summary="List topics")
def topics(session: Db) -> list[TopicOut]:
    """Every topic with its count of published articles."""
    return [
        TopicOut(slug=topic.slug, name=topic.name, articles=count)
        for topic, count in list_topics(session)
    ]


@router.put(
    "/topics/{slug}", response_model=TopicOut, tags=["topics"], summary="Create or rename a topic"
)
def put_topic(
    request: Request,
    session: Db,
    slug: Annotated[str, PathParam(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)],
    body: TopicName,
) -> TopicOut:
    """Create a topic or rename it (the slug stays: it is in feed and page URLs)."""
    topic = save_topic(session, slug, body.name.strip())
    count = dict((t.slug, n) for t, n in list_topics(session)).get(slug, 0)
    _changed(request, session)
    return TopicOut(slug=topic.slug, name=topic.name, articles=count)


def _list_out(session: Session, mailing_list: MailingList, counts: dict[str, int]) -> ListOut:
    return ListOut(
        slug=mailing_list.slug,
        name=mailing_list.name,
        description=mailing_list.description,
        language=str(mailing_list.language),
        public=mailing_list.public,
        topics=list_topic_slugs(session, mailing_list.id or 0),
        subscribers=dict(counts),
    )


@router.get("/lists", response_model=list[ListOut], tags=["lists"], summary="List mailing lists")
def lists(session: Db) -> list[ListOut]:
    """Every mailing list with its topics and subscription counts."""
    counts = status_counts(session)
    return [
        _list_out(session, found, counts.get(found.id or 0, {})) for found in all_lists(session)
    ]


@router.get("/lists/{slug}", response_model=ListOut, tags=["lists"], summary="Read a mailing list")
def one_list(session: Db, slug: str) -> ListOut:
    try:
        found = get_list(session, slug)
    except ListNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return _list_out(session, found, status_counts(session, found.id).get(found.id or 0, {}))


# --- editions -----------------------------------------------------------------------------


def _edition_out(session: Session, settings: Settings, edition: Edition) -> EditionOut:
    mailing_list = session.get(MailingList, edition.list_id)
    assert mailing_list is not None
    result = report(session, edition)
    period = period_containing(edition.period_start, PeriodKind(edition.period_kind))
    return EditionOut(
        id=edition.id or 0,
        list=mailing_list.slug,
        period=edition.period_key,
        status=str(edition.status),  # type: ignore[arg-type]
        state=result.state,
        subject=edition.subject,
        approved_at=edition.approved_at,
        approved_by=edition.approved_by,
        recipients=result.total,
        counts=dict(result.counts),
        archive_url=archive_url(settings, mailing_list.slug, period.key),
    )


@router.get(
    "/editions", response_model=list[EditionOut], tags=["editions"], summary="List editions"
)
def editions(
    request: Request,
    session: Db,
    list_slug: Annotated[str | None, Query(alias="list", description="Only this list.")] = None,
) -> list[EditionOut]:
    """Editions, newest period first, with their sending state and counts."""
    mailing_list = None
    if list_slug is not None:
        try:
            mailing_list = get_list(session, list_slug)
        except ListNotFound as exc:
            raise HTTPException(404, detail=str(exc)) from None
    settings = _settings(request)
    return [_edition_out(session, settings, found) for found in editions_of(session, mailing_list)]


@router.get(
    "/editions/{key:path}", response_model=EditionOut, tags=["editions"], summary="Read an edition"
)
def edition(request: Request, session: Db, key: str) -> EditionOut:
    """One edition by id or by LIST/PERIOD (`tedenske-novice/2025-W10`)."""
    try:
        found = get_edition(session, key)
    except EditionNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return _edition_out(session, _settings(request), found)


@router.post(
    "/editions",
    response_model=EditionOut,
    status_code=202,
    summary="Approve and send an edition",
    tags=["editions"],
    responses={
        200: {"description": "Already approved: nothing new was done."},
        409: {"description": "No articles in the period: no edition, nothing sent."},
    },
)
def approve_edition(
    request: Request, response: Response, session: Db, body: EditionRequest, token: Caller
) -> Any:
    """Approve the edition of (list, period) and queue it: each subscriber gets it once.

    Calling again (or together with the admin or the schedule) is harmless: there is one
    edition per list and period, approved once.
    """
    settings = _settings(request)
    try:
        mailing_list = get_list(session, body.list)
    except ListNotFound as exc:
        return unprocessable([_problem(["body", "list"], str(exc))])
    try:
        period = resolve_period(body.period, settings)
    except BadPeriod as exc:
        return unprocessable([_problem(["body", "period"], str(exc))])
    found = None
    for event in send_or_resume(
        request.app.state.engine,
        settings,
        request.app.state.senders,
        mailing_list,
        period,
        by=f"API token {token.name}",
        start=body.send,
    ):
        if isinstance(event, NoArticles):
            raise HTTPException(409, detail=event.message)
        if isinstance(event, AlreadyFinished | Resuming):
            response.status_code = 200
        if isinstance(event, AlreadyFinished | Resuming | Approved):
            found = event.report.edition
    assert found is not None
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/editions/{found.id}"
    return _edition_out(session, settings, found)


# --- the sub-application ------------------------------------------------------------------

DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
</head>
<body>
<noscript><p>The interactive page needs JavaScript; the API is described in
<a href="{root}/openapi.json">openapi.json</a>.</p></noscript>
<div id="swagger-ui"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/init.js"></script>
</body>
</html>
"""

DOCS_INIT = """\
window.ui = SwaggerUIBundle({
  url: document.querySelector('link[rel=stylesheet]').href.replace(
    /\\/docs\\/assets\\/swagger-ui\\.css$/, '/openapi.json'),
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: false,
});
"""

DOCS_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",  # our own copies of Swagger UI and its start-up file; no inline
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",  # fetching openapi.json and "Try it out" calls
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


def create_api(settings: Settings, engine: Engine, senders: Senders) -> FastAPI:
    """The ``/api`` sub-application (mount it at ``/api``); it sends with the app's senders."""
    api = FastAPI(
        title=f"{settings.site_name}: API",
        description=DESCRIPTION,
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.state.settings = settings
    api.state.engine = engine
    api.state.senders = senders
    api.include_router(router)
    api.add_exception_handler(RequestValidationError, _validation_errors)
    api.mount("/docs/assets", StaticFiles(directory=DOCS_ASSETS), name="api-docs-assets")

    @api.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = DOCS_PAGE.format(title=html.escape(api.title), root=html.escape(root))
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    @api.get("/docs/init.js", include_in_schema=False)
    def docs_init() -> PlainTextResponse:
        return PlainTextResponse(
            DOCS_INIT,
            media_type="text/javascript",
            headers={"Content-Security-Policy": DOCS_CSP},
        )

    api.add_middleware(BodySizeLimit)
    return api
