"""``/subscribe`` and ``/confirm/{token}``: double opt-in for residents, and the privacy notice.

The answer to a valid form is the same page, with the same status and headers, whether the
address is new, pending, confirmed, suppressed or a bot's (honeypot): the register decides
quietly whether a mail is due, and the mail leaves after the page (see ``mailer``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from publisher.addresses import InvalidAddress, mailbox_unreachable, needs_smtputf8, parse_address
from publisher.db import session_scope
from publisher.i18n import LANGUAGES, Language
from publisher.subscribers.confirmation import (
    ConfirmationDue,
    SubscribeRequest,
    confirm_from_link,
    forget_request,
    request_subscription,
)
from publisher.subscribers.models import MailingList
from publisher.subscribers.preferences import public_lists, topics_of
from publisher.subscribers.subscriptions import (
    SubscriberNotFound,
    SubscriptionRefused,
    get_subscriber_by_id,
)
from publisher.tokens import InvalidToken, Purpose
from publisher.topics import Topic
from publisher.translations import translations
from publisher.web.clients import client_address
from publisher.web.csrf import CsrfRejected, require_csrf
from publisher.web.layout import page_language, render, with_language
from publisher.web.residents.pages import (
    FormTooLarge,
    bad_link_page,
    form_expired_page,
    gone_page,
    read_form,
    read_token,
    services,
    too_large_page,
)

log = logging.getLogger(__name__)
router = APIRouter()

MAX_EMAIL = 254
MAX_NAME = 200
HONEYPOT = "url_check"
"""A field people never see or fill (hidden off-screen and from screen readers); bots do."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class SubscribeForm:
    """The form's values and, per field, what is wrong with it (in the page's language)."""

    email: str = ""
    name: str = ""
    lists: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    language: str = "sl"
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Offer:
    """What the form offers: the public lists and the topics they carry."""

    lists: list[MailingList]
    topics: list[Topic]


def _offer(session: Session) -> Offer:
    lists = public_lists(session)
    topics = list(topics_of(session, lists)) if lists else []
    return Offer(lists, topics)


def _load_offer(request: Request) -> Offer:
    with Session(request.app.state.engine) as session:
        return _offer(session)


def _form_page(
    request: Request, form: SubscribeForm, offer: Offer, lang: str, status_code: int = 200
) -> Response:
    settings = services(request).settings
    return render(
        request,
        "residents/subscribe.html",
        lang=lang,
        status_code=status_code,
        form=form,
        offer=offer,
        action=with_language("/subscribe", lang, settings.language),
        honeypot=HONEYPOT,
        max_email=MAX_EMAIL,
        max_name=MAX_NAME,
        active="subscribe",
    )


@router.get("/subscribe")
def subscribe_page(request: Request) -> Response:
    lang = page_language(request)
    offer = _load_offer(request)
    form = SubscribeForm(language=lang)
    if len(offer.lists) == 1:
        form.lists = [offer.lists[0].slug]  # the only newsletter: ticked already
    return _form_page(request, form, offer, lang)


def _validate(form_data: FormData, offer: Offer, lang: str) -> SubscribeForm:
    _ = translations(lang).gettext
    email = str(form_data.get("email") or "").strip()
    name = " ".join(_CONTROL.sub(" ", str(form_data.get("name") or "")).split())
    form = SubscribeForm(
        email=email[: MAX_EMAIL + 50],
        name=name[: MAX_NAME + 50],
        lists=[str(v) for v in form_data.getlist("lists")][:50],
        topics=[str(v) for v in form_data.getlist("topics")][:100],
        language=str(form_data.get("language") or lang),
    )
    if not email:
        form.errors["email"] = _("Enter your email address.")
    elif len(email) > MAX_EMAIL:
        form.errors["email"] = _("This address is too long.")
    else:
        try:
            parse_address(email)
        except InvalidAddress:
            form.errors["email"] = _(
                "This does not look like an email address. Write it like ana.novak@primer.si."
            )
    if len(name) > MAX_NAME:
        form.errors["name"] = _("Please shorten the name to 200 characters or fewer.")
    slugs = {m.slug for m in offer.lists}
    if not form.lists or not set(form.lists) <= slugs:
        form.errors["lists"] = _("Choose at least one newsletter.")
        form.lists = [s for s in form.lists if s in slugs]
    topic_slugs = {topic.slug for topic in offer.topics}
    if not set(form.topics) <= topic_slugs:
        form.errors["topics"] = _("Choose topics from the list.")
        form.topics = [s for s in form.topics if s in topic_slugs]
    if form.language not in LANGUAGES:
        form.errors["language"] = _("Choose the language of the messages.")
        form.language = lang
    return form


