"""``/preferences/{token}`` and ``/unsubscribe/{token}``: what a subscriber does by their link.

The signed token in the URL is the only key: no account, no password. So these pages are
never cached or indexed and never send a ``Referer`` (see ``pages.render``), every form on
them carries a CSRF field, and the one exception is RFC 8058 one-click unsubscribe, which a
mail client posts with no cookie and no page.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from publisher.audit import RESIDENT, AuditAction, record
from publisher.db import session_scope
from publisher.delivery.privacy import person_data
from publisher.i18n import LANGUAGES, Language
from publisher.subscribers.errors import RegisterError
from publisher.subscribers.preferences import (
    AddressSuppressed,
    Preferences,
    load_preferences,
    save_preferences,
)
from publisher.subscribers.privacy import erase
from publisher.subscribers.subscriptions import (
    SubscriberNotFound,
    UnsubscribeTarget,
    get_subscriber_by_id,
    unsubscribe_subscriber,
    unsubscribe_target,
)
from publisher.tokens import InvalidToken, Purpose, TokenClaims
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

router = APIRouter()

ONE_CLICK = ("List-Unsubscribe", "One-Click")


# Preferences -------------------------------------------------------------------------------


def _preferences_page(
    request: Request,
    token: str,
    prefs: Preferences,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    saved: bool = False,
) -> Response:
    lang = page_language(request, str(prefs.subscriber.language))
    base = f"/preferences/{token}"
    own = str(prefs.subscriber.language)
    return render(
        request,
        "residents/preferences.html",
        lang=lang,
        status_code=status_code,
        private=True,
        prefs=prefs,
        errors=errors or {},
        saved=saved,
        action=with_language(base, lang, own),
        unsubscribe_action=with_language(f"{base}/unsubscribe", lang, own),
        erase_action=with_language(f"{base}/erase", lang, own),
        data_url=f"{base}/data",
        subscribe_again=with_language("/subscribe", lang, services(request).settings.language),
    )


@router.get("/preferences/{token}")
def preferences_page(request: Request, token: str) -> Response:
    try:
        claims = read_token(request, token, Purpose.preferences)
    except InvalidToken as exc:
        return bad_link_page(request, exc, Purpose.preferences)
    try:
        with Session(request.app.state.engine) as session:
            prefs = load_preferences(session, claims.subscriber_id)
    except SubscriberNotFound:
        return gone_page(request)
    return _preferences_page(request, token, prefs, saved=request.query_params.get("saved") == "1")


async def _posted(request: Request, token: str) -> tuple[TokenClaims, FormData] | Response:
    """A preferences form post: the link's claims and the checked form, or the page saying
    why not (bad or expired link, form too large, form not from our page)."""
    try:
        claims = await run_in_threadpool(read_token, request, token, Purpose.preferences)
    except InvalidToken as exc:
        return bad_link_page(request, exc, Purpose.preferences)
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    return claims, form


async def _checked_form(request: Request) -> FormData | Response:
    """The form if it is small enough and carries our CSRF token, else the page saying why."""
    try:
        form = await read_form(request)
    except FormTooLarge:
        return too_large_page(request)
    try:
        await require_csrf(request)
    except CsrfRejected:
        return form_expired_page(request)
    return form


@router.post("/preferences/{token}")
async def preferences_save(request: Request, token: str) -> Response:
    posted = await _posted(request, token)
    if isinstance(posted, Response):
        return posted
    claims, form = posted
    language = str(form.get("language") or "")
    residents = services(request)

    def save() -> Preferences | Response:
        try:
            with session_scope(request.app.state.engine) as session:
                current = load_preferences(session, claims.subscriber_id)
                if language not in LANGUAGES:
                    _ = translations(page_language(request, str(current.subscriber.language)))
                    errors = {"language": _.gettext("Choose the language of the messages.")}
                    return _preferences_page(
                        request, token, current, status_code=400, errors=errors
                    )
                return save_preferences(
                    session,
                    claims.subscriber_id,
                    lists=[str(v) for v in form.getlist("lists")][:50],
                    topics=[str(v) for v in form.getlist("topics")][:100],
                    language=Language(language),
                    ip_address=client_address(request),
                    wording_version=f"{residents.settings.consent_version}/preferences",
                )
        except SubscriberNotFound:
            return gone_page(request)
        except AddressSuppressed:  # a page from before: the choices would change nothing
            with Session(request.app.state.engine) as session:
                current = load_preferences(session, claims.subscriber_id)
            return _preferences_page(request, token, current, status_code=409)
        except RegisterError:
            with Session(request.app.state.engine) as session:
                current = load_preferences(session, claims.subscriber_id)
            _ = translations(page_language(request, str(current.subscriber.language)))
            errors = {"lists": _.gettext("Choose from the newsletters and topics shown.")}
            return _preferences_page(request, token, current, status_code=400, errors=errors)

    result = await run_in_threadpool(save)
    if isinstance(result, Response):
        return result
    lang = page_language(request, language)
    query = {"saved": "1"} if lang == language else {"saved": "1", "lang": lang}
    return RedirectResponse(f"/preferences/{token}?{urlencode(query)}", status_code=303)


@router.post("/preferences/{token}/unsubscribe")
async def preferences_unsubscribe_all(request: Request, token: str) -> Response:
    posted = await _posted(request, token)
    if isinstance(posted, Response):
        return posted
    claims, _ = posted
    try:
        language = await run_in_threadpool(_unsubscribe, request, claims.subscriber_id, None)
    except SubscriberNotFound:
        return gone_page(request)
    return _unsubscribed_page(request, language=language, everything=True)


@router.get("/preferences/{token}/data")
def preferences_data(request: Request, token: str) -> Response:
    """GDPR access (art. 15): everything we hold about the person, as one JSON file."""
    try:
        claims = read_token(request, token, Purpose.preferences)
    except InvalidToken as exc:
        return bad_link_page(request, exc, Purpose.preferences)
    settings = services(request).settings
    try:
        with session_scope(request.app.state.engine) as session:
            subscriber = get_subscriber_by_id(session, claims.subscriber_id)
            data = person_data(session, subscriber.email, settings.tz)
            record(
                session,
                AuditAction.data_download,
                actor=RESIDENT,
                client=client_address(request),
                subject=f"subscriber {subscriber.id}",
            )
    except SubscriberNotFound:
        return gone_page(request)
    body = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return Response(
        body.encode("utf-8"),
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="moji-podatki.json"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Robots-Tag": "noindex",
        },
    )


@router.post("/preferences/{token}/erase")
async def preferences_erase(request: Request, token: str) -> Response:
    """GDPR erasure (art. 17): the person is deleted; only the address's hash stays."""
    posted = await _posted(request, token)
    if isinstance(posted, Response):
        return posted
    claims, form = posted

    def run() -> Response:
        with session_scope(request.app.state.engine) as session:
            try:
                subscriber = get_subscriber_by_id(session, claims.subscriber_id)
            except SubscriberNotFound:
                return gone_page(request)
            lang = page_language(request, str(subscriber.language))
            if form.get("confirm_erase") != "yes":
                _ = translations(lang).gettext
                prefs = load_preferences(session, claims.subscriber_id)
                errors = {
                    "confirm_erase": _("Tick the box to confirm that we may erase your data.")
                }
                return _preferences_page(request, token, prefs, status_code=400, errors=errors)
            erase(session, subscriber.email)
            record(
                session,
                AuditAction.erasure,
                actor=RESIDENT,
                client=client_address(request),
                subject=f"subscriber {subscriber.id}",
            )
        return render(request, "residents/erased.html", lang=lang, private=True)

    return await run_in_threadpool(run)


