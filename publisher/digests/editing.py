"""Preparing a draft edition: the editor's note at the top, and which articles go in, in order.

Both are the edition's, not a resident's: they are composed once per language like the rest,
and frozen at approval with the articles (an UPDATE that matches only a draft, so a change
racing an approval loses and says so). Every change is validated here, once, for the admin
and the CLI alike, and recorded in the audit log.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import update
from sqlmodel import Session

from publisher import audit
from publisher.articles.sanitize import without_controls
from publisher.audit import AuditAction
from publisher.config import Settings
from publisher.digests.content import articles_for
from publisher.digests.editions import (
    EditionRefused,
    edition_name,
    edition_notes,
    edition_table,
    report,
)
from publisher.digests.models import Edition, EditionStatus
from publisher.digests.periods import parse_period
from publisher.i18n import LANGUAGES
from publisher.subscribers.models import MailingList

NOTE_MAX_CHARS = 1000
"""An editor's note is a short greeting or announcement, not an article."""

_STATE_SL = {
    "approved": "odobrena",
    "sending": "v pošiljanju",
    "paused": "ustavljena",
    "cancelled": "preklicana",
    "sent": "poslana",
    "no recipients": "odobrena (brez prejemnikov)",
}


class EditionChangeRefused(EditionRefused):
    """A change to a draft that cannot be made; ``reason`` in English, ``reason_sl`` for staff."""


class EditionFrozen(EditionChangeRefused):
    """The edition is approved (or sending, or sent): nothing of it changes any more."""


def clean_note(text: str) -> str:
    """The note as stored: plain text, line breaks kept (a blank line starts a paragraph),
    control characters and trailing spaces removed. Raises if it is too long."""
    lines = without_controls(text.replace("\r\n", "\n").replace("\r", "\n")).split("\n")
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip()
    cleaned = cleaned.replace("\t", " ")
    if len(cleaned) > NOTE_MAX_CHARS:
        raise EditionChangeRefused(
            f"the note has {len(cleaned)} characters; at most {NOTE_MAX_CHARS} are allowed",
            f"Uvodnik ima {len(cleaned)} znakov; dovoljenih je največ {NOTE_MAX_CHARS}.",
        )
    return cleaned


def _refuse_unless_draft(session: Session, edition: Edition) -> None:
    if edition.status == EditionStatus.draft:
        return
    state = report(session, edition).state
    name = edition_name(session, edition)
    raise EditionFrozen(
        f"edition {name} {state.described}: its articles and note were frozen at approval "
        "and cannot be changed",
        f"Izdaja {name} je {_STATE_SL.get(state, state)}: članki in uvodnik so bili ob "
        "odobritvi zamrznjeni in jih ni mogoče spremeniti.",
    )


def _store(session: Session, edition: Edition, **values: object) -> None:
    """Write ``values`` only while the edition is still a draft (an approval may have won)."""
    changed = session.execute(
        update(edition_table)
        .where(
            edition_table.c.id == edition.id, edition_table.c.status == EditionStatus.draft.value
        )
        .values(**values)
    ).rowcount
    session.refresh(edition)
    if not changed:
        _refuse_unless_draft(session, edition)


def set_edition_note(
    session: Session,
    edition: Edition,
    language: str,
    text: str,
    *,
    actor: str,
    client: str | None = None,
) -> str:
    """Set (or, with empty ``text``, remove) the draft's note in ``language``; returns the
    note as stored."""
    if language not in LANGUAGES:
        raise EditionChangeRefused(
            f"no language {language!r}; use one of {', '.join(LANGUAGES)}",
            f"Jezika {language!r} ni; izberite enega od {', '.join(LANGUAGES)}.",
        )
    _refuse_unless_draft(session, edition)
    note = clean_note(text)
    notes = edition_notes(edition)
    if notes.get(language, "") == note:
        return note
    if note:
        notes[language] = note
    else:
        notes.pop(language, None)
    _store(session, edition, notes=json.dumps(notes, ensure_ascii=False, sort_keys=True))
    audit.record(
        session,
        AuditAction.edition_note_set,
        actor=actor,
        client=client,
        subject=edition_name(session, edition),
        detail=(
            audit.detail_line(audit.NOTE_SET, language=language, count=len(note))
            if note
            else audit.detail_line(audit.NOTE_REMOVED, language=language)
        ),
    )
    return note


def choose_articles(
    session: Session,
    settings: Settings,
    edition: Edition,
    ids_in_order: list[int] | None,
    *,
    actor: str,
    client: str | None = None,
) -> list[int] | None:
    """Choose the draft's articles and their order (``None``: every article of the period,
    newest first, including any published later in it). Returns the stored choice.

    Every id must be an article of the period for the list; an empty choice is refused (an
    edition without articles sends nothing). Choosing all of them in the usual order is the
    same as no choice, and is stored as none, so later articles still join.
    """
    _refuse_unless_draft(session, edition)
    mailing_list = session.get(MailingList, edition.list_id)
    assert mailing_list is not None
    candidates = [
        article.id or 0
        for article in articles_for(
            session, mailing_list, parse_period(edition.period_key), settings
        )
    ]
    chosen: list[int] | None = None
    if ids_in_order is not None:
        chosen = list(dict.fromkeys(ids_in_order))
        if not chosen:
            raise EditionChangeRefused(
                "choose at least one article, or reset the choice to every article of the period",
                "Izberite vsaj en članek ali ponastavite izbor na vse članke obdobja.",
            )
        unknown = [article_id for article_id in chosen if article_id not in candidates]
        if unknown:
            listed = ", ".join(str(article_id) for article_id in unknown)
            raise EditionChangeRefused(
                f"not an article of {edition_name(session, edition)}: {listed} (only "
                "published articles of the period for the list can be chosen)",
                f"Med članki tega obdobja za seznam ni: {listed}. Izberete lahko le "
                "objavljene članke obdobja.",
            )
        if chosen == candidates:
            chosen = None
    stored = None if chosen is None else json.dumps(chosen)
    if stored == edition.chosen_ids:
        return chosen
    _store(session, edition, chosen_ids=stored)
    audit.record(
        session,
        AuditAction.edition_articles_chosen,
        actor=actor,
        client=client,
        subject=edition_name(session, edition),
        detail=(
            audit.detail_line(audit.EVERY_ARTICLE)
            if chosen is None
            else " ".join(str(i) for i in chosen)
        ),
    )
    return chosen
