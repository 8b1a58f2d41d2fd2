"""Staff write and correct articles: one validation, one save, for the admin (and any shell).

What a form typed becomes an :class:`ArticleInput`; :func:`check` is the one validation at
this boundary (title required and bounded, texts bounded, the date a real article's, control
characters removed as :class:`~publisher.articles.drafts.ArticleDraft` does, topics that
exist, a photo that :func:`publisher.media.photos.store_photo` accepts and its alt text).
:func:`create_article` and :func:`edit_article` save; an edit carries the
:attr:`~publisher.articles.models.Article.version` its form was made from and is refused
(:class:`StaleEdit`) when someone saved in between. Every save is a revision and an audit entry.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from publisher import audit
from publisher.articles.drafts import TopicRef, moment_problem
from publisher.articles.markdown import html_to_markdown, render_markdown
from publisher.articles.models import (
    Article,
    ArticleRevision,
    ArticleStatus,
    RevisionKind,
)
from publisher.articles.revisions import (
    latest_revision,
    record_change,
    revision_of,
    waiting_import,
)
from publisher.articles.sanitize import make_summary, without_controls
from publisher.articles.store import (
    ArticleWriter,
    content_hash,
    get_article,
    is_public,
)
from publisher.audit import AuditAction, record
from publisher.clock import utcnow
from publisher.config import Settings
from publisher.i18n import format_moment
from publisher.topics import Topic

TITLE_MAX = 300
SUMMARY_MAX = 2000
BODY_MAX = 200_000
CAPTION_MAX = 500
CREDIT_MAX = 300


class EditStatus(enum.StrEnum):
    """The four states staff choose from; ``scheduled`` is stored as ``published`` with a
    ``published_at`` still ahead (the shared schema), so it is public nowhere until then."""

    draft = "draft"
    scheduled = "scheduled"
    published = "published"
    withdrawn = "withdrawn"

    @property
    def label(self) -> str:
        return {
            "draft": "osnutek",
            "scheduled": "načrtovan",
            "published": "objavljen",
            "withdrawn": "umaknjen",
        }[self.value]

    @property
    def stored(self) -> ArticleStatus:
        if self in (EditStatus.scheduled, EditStatus.published):
            return ArticleStatus.published
        return ArticleStatus(self.value)


def edit_status(article: Article, now: datetime | None = None) -> EditStatus:
    """What staff call the article's state now."""
    if article.status == ArticleStatus.published and not is_public(article, now):
        return EditStatus.scheduled
    return EditStatus(str(article.status))


@dataclass(frozen=True)
class PhotoUpload:
    """A photo file a form sent: its bytes and the name it had on the staff's computer."""

    data: bytes
    name: str


@dataclass
class ArticleInput:
    """What staff typed, as text, exactly (a refused form shows it all again)."""

    title: str = ""
    day: str = ""
    """``YYYY-MM-DD`` on the municipality's calendar; empty: today."""
    time: str = ""
    """``HH:MM`` on the municipality's wall clock; empty: now (or midnight of another day)."""
    summary: str = ""
    body: str = ""
    """Markdown."""
    topics: list[str] = field(default_factory=list)
    status: str = EditStatus.draft.value
    image_caption: str = ""
    image_alt: str = ""
    image_credit: str = ""
    photo_id: int | None = None
    """The stored photo the article shows (kept across a refused form)."""
    remove_photo: bool = False
    version: int | None = None
    """The article's version the form was made from (edits only)."""

    def __post_init__(self) -> None:
        self.clean()

    def clean(self) -> None:
        """Drop control characters (as :class:`ArticleDraft` does) and Windows line ends."""
        for one in fields(self):
            value = getattr(self, one.name)
            if isinstance(value, str):
                setattr(self, one.name, without_controls(value).replace("\r\n", "\n"))
        self.topics = [without_controls(slug) for slug in self.topics]


def input_from_article(article: Article, tz: ZoneInfo) -> ArticleInput:
    """The form for editing ``article``; an imported article's HTML becomes Markdown."""
    local = article.published_at.astimezone(tz)
    body = article.body_markdown
    if body is None:
        body = html_to_markdown(article.body_html)
    return ArticleInput(
        title=article.title,
        day=local.date().isoformat(),
        time=local.strftime("%H:%M"),
        summary=article.summary,
        body=body,
        topics=sorted(topic.slug for topic in article.topics),
        status=edit_status(article).value,
        image_caption=article.image_caption,
        image_alt=article.image_alt,
        image_credit=article.image_credit,
        photo_id=article.photo_id,
        version=article.version,
    )