# Unsubscribe -------------------------------------------------------------------------------


def _unsubscribe(request: Request, subscriber_id: int, list_id: int | None) -> str:
    """Unsubscribe; the subscriber's language, for the page that follows."""
    with session_scope(request.app.state.engine) as session:
        subscriber = get_subscriber_by_id(session, subscriber_id)
        unsubscribe_subscriber(session, subscriber_id, list_id)
        return str(subscriber.language)


def _unsubscribed_page(
    request: Request,
    *,
    language: str,
    everything: bool,
    list_name: str = "",
    already: bool = False,
    list_gone: bool = False,
    preferences_url: str = "",
) -> Response:
    """ "You are unsubscribed", or (``already``) that there was nothing left to leave, or
    (``list_gone``) that the link's list is no longer published; always with the way back."""
    lang = page_language(request, language)
    settings = services(request).settings
    return render(
        request,
        "residents/unsubscribed.html",
        lang=lang,
        private=True,
        everything=everything,
        list_name=list_name,
        already=already,
        list_gone=list_gone,
        preferences_url=preferences_url,
        subscribe_again=with_language("/subscribe", lang, settings.language),
    )


@router.get("/unsubscribe")
def unsubscribe_help(request: Request) -> Response:
    """The archive's copy of a digest links here: the personal link is only in the mail."""
    return render(request, "residents/unsubscribe_help.html", lang=page_language(request))


