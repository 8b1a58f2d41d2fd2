"""The digest page of one list and period: prepare, preview, a test to myself, approve & send.

The safe path is the page's order: prepare the draft (an editor's note per language, which
of the period's articles go in and in what order: any editor may), look at the preview (the
message exactly as a resident gets it, in both languages), send a test copy to my own
address, then approve & send (an approver), which leads to the edition's progress page.
Once an edition is approved the preview shows the frozen message, not a fresh composition,
so it stays what was sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.exceptions import HTTPException

from publisher.articles.models import Article
from publisher.audit import admin_actor
from publisher.db import session_scope
from publisher.delivery.smtp import Verdict
from publisher.digests.editing import (
    NOTE_MAX_CHARS,
    EditionChangeRefused,
    EditionFrozen,
    choose_articles,
    set_edition_note,
)
from publisher.digests.editions import (
    EditionPlan,
    chosen_ids,
    get_or_create_edition,
    plan,
    report,
    send_test,
)
from publisher.digests.models import EditionStatus
from publisher.digests.periods import (
    BadPeriod,
    Period,
    current_period,
    parse_period,
    period_containing,
)
from publisher.digests.preview import preview
from publisher.digests.workflow import (
    Decided,
    NoArticles,
    send_or_resume,
)
from publisher.i18n import LANGUAGES, format_period
from publisher.mail.compose import note_paragraphs
from publisher.subscribers.lists import ListNotFound, get_list
from publisher.subscribers.models import MailingList
from publisher.web.admin.auth import Approver, Staff
from publisher.web.admin.dashboard import STATE_NAMES
from publisher.web.admin.render import (
    LANGUAGE_NAMES,
    engine_of,
    render,
    senders_of,
    settings_of,
)
from publisher.web.clients import client_address
from publisher.web.csrf import require_csrf

router = APIRouter()

PREVIEW_CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",  # mail clients read inlined styles; no scripts, ever
        "img-src https: http: data:",
        "frame-ancestors 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "sandbox allow-popups allow-popups-to-escape-sandbox",
    ]
)
NOTICES = {
    "test": "Poskusni izvod je poslan na vaš naslov. Preverite ga v svojem predalu.",
    "saved": "Uvodnik in izbor člankov sta shranjena; predogled spodaj ju že kaže.",
    "reset": "Izdaja spet vsebuje vse članke obdobja, najnovejše prve; uvodnik je shranjen.",
}
NOTE_LABELS = {"sl": "Uvodnik urednika (slovensko)", "en": "Uvodnik urednika (angleško)"}


@dataclass(frozen=True)
class ChoiceRow:
    """One candidate article in the draft's form: in the edition or not, at which place."""

    article: Article
    included: bool
    order: str


@dataclass(frozen=True)
class Typed:
    """What staff typed into the preparation form, shown again as typed if it is refused."""

    notes: dict[str, str]
    included: set[int]
    orders: dict[int, str]


def _choice_rows(planned: EditionPlan, typed: Typed | None) -> list[ChoiceRow]:
    """The candidates as the form lists them: the edition's articles first, in its order."""
    if typed is not None:
        rows = [
            ChoiceRow(article, article.id in typed.included, typed.orders.get(article.id or 0, ""))
            for article in planned.candidates
        ]
        return sorted(rows, key=lambda row: (not row.included, _number(row.order)))
    carried = [article.id for article in planned.articles]
    others = [article for article in planned.candidates if article.id not in carried]
    if chosen_ids(planned.edition) is None:
        others = []  # no choice: every candidate is in, newest first
    ordered = [*planned.articles, *others]
    return [
        ChoiceRow(article, article.id in carried, str(place))
        for place, article in enumerate(ordered, start=1)
    ]


def _number(text: str) -> float:
    try:
        return float(int(text))
    except ValueError:
        return float("inf")


def _list_and_period(session: Session, slug: str, period_key: str) -> tuple[MailingList, Period]:
    try:
        return get_list(session, slug), parse_period(period_key)
    except (ListNotFound, BadPeriod):
        raise HTTPException(status_code=404) from None


def _language(value: str | None, mailing_list: MailingList) -> str:
    return value if value in LANGUAGES else str(mailing_list.language)


