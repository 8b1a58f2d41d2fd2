"""The API's request and response shapes: what the CMS sends and what it reads back.

Their names and fields are the API's contract: they appear as schemas in ``/api/openapi.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from publisher.slugs import slug_problem


class TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(
        default="",
        max_length=80,
        examples=["promet"],
        description="Lower-case letters, digits and hyphens; empty: made from the name.",
    )
    name: str = Field(default="", max_length=200, examples=["Promet"])

    @field_validator("slug")
    @classmethod
    def _check_slug(cls, value: str) -> str:
        problem = slug_problem(value) if value else None
        if problem is not None:
            raise ValueError(problem)
        return value


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
