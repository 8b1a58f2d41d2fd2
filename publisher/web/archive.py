"""The public archive: every sent digest, and its "view in browser" page.

``/archive/{list}/{period}`` is the link every digest carries (``digests.content.archive_url``).
It shows the edition as stored at approval (``EditionContent``: the public copy, with the
personal links replaced by general ones), in the list's language or the other one.

The digest is an email document: table layout and inlined CSS for mail clients, a "view in
browser" bar, a greeting and an unsubscribe footer. The page is a page of the site instead:
the note and the articles are read back out of the stored document
(:func:`publisher.mail.public_copy.read_public_copy`: text, links and photos only, never its
styles) and laid out like the rest of the site, so it is what was sent, whole, at any width.
The stored document itself stays available as sent (``…/message.html``, under its own strict
Content-Security-Policy: no scripts, no plug-ins, no forms, ``sandbox``), and so does its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from babel import negotiate_locale
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from sqlalchemy import select
from sqlmodel import Session

from publisher.digests.editions import EditionNotFound, editions_of, get_edition
from publisher.digests.models import Edition, EditionContent, EditionStatus
from publisher.i18n import LANGUAGES, format_period
from publisher.mail.public_copy import read_public_copy
from publisher.subscribers.lists import all_lists
from publisher.subscribers.models import MailingList
from publisher.web.layout import LANGUAGE_NAMES, page_language
from publisher.web.public import _render as render_page
from publisher.web.public import not_found_page

router = APIRouter()

SANDBOX = "allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
"""What the stored digest may do when opened as sent: follow its links; nothing else."""

MESSAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",  # the digest's inlined CSS, and nothing that can run
        "img-src 'self' https: data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        f"sandbox {SANDBOX}",
    ]
)


@dataclass(frozen=True)
class ArchiveItem:
    """One edition on the index, under its list's name: named by its period alone (the
    subject is the list's name and the period, so it would say the period twice)."""

    list_slug: str
    period_key: str
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
    """Past editions of every public list, newest first, their periods in the page's language."""
    language = page_language(request)
    with _session(request) as session:
        shelves = []
        for mailing_list in all_lists(session):
            if not mailing_list.public:
                continue  # its editions still open from their emails' links
            items = [
                ArchiveItem(
                    list_slug=mailing_list.slug,
                    period_key=edition.period_key,
                    period=_period_text(edition, language),
                )
                for edition in _published(session, mailing_list)
            ]
            if items:
                shelves.append(ArchiveList(mailing_list, items))
        return render_page(request, "archive.html", shelves=shelves, active="archive")


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
    """The "view in browser" page: the edition as a page of the site, made from what was sent."""
    with _session(request) as session:
        found = _edition_and_content(
            session, list_slug, period_key, lang, preferred_language(request)
        )
        if found is None:
            return not_found_page(request)
        mailing_list, edition, content, available = found
        base = f"/archive/{mailing_list.slug}/{edition.period_key}"
        in_language = urlencode({"lang": content.language})
        return render_page(
            request,
            "archive_edition.html",
            preferred=content.language,
            active="archive",
            mailing_list=mailing_list,
            edition=edition,
            content=content,
            copy=read_public_copy(content.html),
            text=content.text,
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


@router.api_route("/archive/{list_slug}/{period_key}/message.html", methods=["GET", "HEAD"])
def archive_message(
    request: Request, list_slug: str, period_key: str, lang: str | None = None
) -> Response:
    """The stored digest document itself, as sent: no scripts, sandboxed by policy."""
    with _session(request) as session:
        found = _edition_and_content(session, list_slug, period_key, lang)
    if found is None:
        return PlainTextResponse("Te strani ni.\n", status_code=404)
    document = found[2].html
    return HTMLResponse(
        document,
        headers={
            "Content-Security-Policy": MESSAGE_CSP,
            "X-Frame-Options": "DENY",
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