def digest_url(mailing_list: MailingList, period: Period, **query: str) -> str:
    url = f"/admin/digests/{mailing_list.slug}/{period.key}"
    return f"{url}?{urlencode(query)}" if query else url


@router.get("/admin/digests/{slug}")
def this_period(request: Request, slug: str) -> Response:
    period = current_period(settings_of(request).tz)
    return RedirectResponse(f"/admin/digests/{slug}/{period.key}", status_code=303)


def _digest_page(
    request: Request,
    staff: Staff,
    slug: str,
    period_key: str,
    language: str | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    typed: Typed | None = None,
) -> Response:
    settings = settings_of(request)
    with Session(engine_of(request), expire_on_commit=False) as session:
        mailing_list, period = _list_and_period(session, slug, period_key)
        planned = plan(session, settings, mailing_list, period)
        lang = _language(language, mailing_list)
        shown = preview(session, settings, planned, lang) if planned.articles else None
        edition_report = report(session, planned.edition) if planned.edition else None
        return render(
            request,
            "admin/digest.html",
            staff=staff,
            status_code=status_code,
            frames=True,
            active="digests",
            mailing_list=mailing_list,
            period=period,
            period_text=format_period(period.start, period.end, "sl"),
            previous=_previous(period),
            following=period.following(),
            planned=planned,
            report=edition_report,
            state_name=STATE_NAMES.get(edition_report.state, edition_report.state)
            if edition_report
            else None,
            approved=planned.edition is not None
            and planned.edition.status == EditionStatus.approved,
            language=lang,
            languages=LANGUAGE_NAMES,
            preview=shown,
            choice=_choice_rows(planned, typed) if planned.candidates else [],
            notes=typed.notes if typed is not None else planned.notes,
            note_labels=NOTE_LABELS,
            paragraphs=note_paragraphs,
            note_max=NOTE_MAX_CHARS,
            notice=notice,
            error=error,
        )


def _previous(period: Period) -> Period:
    return period_containing(period.start - timedelta(days=1), period.kind)


@router.get("/admin/digests/{slug}/{period_key}")
def digest_page(
    request: Request,
    staff: Staff,
    slug: str,
    period_key: str,
    lang: str | None = None,
    notice: str | None = None,
) -> Response:
    return _digest_page(request, staff, slug, period_key, lang, notice=NOTICES.get(notice or ""))


@router.get("/admin/digests/{slug}/{period_key}/preview.html")
def preview_html(request: Request, slug: str, period_key: str, lang: str | None = None) -> Response:
    """The HTML part alone, for the digest page's sandboxed frame: no scripts, no forms."""
    settings = settings_of(request)
    with Session(engine_of(request), expire_on_commit=False) as session:
        mailing_list, period = _list_and_period(session, slug, period_key)
        planned = plan(session, settings, mailing_list, period)
        if not planned.articles:
            raise HTTPException(status_code=404)
        shown = preview(session, settings, planned, _language(lang, mailing_list))
    return Response(
        shown.html,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": PREVIEW_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        },
    )


@router.post("/admin/digests/{slug}/{period_key}/test", dependencies=[Depends(require_csrf)])
def send_test_copy(
    request: Request,
    staff: Staff,
    slug: str,
    period_key: str,
    language: Annotated[str, Form()] = "sl",
) -> Response:
    """One copy marked as a test to the logged-in staff member's own address, nobody else."""
    settings = settings_of(request)
    with Session(engine_of(request), expire_on_commit=False) as session:
        mailing_list, period = _list_and_period(session, slug, period_key)
        planned = plan(session, settings, mailing_list, period)
    lang = _language(language, mailing_list)
    if not planned.articles:
        return _digest_page(
            request,
            staff,
            slug,
            period_key,
            lang,
            error="V tem obdobju ni člankov za ta seznam, zato ni kaj poslati.",
            status_code=409,
        )
    outcome = asyncio.run(send_test(settings, planned, staff.email, lang))
    if outcome.verdict is not Verdict.sent:
        reply = f"{outcome.code or ''} {outcome.reply}".strip()
        return _digest_page(
            request,
            staff,
            slug,
            period_key,
            lang,
            error=f"Poskusnega izvoda ni bilo mogoče poslati na {staff.email}. "
            f"Odgovor strežnika: {reply or '(brez odgovora)'}",
            status_code=502,
        )
    return RedirectResponse(digest_url(mailing_list, period, lang=lang, notice="test"), 303)


