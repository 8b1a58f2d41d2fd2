"""The API's request and response shapes: what the CMS sends and what it reads back.

Their names and fields are the API's contract: they appear as schemas in ``/api/openapi.json``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from publisher.articles.drafts import (
    EARLIEST,
    ID_MAX_LENGTH,
    IMAGE_ALT_MAX_LENGTH,
    IMAGE_CREDIT_MAX_LENGTH,
    LATEST,
    URL_MAX_LENGTH,
    moment_problem,
)
from publisher.slugs import SLUG_MAX_LENGTH, SLUG_PATTERN, slug_problem

MAX_OFFSET = 1_000_000
"""Largest ``offset`` for paging: far past any archive, far below what a database overflows at."""


def within_range(moment: datetime) -> datetime:
    """A moment an article may carry (:func:`publisher.articles.drafts.moment_problem`, the
    rule every import shares), else a 422 naming the range."""
    problem = moment_problem(moment)
    if problem is not None:
        raise ValueError(problem)
    return moment


def day_within_range(day: date) -> date:
    """A day between :data:`EARLIEST` and :data:`LATEST`, as for moments."""
    if not EARLIEST.year <= day.year < LATEST.year:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return day


def _no_nul(value: Any) -> Any:
    """No NUL in any text: PostgreSQL cannot store one, and no real text has one."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain a NUL character")
    return value


def _topic_name(name: str) -> str:
    _no_nul(name)
    if not any(character.isalnum() for character in name):
        raise ValueError("a topic name needs a letter or a digit")
    return name


Moment = Annotated[datetime, AfterValidator(within_range)]
Day = Annotated[date, AfterValidator(day_within_range)]
TopicNameText = Annotated[str, Field(max_length=200), AfterValidator(_topic_name)]


class RequestBody(BaseModel):
    """What every request body shares: unknown fields are an error, NUL is refused anywhere."""

    model_config = ConfigDict(extra="forbid")

    _text_has_no_nul = field_validator("*")(_no_nul)


class TopicIn(RequestBody):
    slug: str = Field(
        default="",
        max_length=SLUG_MAX_LENGTH,
        # Checked by the one rule (publisher.slugs) below, and shown in the document as such.
        json_schema_extra={"pattern": rf"^$|{SLUG_PATTERN}"},
        examples=["promet"],
        description="Lowercase letters, digits and single hyphens; omit to make it from the name.",
    )
    name: str = Field(default="", max_length=200, examples=["Promet"])

    @field_validator("slug")
    @classmethod
    def _check_slug(cls, value: str) -> str:
        problem = slug_problem(value) if value else None
        if problem is not None:
            raise ValueError(problem)
        return value


class ArticleIn(RequestBody):
    """An article as the CMS sends it; unknown fields are an error (a typo never passes)."""

    id: Annotated[str, Field(max_length=ID_MAX_LENGTH)] | int | None = Field(
        default=None,
        description="The CMS's own id: posting the same id again updates the article.",
        examples=["cms-4711"],
    )
    title: str = Field(min_length=1, max_length=500, examples=["Zapora Ljubljanske ceste"])
    published_at: Moment = Field(
        description="ISO 8601; without an offset it is local time (Europe/Ljubljana). "
        "Years 1900 to 2199.",
        examples=["2025-03-07T09:00:00+01:00"],
    )
    updated_at: Moment | None = None
    body_html: str | None = Field(default=None, max_length=1_000_000)
    body_text: str | None = Field(default=None, max_length=1_000_000)
    summary: str = Field(default="", max_length=2000)
    image_caption: str = Field(default="", max_length=2000)
    image_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://\S+$",
        description="A photo to fetch once and store (JPEG, PNG, WebP or HEIC); one that "
        "cannot be fetched or is refused leaves the article without a photo and is named "
        "in `warnings`.",
    )
    image_alt: str = Field(
        default="",
        max_length=IMAGE_ALT_MAX_LENGTH,
        description="The photo's text for readers who cannot see it; empty: the caption.",
    )
    image_credit: str = Field(default="", max_length=IMAGE_CREDIT_MAX_LENGTH)
    url: str | None = Field(
        default=None,
        max_length=URL_MAX_LENGTH,
        pattern=r"^https?://\S+$",
        description="The article's page on the CMS's site, if any (at most 480 characters).",
    )
    topics: list[TopicNameText | TopicIn] = Field(
        default_factory=list, max_length=50, examples=[["Promet"]]
    )
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
            "image_alt": self.image_alt,
            "image_credit": self.image_credit,
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
    status: Literal["draft", "published", "withdrawn"]
    summary: str
    image_caption: str
    image_url: str | None
    image_alt: str
    image_credit: str
    photo: str | None = Field(
        default=None, description="The stored photo's address on this site (its largest size)."
    )
    url: str | None
    topics: list[str]
    source: str
    body_html: str
    body_text: str
    outcome: Literal["imported", "updated", "unchanged", "kept_edit"] | None = Field(
        default=None,
        description="What a push did; `kept_edit`: staff had edited the article, so this "
        "version is kept aside for them to take in the admin, and the article is unchanged.",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What was saved with a loss, e.g. an `image_url` that could not be "
        "fetched or is not a photo we take (the article is saved without it).",
    )


class TopicOut(BaseModel):
    slug: str
    name: str
    name_en: str | None = Field(description="English name; null: English readers see `name`.")
    articles: int = Field(description="Published articles filed under the topic.")


class TopicName(RequestBody):
    name: str = Field(min_length=1, max_length=200, examples=["Promet"])
    name_en: str | None = Field(
        default=None,
        max_length=200,
        examples=["Traffic"],
        description='English name; left out: unchanged; "": none (English shows `name`).',
    )


class ListOut(BaseModel):
    slug: str
    name: str
    name_en: str | None = Field(description="English name; null: English readers see `name`.")
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
    finished: bool = Field(
        description="Nothing is left to send, ever: sent, cancelled, or without recipients "
        "(such an edition can no longer be paused, resumed or cancelled)."
    )
    subject: str
    approved_at: datetime | None
    approved_by: str
    recipients: int
    counts: dict[str, int] = Field(description="Deliveries by status.")
    archive_url: str
    resumes_at: datetime | None = Field(
        default=None,
        description="A sending edition that waits for the sending window or the relay's daily "
        "cap: when it continues by itself.",
    )
    waiting: str | None = Field(
        default=None,
        description="Why it waits, in words.",
        examples=["outside the sending window (07:00–21:00); continues tomorrow at 7:00"],
    )


class EditionRequest(RequestBody):
    list: str = Field(max_length=200, examples=["tedenske-novice"])
    period: str | None = Field(
        max_length=20,
        default=None,
        description="2025-W10, 2025-03 or 2025-03-07; default: this week.",
        examples=["2025-W10"],
    )
    send: bool = Field(
        default=True, description="Start sending at once (else a worker sends the queue)."
    )


class Problem(BaseModel):
    """An error with one message: 400, 401, 404, 409 and 413 answers."""

    detail: str = Field(examples=["no article with id or slug 'cms-4711'"])


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description='Where: `["body", "title"]`, `["query", "limit"]`.')
    msg: str
    type: str


class Unprocessable(BaseModel):
    """A 422: each problem with its location, and all of them in one line for a log."""

    detail: list[FieldProblem]
    message: str = Field(examples=["body.title: Field required"])
