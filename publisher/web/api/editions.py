"""Digest editions: the CMS reads them, and approves (and starts sending) one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session
from starlette.exceptions import HTTPException

from publisher.audit import api_actor
from publisher.config import Settings
from publisher.delivery.limits import describe
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
    Approved,
    Decided,
    NoArticles,
    send_or_resume,
)
from publisher.links import archive_url
from publisher.subscribers.lists import ListNotFound, get_list
from publisher.subscribers.models import MailingList
from publisher.web.api.auth import Approving
from publisher.web.api.dependencies import Db, settings_of
from publisher.web.api.errors import documented, problem_at, unprocessable
from publisher.web.api.schemas import EditionOut, EditionRequest
from publisher.web.clients import client_address

router = APIRouter()


def _read_edition(expression: str) -> dict[str, object]:
    """An OpenAPI link to the edition an answer names, so clients and fuzzers can follow it."""
    return {"operationId": "read_edition", "parameters": {"key": expression}}


def _edition_out(session: Session, settings: Settings, edition: Edition) -> EditionOut:
    mailing_list = session.get(MailingList, edition.list_id)
    assert mailing_list is not None
    result = report(session, edition, settings)
    period = period_containing(edition.period_start, PeriodKind(edition.period_kind))
    return EditionOut(
        id=edition.id or 0,
        list=mailing_list.slug,
        period=edition.period_key,
        status=str(edition.status),  # type: ignore[arg-type]
        state=result.state,
        finished=result.state.finished,
        subject=edition.subject,
        approved_at=edition.approved_at,
        approved_by=edition.approved_by,
        recipients=result.total,
        counts=dict(result.counts),
        archive_url=archive_url(settings, mailing_list.slug, period.key),
        resumes_at=result.held.until if result.held else None,
        waiting=describe(result.held, settings, "en") if result.held else None,
    )


@router.get(
    "/editions",
    response_model=list[EditionOut],
    tags=["editions"],
    summary="List editions",
    responses={200: {"links": {"ReadFirstEdition": _read_edition("$response.body#/0/id")}}}
    | documented(404, 422),
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
    settings = settings_of(request)
    return [_edition_out(session, settings, found) for found in editions_of(session, mailing_list)]


@router.get(
    "/editions/{key:path}",
    response_model=EditionOut,
    tags=["editions"],
    summary="Read an edition",
    operation_id="read_edition",
    responses=documented(404),
)
def edition(request: Request, session: Db, key: str) -> EditionOut:
    """One edition by id or by LIST/PERIOD (`tedenske-novice/2025-W10`)."""
    try:
        found = get_edition(session, key)
    except EditionNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return _edition_out(session, settings_of(request), found)


@router.post(
    "/editions",
    response_model=EditionOut,
    status_code=202,
    summary="Approve and send an edition",
    tags=["editions"],
    responses={
        200: {
            "description": "Already approved: nothing new was done.",
            "links": {"ReadEdition": _read_edition("$response.body#/id")},
        },
        202: {"links": {"ReadEdition": _read_edition("$response.body#/id")}},
        **documented(400, 403, 409, 413, 422),
    },
)
def approve_edition(
    request: Request, response: Response, session: Db, body: EditionRequest, token: Approving
) -> Any:
    """Approve the edition of (list, period) and queue it: each subscriber gets it once.

    Calling again (or together with the admin or the schedule) is harmless: there is one
    edition per list and period, approved once.
    """
    settings = settings_of(request)
    try:
        mailing_list = get_list(session, body.list)
    except ListNotFound as exc:
        return unprocessable([problem_at(["body", "list"], str(exc))])
    try:
        period = resolve_period(body.period, settings)
    except BadPeriod as exc:
        return unprocessable([problem_at(["body", "period"], str(exc))])
    found = None
    for event in send_or_resume(
        request.app.state.engine,
        settings,
        request.app.state.senders,
        mailing_list,
        period,
        by=api_actor(token.name),
        client=client_address(request),
        start=body.send,
    ):
        if isinstance(event, NoArticles):
            raise HTTPException(409, detail=event.message)
        if isinstance(event, Decided) and not isinstance(event, Approved):
            response.status_code = 200  # approved before: nothing new was done
        if isinstance(event, Decided):
            found = event.report.edition
    assert found is not None
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/editions/{found.id}"
    return _edition_out(session, settings, found)