@router.post("/admin/digests/{slug}/{period_key}/content", dependencies=[Depends(require_csrf)])
def save_content(
    request: Request,
    staff: Staff,
    slug: str,
    period_key: str,
    note_sl: Annotated[str, Form()] = "",
    note_en: Annotated[str, Form()] = "",
    article: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    order: Annotated[list[str], Form()] = [],  # noqa: B006
    include: Annotated[list[str], Form()] = [],  # noqa: B006
    action: Annotated[str, Form()] = "save",
) -> Response:
    """Save the draft's notes and its articles in the order of the numbers typed (ties keep
    the listed order); "reset" goes back to every article of the period, newest first."""
    settings = settings_of(request)
    orders = {int(a): o.strip() for a, o in zip(article, order, strict=False) if a.isdigit()}
    typed = Typed(
        {"sl": note_sl, "en": note_en},
        {int(value) for value in include if value.isdigit()},
        orders,
    )
    refused: str | None = None
    status_code = 400
    if any(not value.isdigit() for value in [*article, *include]):
        refused = "Obrazec je poslal neznan članek; osvežite stran in poskusite znova."
    elif any(text and not text.isdigit() for text in orders.values()):
        refused = "Vrstni red naj bo celo število (1, 2, 3 …) pri vsakem izbranem članku."
    if refused is None:
        ids = [int(value) for value in include]
        listed = {article_id: place for place, article_id in enumerate(orders)}
        ids.sort(key=lambda i: (_number(orders.get(i, "")), listed.get(i, len(listed))))
        try:
            with session_scope(engine_of(request)) as session:
                mailing_list, period = _list_and_period(session, slug, period_key)
                edition = get_or_create_edition(session, mailing_list, period)
                by, client = admin_actor(staff.email), client_address(request)
                for language, text in typed.notes.items():
                    set_edition_note(session, edition, language, text, actor=by, client=client)
                choose_articles(
                    session,
                    settings,
                    edition,
                    None if action == "reset" else ids,
                    actor=by,
                    client=client,
                )
        except EditionChangeRefused as exc:
            refused = exc.reason_sl
            status_code = 409 if isinstance(exc, EditionFrozen) else 400
    if refused is not None:
        return _digest_page(
            request,
            staff,
            slug,
            period_key,
            None,
            error=refused,
            status_code=status_code,
            typed=typed,
        )
    with Session(engine_of(request)) as session:
        mailing_list, period = _list_and_period(session, slug, period_key)
    notice = "reset" if action == "reset" else "saved"
    return RedirectResponse(digest_url(mailing_list, period, notice=notice), status_code=303)


@router.post("/admin/digests/{slug}/{period_key}/approve", dependencies=[Depends(require_csrf)])
def approve_and_send(
    request: Request,
    staff: Approver,
    slug: str,
    period_key: str,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Approve (one request wins; the rest get the same edition) and start sending in the
    background (one sender per edition in this process); then watch the progress page."""
    settings = settings_of(request)
    if confirm != "yes":
        return _digest_page(
            request,
            staff,
            slug,
            period_key,
            None,
            error="Najprej potrdite, da ste pregledali predogled in poskusni izvod.",
            status_code=400,
        )
    with Session(engine_of(request), expire_on_commit=False) as session:
        mailing_list, period = _list_and_period(session, slug, period_key)
    edition_id = 0
    for event in send_or_resume(
        engine_of(request),
        settings,
        senders_of(request),
        mailing_list,
        period,
        by=admin_actor(staff.email),
        client=client_address(request),
    ):
        if isinstance(event, NoArticles):
            return _digest_page(
                request,
                staff,
                slug,
                period_key,
                None,
                error="V tem obdobju ni člankov za ta seznam: izdaja ni nastala, nič ni poslano.",
                status_code=409,
            )
        if isinstance(event, Decided):
            edition_id = event.report.edition.id or 0
    return RedirectResponse(f"/admin/editions/{edition_id}", status_code=303)