@router.post("/subscribe")
async def subscribe_submit(request: Request) -> Response:
    lang = page_language(request)
    try:
        form_data = await read_form(request)
    except FormTooLarge:
        return too_large_page(request)
    try:
        await require_csrf(request)
    except CsrfRejected:
        return form_expired_page(request)
    residents = services(request)
    ip = client_address(request) or "unknown"
    decision = residents.limits.check_ip(ip)
    if not decision.allowed:
        return _too_many(request, lang, decision.retry_after)
    if form_data.get(HONEYPOT):
        return _check_your_mail(request, lang, str(form_data.get("email") or "")[:MAX_EMAIL])
    offer = await run_in_threadpool(_load_offer, request)
    form = _validate(form_data, offer, lang)
    if form.errors:
        return _form_page(request, form, offer, lang, status_code=400)
    address = parse_address(form.email)
    if needs_smtputf8(address.email) and mailbox_unreachable(
        address.email, await residents.sender.outbox.offers_smtputf8()
    ):
        form.errors["email"] = translations(lang).gettext(
            "Our mail server cannot deliver to addresses with letters such as č, š or ž "
            "before the @. Please enter another address."
        )
        return _form_page(request, form, offer, lang, status_code=400)
    decision = residents.limits.check_address(address.key)
    if not decision.allowed:
        return _too_many(request, lang, decision.retry_after)
    subscribe_request = SubscribeRequest(
        email=address.email,
        lists=form.lists,
        name=form.name,
        topics=form.topics,
        language=Language(form.language),
        ip_address=client_address(request),
        wording_version=f"{residents.settings.consent_version}/{lang}",
    )
    due = await run_in_threadpool(_request, request, subscribe_request)
    response = _check_your_mail(request, lang, form.email)
    if due is not None and not residents.limits.check_mail(ip).allowed:
        # The same page: the client learns nothing; the address may be asked for again later.
        log.warning(
            "confirmation mail to subscriber %s held back: client over its limit", due.subscriber_id
        )
        await run_in_threadpool(_forget, request, due)
        due = None
    if due is not None:
        response.background = BackgroundTask(
            residents.sender.send, due, residents.links, request.app.state.engine
        )
    return response


def _forget(request: Request, due: ConfirmationDue) -> None:
    with session_scope(request.app.state.engine) as session:
        forget_request(session, due)


def _request(request: Request, subscribe_request: SubscribeRequest) -> ConfirmationDue | None:
    with session_scope(request.app.state.engine) as session:
        return request_subscription(session, subscribe_request)


def _check_your_mail(request: Request, lang: str, email: str) -> Response:
    return render(
        request,
        "residents/check_mail.html",
        lang=lang,
        email=email,
        days=services(request).settings.confirm_token_days,
        active="subscribe",
    )


def _too_many(request: Request, lang: str, retry_after: int) -> Response:
    minutes = max(1, (retry_after + 59) // 60)
    return render(
        request,
        "residents/too_many.html",
        lang=lang,
        status_code=429,
        headers={"Retry-After": str(retry_after)},
        minutes=minutes,
    )


@dataclass(frozen=True)
class Confirmed:
    language: str
    list_names: dict[str, list[str]]
    """The lists' names in each language, for the page in whichever the reader reads."""
    preferences_url: str


@router.get("/confirm/{token}")
def confirm(request: Request, token: str) -> Response:
    try:
        claims = read_token(request, token, Purpose.confirm)
    except InvalidToken as exc:
        return bad_link_page(request, exc, Purpose.confirm)
    residents = services(request)
    assert claims.list_id is not None  # confirm tokens always name a list
    try:
        with session_scope(request.app.state.engine) as session:
            lists = confirm_from_link(
                session,
                claims.subscriber_id,
                claims.list_id,
                claims.issued_at,
                ip_address=client_address(request),
                wording_version=f"{residents.settings.consent_version}/confirm-email",
            )
            subscriber = get_subscriber_by_id(session, claims.subscriber_id)
            done = Confirmed(
                language=str(subscriber.language),
                list_names={
                    language: [m.name_for(language) for m in lists] for language in LANGUAGES
                },
                preferences_url=residents.links.preferences(subscriber.token_uid),
            )
    except SubscriberNotFound:
        return gone_page(request)
    except SubscriptionRefused:
        lang = page_language(request)
        return render(
            request, "residents/left_since.html", lang=lang, status_code=400, private=True
        )
    lang = page_language(request, done.language)
    return render(
        request,
        "residents/confirmed.html",
        lang=lang,
        private=True,
        list_names=done.list_names[lang],
        preferences_url=with_language(done.preferences_url, lang, done.language),
    )


@router.get("/privacy")
def privacy(request: Request) -> Response:
    lang = page_language(request)
    return render(request, "residents/privacy.html", lang=lang)
