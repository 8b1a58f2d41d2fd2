"""Writing and correcting articles: the editor's form, its live preview, revisions, and
taking an import's held version. Thin: :mod:`publisher.articles.editing` decides.

The editor pages run one small script of our own (``/static/editor.js``: the live preview),
so their policy allows scripts and requests from this site; every other page allows none.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select
from starlette.exceptions import HTTPException

from publisher.articles.editing import (
    ArticleInput,
    ArticleInvalid,
    EditStatus,
    NothingWaiting,
    PhotoUpload,
    StaleEdit,
    create_article,
    edit_article,
    input_from_article,
    new_input,
    take_imported,
)
from publisher.articles.markdown import render_markdown
from publisher.articles.models import Article, ArticleStatus
from publisher.articles.revisions import differences, revisions_of
from publisher.articles.sanitize import make_summary
from publisher.articles.store import ArticleNotFound, get_article, is_public, list_topics
from publisher.clock import utcnow
from publisher.db import session_scope
from publisher.feeds.entries import entry_from_article
from publisher.feeds.websub import notify_hub_of_changes
from publisher.media.models import Photo
from publisher.staff.models import StaffAccount
from publisher.topics import Topic
from publisher.web.admin.auth import Staff
from publisher.web.admin.render import PRIVATE_HEADERS, engine_of, render, settings_of
from publisher.web.body import BodyRule
from publisher.web.clients import client_address
from publisher.web.csrf import attach_csrf_cookie, require_csrf
from publisher.web.public import _render as render_page
from publisher.web.security import CONTENT_SECURITY_POLICY

router = APIRouter()

CSP_EDITOR = CONTENT_SECURITY_POLICY + "; script-src 'self'; connect-src 'self'; frame-src 'self'"
"""The editor pages' policy: the site's, plus our own script, its preview requests and the
preview frame."""

EDITOR_PATHS = r"/admin/articles/(new|preview|\d+/edit)"


def editor_body_rule(photo_max_bytes: int) -> BodyRule:
    """The editor's forms carry a photo: a body up to the photo limit plus the texts."""
    return BodyRule(EDITOR_PATHS, photo_max_bytes + 1024 * 1024)


Text = Annotated[str, Form()]


def _form(
    title: Text = "",
    day: Text = "",
    time: Text = "",
    summary: Text = "",
    body: Text = "",
    status: Text = EditStatus.draft.value,
    image_caption: Text = "",
    image_alt: Text = "",
    image_credit: Text = "",
    photo_id: Text = "",
    remove_photo: Text = "",
    version: Text = "",
    topics: Annotated[list[str] | None, Form()] = None,
) -> ArticleInput:
    """What the editor's form posted, as the domain's input (text kept exactly as typed)."""
    return ArticleInput(
        title=title,
        day=day,
        time=time,
        summary=summary,
        body=body,
        topics=topics or [],
        status=status,
        image_caption=image_caption,
        image_alt=image_alt,
        image_credit=image_credit,
        photo_id=int(photo_id) if photo_id.isdigit() and len(photo_id) < 10 else None,
        remove_photo=bool(remove_photo),
        version=int(version) if version.isdigit() and len(version) < 10 else None,
    )


Typed = Annotated[ArticleInput, Depends(_form)]
PhotoFile = Annotated[UploadFile | None, File()]


def _upload(photo: UploadFile | None) -> PhotoUpload | None:
    if photo is None or not photo.filename:
        return None
    data = photo.file.read()
    return PhotoUpload(data=data, name=photo.filename) if data else None


def _editor(
    request: Request,
    staff: StaffAccount,
    session: Session,
    form: ArticleInput,
    *,
    article: Article | None,
    problems: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
    current_url: str | None = None,
) -> Response:
    photo = session.get(Photo, form.photo_id) if form.photo_id is not None else None
    response = render(
        request,
        "admin/article_form.html",
        staff=staff,
        active="articles",
        status_code=status_code,
        form=form,
        article=article,
        problems=problems or {},
        error=error,
        current_url=current_url,
        photo=photo,
        statuses=list(EditStatus),
        all_topics=[topic for topic, _ in list_topics(session)],
        action="/admin/articles/new" if article is None else f"/admin/articles/{article.id}/edit",
    )
    response.headers["Content-Security-Policy"] = CSP_EDITOR
    return response


def _refused() -> str:
    return "Članek ni shranjen: popravite označena polja (vse, kar ste vpisali, je ohranjeno)."


@router.get("/admin/articles/new")
def new_article_form(request: Request, staff: Staff) -> Response:
    with Session(engine_of(request)) as session:
        return _editor(request, staff, session, new_input(settings_of(request).tz), article=None)