def new_input(tz: ZoneInfo) -> ArticleInput:
    """The form for a new article: now, as a draft."""
    now = utcnow().astimezone(tz)
    return ArticleInput(day=now.date().isoformat(), time=now.strftime("%H:%M"))


class ArticleInvalid(ValueError):
    """The form cannot be saved: ``problems`` maps each field to what is wrong, in Slovenian.
    ``form`` is what was typed (with a photo that was stored meanwhile, so it is not lost)."""

    def __init__(self, problems: dict[str, str], form: ArticleInput) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in problems.items()))
        self.problems = problems
        self.form = form


class StaleEdit(Exception):
    """Someone saved the article after this form was opened; saving it would undo their change."""

    def __init__(self, article: Article, who: str, when: datetime) -> None:
        super().__init__(f"article {article.id} was saved by {who} at {when.isoformat()}")
        self.article_id = article.id
        self.who = who
        self.when = when

    def message_sl(self, tz: ZoneInfo) -> str:
        by = f" — {self.who}" if self.who else ""  # no "shranil(a)": the passive fits anyone
        return (
            f"Članek je bil medtem shranjen ({format_moment(self.when, 'sl', tz)}{by}). "
            "Vaše besedilo ni shranjeno, je pa spodaj: "
            "odprite trenutno različico, prenesite vanjo svoje popravke in shranite."
        )


@dataclass
class Checked:
    """A form that passed :func:`check`: everything the article will hold."""

    title: str
    published_at: datetime
    status: EditStatus
    summary: str
    body_markdown: str
    body_html: str
    body_text: str
    topics: list[Topic]
    photo_id: int | None
    image_caption: str
    image_alt: str
    image_credit: str


def _moment(form: ArticleInput, tz: ZoneInfo, now: datetime) -> datetime | str:
    local_now = now.astimezone(tz)
    try:
        day = date.fromisoformat(form.day.strip()) if form.day.strip() else local_now.date()
    except ValueError:
        return "Datum ni veljaven: vpišite ga kot 2025-04-03 (leto-mesec-dan)."
    text = form.time.strip()
    try:
        if text:
            hours, _, minutes = text.partition(":")
            clock = time(int(hours), int(minutes or 0))
        elif day == local_now.date():
            clock = local_now.time().replace(second=0, microsecond=0)
        else:
            clock = time(0, 0)
    except ValueError:
        return "Ura ni veljavna: vpišite jo kot 14:20."
    try:
        moment = datetime.combine(day, clock, tzinfo=tz)
    except (OverflowError, ValueError):
        return "Datum ni veljaven."
    if moment_problem(moment) is not None:
        return "Datum mora biti med letoma 1900 in 2199."
    return moment


