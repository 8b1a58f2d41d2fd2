"""What every residents' page shares: language, templates, tokens, form limits, error pages.

Residents' pages are rendered in the site's one layout (:mod:`publisher.web.layout`), in the
language it chooses: ``?lang=en``, or the language a subscriber chose on pages reached by
their link, else the site's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.datastructures import FormData

from publisher.config import Settings
from publisher.delivery.outbox import Outbox
from publisher.links import SubscriberLinks
from publisher.subscribers.models import Subscriber
from publisher.subscribers.subscriptions import subscriber_id_for_link
from publisher.tokens import ExpiredToken, InvalidToken, Purpose, TokenClaims, Tokens
from publisher.web.layout import page_language, render
from publisher.web.ratelimit import SubscribeLimits, rate_limit_storage
from publisher.web.residents.mailer import ConfirmationSender

MAX_FORM_BYTES = 16 * 1024
"""Every residents' form fits in a few hundred bytes; anything far larger is not a resident."""
MAX_TOKEN_LENGTH = 400
"""Our tokens are well under 100 characters; longer path segments are refused unread."""


@dataclass
class ResidentServices:
    """Made once per app (see :func:`publisher.web.residents.install`)."""

    settings: Settings
    tokens: Tokens
    links: SubscriberLinks
    limits: SubscribeLimits
    sender: ConfirmationSender

    @classmethod
    def from_settings(cls, settings: Settings, outbox: Outbox) -> ResidentServices:
        tokens = Tokens.from_settings(settings)
        return cls(
            settings=settings,
            tokens=tokens,
            links=SubscriberLinks(settings, tokens),
            limits=SubscribeLimits(
                settings.subscribe_limit_ip,
                settings.subscribe_limit_address,
                rate_limit_storage(settings),
                mails_per_ip=settings.confirm_mail_limit_ip,
            ),
            sender=ConfirmationSender(settings, outbox),
        )


def services(request: Request) -> ResidentServices:
    return request.app.state.residents  # type: ignore[no-any-return]


class FormTooLarge(Exception):
    """The body is over :data:`MAX_FORM_BYTES`."""


async def read_form(request: Request) -> FormData:
    """The submitted form, reading at most :data:`MAX_FORM_BYTES` whatever the client says.

    The body is read here, capped, before anything parses it (the CSRF check reads the same
    cached body), so a huge or endless upload costs us 16 KiB, not memory.
    """
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        raise FormTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise FormTooLarge
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette's own cache: form() parses these bytes
    return await request.form(max_files=0, max_fields=100, max_part_size=MAX_FORM_BYTES)


def read_token(request: Request, token: str, purpose: Purpose) -> TokenClaims:
    """The token's claims with the subscriber's id looked up from its uid (0 when nobody has
    it any more, which every look-up by id answers "not found"), or :class:`InvalidToken` /
    :class:`ExpiredToken`."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken(f"not a valid {purpose} link")
    claims = services(request).tokens.read(token, purpose)
    with Session(request.app.state.engine) as session:
        if claims.subscriber_uid:
            found = subscriber_id_for_link(session, claims.subscriber_uid)
            return replace(claims, subscriber_id=found or 0)
        subscriber = session.get(Subscriber, claims.subscriber_id)  # an old unsubscribe link
        uid = subscriber.token_uid if subscriber is not None else ""
        return replace(claims, subscriber_uid=uid)


def bad_link_page(request: Request, exc: InvalidToken, purpose: Purpose) -> Response:
    """400: the link was altered or cut short, or (confirm links) is too old."""
    lang = page_language(request)
    expired = isinstance(exc, ExpiredToken)
    return render(
        request,
        "residents/bad_link.html",
        lang=lang,
        status_code=400,
        private=True,
        expired=expired,
        purpose=str(purpose),
    )


def gone_page(request: Request) -> Response:
    """404: the link is genuine but its subscriber or subscription no longer exists."""
    return render(
        request, "residents/gone.html", lang=page_language(request), status_code=404, private=True
    )


def too_large_page(request: Request) -> Response:
    return render(request, "residents/too_large.html", lang=page_language(request), status_code=413)


def form_expired_page(request: Request) -> Response:
    """403 with a way forward: the CSRF check failed (an old page, or cookies blocked)."""
    return render(
        request, "residents/form_expired.html", lang=page_language(request), status_code=403
    )
