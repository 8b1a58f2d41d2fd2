"""The public archive: every sent digest, and its "view in browser" page.

``/archive/{list}/{period}`` is the link every digest carries (``digests.content.archive_url``).
It shows the edition as stored at approval (``EditionContent``: the public copy, with the
personal links replaced by general ones), in the list's language or the other one.

The digest is an email document: table layout and inlined CSS for mail clients. Rather than
cut it into our page (which would mean allowing ``style`` on every tag, i.e. letting its CSS
restyle the site), the page frames it: ``…/message.html`` serves the stored document with its
own strict Content-Security-Policy (no scripts, no plug-ins, no forms, ``sandbox``) and the
frame is sandboxed too, so even a flaw upstream could not run code in the site's origin.
A ``<base target="_top">`` makes its links open as whole pages, as they do in a mail client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from babel import negotiate_locale
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy import select
from sqlmodel import Session

from publisher.digests.editions import EditionNotFound, editions_of, get_edition
from publisher.digests.models import Edition, EditionContent, EditionStatus
from publisher.i18n import LANGUAGES
from publisher.mail.compose import format_period
from publisher.subscribers.lists import all_lists
from publisher.subscribers.models import MailingList
from publisher.web.public import _render as render_page
from publisher.web.security import CONTENT_SECURITY_POLICY

router = APIRouter()

LANGUAGE_NAMES = {"sl": "slovenščina", "en": "English"}
SANDBOX = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
"""What the framed digest may do: open its links (as whole pages or new tabs); nothing else."""

PAGE_CSP = CONTENT_SECURITY_POLICY + "; frame-src 'self'"
"""The site's policy plus our own framed message."""
MESSAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",  # the digest's inlined CSS, and nothing that can run
        "img-src 'self' https: data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        f"sandbox {SANDBOX}",
    ]
)
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


@dataclass(frozen=True)
class ArchiveItem:
    list_slug: str
    period_key: str
    title: str
    period: str


@dataclass(frozen=True)
class ArchiveList:
    mailing_list: MailingList
    editions: list[ArchiveItem]


def _session(request: Request) -> Session:
    return Session(request.app.state.engine)


def _published(session: Session, mailing_list: MailingList) -> list[Edition]:
    """Approved editions: the ones whose public copy exists (and that went, or go, out)."""
    return [
        edition
        for edition in editions_of(session, mailing_list)
        if edition.status == EditionStatus.approved
    ]


def _period_text(edition: Edition, language: str) -> str:
    return format_period(edition.period_start, edition.period_end, language)


@router.api_route("/archive", methods=["GET", "HEAD"])
def archive_index(request: Request) -> Response:
    """Past editions of every public list, newest first."""
    with _session(request) as session:
        shelves = []
        for mailing_list in all_lists(session):
            if not mailing_list.public:
                continue  # its editions still open from their emails' links
            language = str(mailing_list.language)
            items = [
                ArchiveItem(
                    list_slug=mailing_list.slug,
                    period_key=edition.period_key,
                    title=edition.subject or mailing_list.name,
                    period=_period_text(edition, language),
                )
                for edition in _published(session, mailing_list)
            ]
            if items:
                shelves.append(ArchiveList(mailing_list, items))
        return render_page(request, "archive.html", session, shelves=shelves, active="archive")


def preferred_language(request: Request) -> str | None:
    """The reader's first choice among our languages (``Accept-Language``), if any.

    The digest's "view in browser" link is the same in both languages, so an English reader
    coming from the English email is shown English when the browser asks for it. Babel picks
    our language for each tag in turn, so ``en-GB`` is served ``en``.
    """
    accepted = _by_quality(request.headers.get("accept-language", ""))
    return negotiate_locale(accepted, LANGUAGES, sep="-", aliases=None)