def check(
    session: Session,
    settings: Settings,
    form: ArticleInput,
    photo: PhotoUpload | None = None,
    *,
    now: datetime | None = None,
) -> Checked:
    """The one validation of what staff typed; raises :class:`ArticleInvalid` with every
    problem at once. A photo that is accepted is stored (and put in ``form.photo_id``) even
    when another field is wrong, so that the staff member does not have to choose it again."""
    now = now or utcnow()
    form.clean()
    problems: dict[str, str] = {}
    title = " ".join(form.title.split())
    if not title:
        problems["title"] = "Vpišite naslov."
    elif len(title) > TITLE_MAX:
        problems["title"] = f"Naslov je predolg (največ {TITLE_MAX} znakov)."
    summary = form.summary.strip()
    if len(summary) > SUMMARY_MAX:
        problems["summary"] = f"Povzetek je predolg (največ {SUMMARY_MAX} znakov)."
    body = form.body.strip()
    body_html = body_text = ""
    if len(body) > BODY_MAX:
        problems["body"] = f"Besedilo je predolgo (največ {BODY_MAX} znakov)."
    else:
        body_html, body_text = render_markdown(body)
        if not body_text:
            problems["body"] = "Vpišite besedilo članka."
    try:
        status = EditStatus(form.status)
    except ValueError:
        problems["status"] = "Izberite stanje: osnutek, načrtovan, objavljen ali umaknjen."
        status = EditStatus.draft
    moment = _moment(form, settings.tz, now)
    if isinstance(moment, str):
        problems["day"] = moment
        moment = now
    elif status is EditStatus.scheduled and moment <= now:
        problems["day"] = (
            "Načrtovan članek potrebuje čas objave v prihodnosti "
            f"(zdaj je {format_moment(now, 'sl', settings.tz)}); "
            "za takojšnjo objavo izberite »objavljen«."
        )
    elif status is EditStatus.published and moment > now:
        problems["day"] = (
            "Čas objave je še pred nami: izberite »načrtovan«, da se članek objavi sam ob tem "
            "času, ali vpišite sedanji čas."
        )
    wanted = sorted(set(form.topics))
    topics = list(session.exec(select(Topic).where(col(Topic.slug).in_(wanted)))) if wanted else []
    unknown = set(wanted) - {topic.slug for topic in topics}
    if unknown:
        problems["topics"] = f"Teme {', '.join(sorted(unknown))} ni več; izberite med obstoječimi."
    for name, text, limit in (
        ("image_caption", form.image_caption, CAPTION_MAX),
        ("image_alt", form.image_alt, CAPTION_MAX),
        ("image_credit", form.image_credit, CREDIT_MAX),
    ):
        if len(text.strip()) > limit:
            problems[name] = f"Besedilo je predolgo (največ {limit} znakov)."
    if form.remove_photo:
        form.photo_id = None
    if photo is not None and photo.data:
        from publisher.media.photos import PhotoRefused, store_photo

        try:
            stored = store_photo(session, settings, photo.data, photo.name)
        except PhotoRefused as exc:
            problems["photo"] = exc.reason_sl
        else:
            form.photo_id = stored.id
            form.remove_photo = False
    caption = form.image_caption.strip()
    alt = form.image_alt.strip() or caption
    if form.photo_id is not None and not alt and "photo" not in problems:
        problems["image_alt"] = (
            "Opišite fotografijo za bralce, ki je ne vidijo (ali vpišite podnapis)."
        )
    if problems:
        raise ArticleInvalid(problems, form)
    return Checked(
        title=title,
        published_at=moment,
        status=status,
        summary=summary or make_summary(body_text),
        body_markdown=body,
        body_html=body_html,
        body_text=body_text,
        topics=sorted(topics, key=lambda topic: topic.slug),
        photo_id=form.photo_id,
        image_caption=caption,
        image_alt=alt if form.photo_id is not None else form.image_alt.strip(),
        image_credit=form.image_credit.strip(),
    )


def _apply(article: Article, checked: Checked) -> None:
    article.title = checked.title
    article.published_at = checked.published_at
    article.status = checked.status.stored
    article.summary = checked.summary
    article.body_markdown = checked.body_markdown
    article.body_html = checked.body_html
    article.body_text = checked.body_text
    article.topics = checked.topics
    article.photo_id = checked.photo_id
    article.image_caption = checked.image_caption
    article.image_alt = checked.image_alt
    article.image_credit = checked.image_credit
    article.content_hash = content_hash(article)


def create_article(
    session: Session,
    settings: Settings,
    form: ArticleInput,
    photo: PhotoUpload | None = None,
    *,
    actor: str,
    client: str | None = None,
) -> Article:
    """A new article written by ``actor``: key ``admin:<uuid>``, a slug as imports get one."""
    checked = check(session, settings, form, photo)
    article = Article(
        external_id=f"admin:{uuid.uuid4()}",
        slug=ArticleWriter(session).allocate_slugs([checked.title])[0],
        title=checked.title,
        published_at=checked.published_at,
        body_html=checked.body_html,
        body_text=checked.body_text,
        content_hash="",
        source="admin",
    )
    _apply(article, checked)
    session.add(article)
    session.flush()
    record_change(session, article, None, RevisionKind.edited, actor)
    record(
        session,
        AuditAction.article_created,
        actor=actor,
        client=client,
        subject=article.external_id,
        detail=audit.detail_line(
            audit.ARTICLE_WRITTEN, slug=article.slug, status=edit_status(article).value
        ),
    )
    return article


FIELD_LABELS = {
    "title": "naslov",
    "published_at": "datum",
    "status": "stanje",
    "summary": "povzetek",
    "body_html": "besedilo",
    "topics": "teme",
    "photo_id": "fotografija",
    "image_caption": "podnapis",
    "image_alt": "opis fotografije",
    "image_credit": "avtor fotografije",
}


def _changed_fields(before: ArticleRevision, after: ArticleRevision) -> list[str]:
    return [name for name in FIELD_LABELS if getattr(before, name) != getattr(after, name)]


