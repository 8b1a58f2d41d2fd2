"""Topics: the CMS reads them with their article counts, and creates or renames them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam

from publisher.articles.store import list_topics, save_topic
from publisher.audit import api_actor
from publisher.slugs import SLUG_MAX_LENGTH, SLUG_PATTERN
from publisher.web.api.articles import publish_changes
from publisher.web.api.auth import Caller
from publisher.web.api.dependencies import Db
from publisher.web.api.errors import documented
from publisher.web.api.schemas import TopicName, TopicOut
from publisher.web.clients import client_address

router = APIRouter()


@router.get(
    "/topics",
    response_model=list[TopicOut],
    tags=["topics"],
    summary="List topics",
    responses=documented(),
)
def topics(session: Db) -> list[TopicOut]:
    """Every topic with its count of published articles."""
    return [
        TopicOut(slug=topic.slug, name=topic.name, name_en=topic.name_en, articles=count)
        for topic, count in list_topics(session)
    ]


@router.put(
    "/topics/{slug}",
    response_model=TopicOut,
    tags=["topics"],
    summary="Create or rename a topic",
    responses=documented(400, 413, 422),
)
def put_topic(
    request: Request,
    session: Db,
    slug: Annotated[str, PathParam(pattern=SLUG_PATTERN, max_length=SLUG_MAX_LENGTH)],
    body: TopicName,
    token: Caller,
) -> TopicOut:
    """Create a topic or rename it (the slug stays: it is in feed and page URLs)."""
    topic = save_topic(
        session,
        slug,
        body.name.strip(),
        name_en=body.name_en,
        actor=api_actor(token.name),
        client=client_address(request),
    )
    count = dict((t.slug, n) for t, n in list_topics(session)).get(slug, 0)
    publish_changes(request, session)
    return TopicOut(slug=topic.slug, name=topic.name, name_en=topic.name_en, articles=count)