def _by_quality(header: str) -> list[str]:
    """An ``Accept-Language`` header's tags, most wanted first; ``q=0`` means not at all."""
    ranked = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.partition(";")
        name, _, value = params.partition("=")
        try:
            quality = float(value) if name.strip() == "q" else 1.0
        except ValueError:
            continue
        if tag.strip() and quality > 0:
            ranked.append((-quality, index, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def _edition_and_content(
    session: Session,
    list_slug: str,
    period_key: str,
    lang: str | None,
    preferred: str | None = None,
) -> tuple[MailingList, Edition, EditionContent, list[str]] | None:
    """The edition, the copy in the language asked for (else the reader's, else the list's),
    and the languages it exists in; None when there is no such published edition."""
    try:
        edition = get_edition(session, f"{list_slug}/{period_key}")
    except EditionNotFound:
        return None
    if edition.status != EditionStatus.approved or edition.period_key != period_key:
        return None
    contents = {
        content.language: content
        for content in session.execute(
            select(EditionContent).where(EditionContent.edition_id == edition.id)  # type: ignore[arg-type]
        ).scalars()
    }
    mailing_list = session.get(MailingList, edition.list_id)
    if not contents or mailing_list is None:
        return None
    available = [language for language in LANGUAGES if language in contents]
    wanted = lang if lang in contents else preferred or str(mailing_list.language)
    if wanted not in contents:
        wanted = available[0]
    return mailing_list, edition, contents[wanted], available


@router.api_route("/archive/{list_slug}/{period_key}", methods=["GET", "HEAD"])
def archive_edition(
    request: Request, list_slug: str, period_key: str, lang: str | None = None
) -> Response:
    """The "view in browser" page: our header and footer around the framed digest."""
    with _session(request) as session:
        found = _edition_and_content(
            session, list_slug, period_key, lang, preferred_language(request)
        )
        if found is None:
            return render_page(request, "not_found.html", session, status_code=404)
        mailing_list, edition, content, available = found
        base = f"/archive/{mailing_list.slug}/{edition.period_key}"
        in_language = urlencode({"lang": content.language})
        response = render_page(
            request,
            "archive_edition.html",
            session,
            preferred=content.language,
            active="archive",
            mailing_list=mailing_list,
            edition=edition,
            content=content,
            period=_period_text(edition, content.language),
            languages=[
                (
                    language,
                    LANGUAGE_NAMES.get(language, language),
                    f"{base}?{urlencode({'lang': language})}",
                )
                for language in available
            ],
            message_url=f"{base}/message.html?{in_language}",
            text_url=f"{base}/message.txt?{in_language}",
        )
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


@router.api_route("/archive/{list_slug}/{period_key}/message.html", methods=["GET", "HEAD"])
def archive_message(
    request: Request, list_slug: str, period_key: str, lang: str | None = None
) -> Response:
    """The stored digest document itself, for the frame: no scripts, sandboxed by policy."""
    with _session(request) as session:
        found = _edition_and_content(session, list_slug, period_key, lang)
    if found is None:
        return PlainTextResponse("Te strani ni.\n", status_code=404)
    document = found[2].html
    head = _HEAD.search(document)
    base = '<base target="_top">'
    if head is None:
        document = base + document
    else:
        document = document[: head.end()] + base + document[head.end() :]
    return HTMLResponse(
        document,
        headers={
            "Content-Security-Policy": MESSAGE_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "public, max-age=300",
        },
    )


@router.api_route("/archive/{list_slug}/{period_key}/message.txt", methods=["GET", "HEAD"])
def archive_text(
    request: Request, list_slug: str, period_key: str, lang: str | None = None
) -> Response:
    """The plain-text part, as sent (without the personal links)."""
    with _session(request) as session:
        found = _edition_and_content(session, list_slug, period_key, lang)
    if found is None:
        return PlainTextResponse("Te strani ni.\n", status_code=404)
    return PlainTextResponse(found[2].text, headers={"Content-Language": found[2].language})
