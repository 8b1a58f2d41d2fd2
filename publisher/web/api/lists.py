"""Mailing lists: the CMS reads them with their topics and subscription counts."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import Session
from starlette.exceptions import HTTPException

from publisher.subscribers.lists import (
    ListNotFound,
    all_lists,
    get_list,
    list_topic_slugs,
    status_counts,
)
from publisher.subscribers.models import MailingList
from publisher.web.api.dependencies import Db
from publisher.web.api.errors import documented
from publisher.web.api.schemas import ListOut

router = APIRouter()


def _list_out(session: Session, mailing_list: MailingList, counts: dict[str, int]) -> ListOut:
    return ListOut(
        slug=mailing_list.slug,
        name=mailing_list.name,
        name_en=mailing_list.name_en,
        description=mailing_list.description,
        language=str(mailing_list.language),
        public=mailing_list.public,
        topics=list_topic_slugs(session, mailing_list.id or 0),
        subscribers=dict(counts),
    )


@router.get(
    "/lists",
    response_model=list[ListOut],
    tags=["lists"],
    summary="List mailing lists",
    responses=documented(),
)
def lists(session: Db) -> list[ListOut]:
    """Every mailing list with its topics and subscription counts."""
    counts = status_counts(session)
    return [
        _list_out(session, found, counts.get(found.id or 0, {})) for found in all_lists(session)
    ]


@router.get(
    "/lists/{slug}",
    response_model=ListOut,
    tags=["lists"],
    summary="Read a mailing list",
    responses=documented(404),
)
def one_list(session: Db, slug: str) -> ListOut:
    try:
        found = get_list(session, slug)
    except ListNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return _list_out(session, found, status_counts(session, found.id).get(found.id or 0, {}))