def _differs(article: Article, checked: Checked) -> bool:
    """Whether saving ``checked`` would change anything staff can see or have written."""
    now = (
        article.title,
        article.published_at,
        edit_status(article),
        article.summary,
        article.body_markdown,
        sorted(topic.slug for topic in article.topics),
        article.photo_id,
        article.image_caption,
        article.image_alt,
        article.image_credit,
    )
    then = (
        checked.title,
        checked.published_at,
        checked.status,
        checked.summary,
        checked.body_markdown,
        [topic.slug for topic in checked.topics],
        checked.photo_id,
        checked.image_caption,
        checked.image_alt,
        checked.image_credit,
    )
    return now != then


def _claim_version(session: Session, article: Article, version: int | None) -> None:
    """Raise the stored version from the form's, atomically; :class:`StaleEdit` if it moved."""
    claimed = session.execute(
        update(Article)
        .where(col(Article.id) == article.id, col(Article.version) == (version or 0))
        .values(version=(version or 0) + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(article)
        kinds = [RevisionKind.edited, RevisionKind.imported]
        last = latest_revision(session, article.id or 0, kinds)
        who = last.actor if last is not None else article.edited_by
        when = last.created_at if last is not None else article.updated_at
        raise StaleEdit(article, who, when)
    article.version = (version or 0) + 1


def edit_article(
    session: Session,
    settings: Settings,
    key: int | str,
    form: ArticleInput,
    photo: PhotoUpload | None = None,
    *,
    actor: str,
    client: str | None = None,
) -> tuple[Article, bool]:
    """Save staff's correction; returns the article and whether anything changed.

    Id, uid and slug stay (feeds know the article by them); ``updated_at`` moves so feed
    readers refresh it; an article that was already public gets ``edited_at``/``edited_by``
    (the page's "Popravljeno"). Raises :class:`ArticleInvalid`, :class:`StaleEdit`, or
    :class:`~publisher.articles.store.ArticleNotFound`."""
    article = get_article(session, key)
    checked = check(session, settings, form, photo)
    if checked.published_at == article.published_at.replace(second=0, microsecond=0):
        checked.published_at = article.published_at  # the form shows minutes: same moment
    was_public = is_public(article)
    kind = RevisionKind.imported if article.body_markdown is None else RevisionKind.edited
    before = revision_of(article, kind, article.edited_by or article.source, article.updated_at)
    _claim_version(session, article, form.version)
    if not _differs(article, checked):
        return article, False
    _apply(article, checked)
    now = utcnow()
    article.updated_at = now
    if was_public:
        article.edited_at = now
        article.edited_by = actor[:320]
    session.add(article)
    session.flush()
    after = record_change(session, article, before, RevisionKind.edited, actor)
    record(
        session,
        AuditAction.article_edited,
        actor=actor,
        client=client,
        subject=article.external_id,
        detail=", ".join(FIELD_LABELS[name] for name in _changed_fields(before, after)),
    )
    return article, True


class NothingWaiting(LookupError):
    """The article has no imported version waiting to be taken."""


def take_imported(
    session: Session, key: int | str, *, actor: str, client: str | None = None
) -> Article:
    """Replace staff's edit with the import's held version (the admin's "Prevzemi uvoženo
    različico"); recorded as an ``imported`` revision by ``actor`` and audited."""
    import json

    article = get_article(session, key)
    held = waiting_import(session, article.id or 0)
    if held is None:
        raise NothingWaiting(f"article {article.id} has no imported version waiting")
    was_public = is_public(article)
    before = revision_of(article, RevisionKind.edited, article.edited_by, article.updated_at)
    slugs = json.loads(held.topics)
    article.topics = ArticleWriter(session).topics_for([TopicRef(s, s) for s in slugs])
    article.title = held.title
    article.published_at = held.published_at
    article.summary = held.summary
    article.body_html = held.body_html
    article.body_text = held.body_text
    article.body_markdown = None
    article.image_caption = held.image_caption
    article.image_url = held.image_url
    article.url = held.url
    article.content_hash = held.content_hash
    article.version += 1
    now = utcnow()
    article.updated_at = now
    if was_public:
        article.edited_at = now
        article.edited_by = actor[:320]
    session.add(article)
    session.flush()
    record_change(session, article, before, RevisionKind.imported, actor)
    record(
        session,
        AuditAction.article_import_taken,
        actor=actor,
        client=client,
        subject=article.external_id,
        detail=audit.detail_line(audit.REVISION_TAKEN, revision=held.id),
    )
    return article