def _target(request: Request, claims: TokenClaims) -> UnsubscribeTarget:
    with Session(request.app.state.engine) as session:
        return unsubscribe_target(session, claims.subscriber_id, claims.list_id)


def _preferences_url(request: Request, claims: TokenClaims, lang: str, own: str) -> str:
    return with_language(services(request).links.preferences(claims.subscriber_uid), lang, own)


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    """Asks before unsubscribing (a link scanner's GET must change nothing); when there is
    nothing left to leave, says so instead, with the way back."""
    try:
        claims = read_token(request, token, Purpose.unsubscribe)
    except InvalidToken as exc:
        return bad_link_page(request, exc, Purpose.unsubscribe)
    try:
        target = _target(request, claims)
    except SubscriberNotFound:
        return gone_page(request)
    lang = page_language(request, target.language)
    preferences_url = _preferences_url(request, claims, lang, target.language)
    if target.left or target.list_gone:
        return _unsubscribed_page(
            request,
            language=target.language,
            everything=claims.list_id is None,
            list_name=target.list_name,
            already=True,
            list_gone=target.list_gone,
            preferences_url=preferences_url,
        )
    return render(
        request,
        "residents/unsubscribe.html",
        lang=lang,
        private=True,
        list_name=target.list_name,
        suppressed=target.suppressed,
        action=with_language(f"/unsubscribe/{token}", lang, target.language),
        preferences_url=preferences_url,
    )


@router.post("/unsubscribe/{token}")
async def unsubscribe_submit(request: Request, token: str) -> Response:
    """RFC 8058 one-click (``List-Unsubscribe=One-Click``, no cookie): done, 200, no page.
    The page's own button: CSRF-checked, then the "you are unsubscribed" page."""
    try:
        claims = await run_in_threadpool(read_token, request, token, Purpose.unsubscribe)
    except InvalidToken as exc:
        return bad_link_page(request, exc, Purpose.unsubscribe)
    try:
        form = await read_form(request)
    except FormTooLarge:
        return too_large_page(request)
    one_click = form.get(ONE_CLICK[0]) == ONE_CLICK[1]
    if not one_click:
        try:
            await require_csrf(request)
        except CsrfRejected:
            return form_expired_page(request)
    try:
        target = await run_in_threadpool(_target, request, claims)
        if not target.list_gone:
            await run_in_threadpool(_unsubscribe, request, claims.subscriber_id, claims.list_id)
    except SubscriberNotFound:
        if one_click:  # erased: nothing will be sent to them, which is what they asked
            return PlainTextResponse("Unsubscribed.\n")
        return gone_page(request)
    if one_click:
        return PlainTextResponse("Unsubscribed.\n")
    lang = page_language(request, target.language)
    return _unsubscribed_page(
        request,
        language=target.language,
        everything=claims.list_id is None,
        list_name=target.list_name,
        list_gone=target.list_gone,
        preferences_url=_preferences_url(request, claims, lang, target.language),
    )