@router.post("/admin/articles/new", dependencies=[Depends(require_csrf)])
def create_article_form(
    request: Request, staff: Staff, form: Typed, photo: PhotoFile = None
) -> Response:
    settings = settings_of(request)
    engine = engine_of(request)
    with Session(engine, expire_on_commit=False) as session:
        try:
            article = create_article(
                session,
                settings,
                form,
                _upload(photo),
                actor=staff.email,
                client=client_address(request),
            )
        except ArticleInvalid as exc:
            session.commit()  # a photo that was accepted is kept for the next try
            return _editor(
                request,
                staff,
                session,
                exc.form,
                article=None,
                problems=exc.problems,
                error=_refused(),
                status_code=400,
            )
        public = is_public(article)
        topics = [topic.slug for topic in article.topics]
        session.commit()
        key = article.id
    if public:
        notify_hub_of_changes(engine, settings, topics)
    return RedirectResponse(f"/admin/articles/{key}?notice=created", status_code=303)


@router.get("/admin/articles/{key}/edit")
def edit_article_form(request: Request, staff: Staff, key: int) -> Response:
    with Session(engine_of(request)) as session:
        article = _find(session, key)
        form = input_from_article(article, settings_of(request).tz)
        return _editor(request, staff, session, form, article=article)


@router.post("/admin/articles/{key}/edit", dependencies=[Depends(require_csrf)])
def save_article_form(
    request: Request, staff: Staff, key: int, form: Typed, photo: PhotoFile = None
) -> Response:
    settings = settings_of(request)
    engine = engine_of(request)
    with Session(engine, expire_on_commit=False) as session:
        before = _find(session, key)
        touched = {topic.slug for topic in before.topics}
        was_public = is_public(before)
        try:
            article, changed = edit_article(
                session,
                settings,
                key,
                form,
                _upload(photo),
                actor=staff.email,
                client=client_address(request),
            )
        except ArticleInvalid as exc:
            session.commit()
            return _editor(
                request,
                staff,
                session,
                exc.form,
                article=before,
                problems=exc.problems,
                error=_refused(),
                status_code=400,
            )
        except StaleEdit as exc:
            session.rollback()
            return _editor(
                request,
                staff,
                session,
                form,
                article=_find(session, key),
                error=exc.message_sl(settings.tz),
                status_code=409,
                current_url=f"/admin/articles/{key}/edit",
            )
        touched |= {topic.slug for topic in article.topics}
        public = was_public or is_public(article)
        session.commit()
    if changed and public:
        notify_hub_of_changes(engine, settings, sorted(touched))
    notice = "edited" if changed else "unchanged"
    return RedirectResponse(f"/admin/articles/{key}?notice={notice}", status_code=303)


@router.post("/admin/articles/preview", dependencies=[Depends(require_csrf)])
def preview(request: Request, staff: Staff, form: Typed) -> Response:
    """The public article page for what the form holds now, saved or not."""
    settings = settings_of(request)
    with Session(engine_of(request)) as session:
        body_html, body_text = render_markdown(form.body)
        topics = list(
            session.exec(select(Topic).where(Topic.slug.in_(form.topics)))  # type: ignore[attr-defined]
        )
        article = Article(
            uid="urn:uuid:preview",
            external_id="preview",
            slug="predogled",
            title=" ".join(form.title.split()) or "(brez naslova)",
            published_at=utcnow(),
            body_html=body_html,
            body_text=body_text,
            summary=form.summary.strip() or make_summary(body_text),
            image_caption=form.image_caption.strip(),
            image_alt=form.image_alt.strip(),
            image_credit=form.image_credit.strip(),
            photo_id=form.photo_id,
            content_hash="",
            status=ArticleStatus.published,
        )
        article.topics = topics
        entry = entry_from_article(article, settings)
        response = render_page(request, "article.html", entry=entry, preview=True)
        session.expunge_all()
    response.headers.update(PRIVATE_HEADERS)
    attach_csrf_cookie(request, response)
    return response


@router.get("/admin/articles/{key}/revisions")
def revisions_page(request: Request, staff: Staff, key: int) -> Response:
    tz = settings_of(request).tz
    with Session(engine_of(request)) as session:
        article = _find(session, key)
        revisions = list(revisions_of(session, key))
        history = []
        previous = None
        for revision in revisions:
            history.append((revision, differences(previous, revision, tz)))
            if revision.kind != "held":  # a held version was not applied: not what readers saw
                previous = revision
        return render(
            request,
            "admin/article_revisions.html",
            staff=staff,
            active="articles",
            article=article,
            history=list(reversed(history)),
        )


@router.post("/admin/articles/{key}/take-import", dependencies=[Depends(require_csrf)])
def take_import(request: Request, staff: Staff, key: int) -> Response:
    settings = settings_of(request)
    engine = engine_of(request)
    with session_scope(engine) as session:
        try:
            article = take_imported(session, key, actor=staff.email, client=client_address(request))
        except ArticleNotFound:
            raise HTTPException(status_code=404) from None
        except NothingWaiting:
            return RedirectResponse(f"/admin/articles/{key}", status_code=303)
        topics = [topic.slug for topic in article.topics]
        public = is_public(article)
    if public:
        notify_hub_of_changes(engine, settings, topics)
    return RedirectResponse(f"/admin/articles/{key}?notice=taken", status_code=303)


def _find(session: Session, key: int) -> Article:
    try:
        return get_article(session, key)
    except ArticleNotFound:
        raise HTTPException(status_code=404) from None
