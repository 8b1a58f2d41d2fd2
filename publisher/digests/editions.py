"""Editions: find or create the one edition of a (list, period), approve it, report on it.

The CLI, the admin, the API and the scheduler call these functions, never their own copies
(sending goes through :func:`publisher.digests.workflow.send_or_resume`). The database
decides uniqueness (a unique constraint on (list, period)) and who approves (an UPDATE that
only a draft matches), so any number of callers at once create one edition and freeze one
set of recipients.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlmodel import Session

from publisher.articles.models import Article
from publisher.articles.store import with_topics_and_photo
from publisher.clock import utcnow
from publisher.config import Settings
from publisher.db import MAX_ROW_ID, conflict_insert
from publisher.delivery import ledger, limits
from publisher.delivery.bounces import reports as bounce_reports
from publisher.delivery.limits import Hold
from publisher.delivery.models import JobState, SendJob
from publisher.delivery.outbox import Outbox, bounce_address
from publisher.delivery.smtp import Outcome, SmtpConfig
from publisher.digests.content import articles_for, compose, edition_key, sample_recipient
from publisher.digests.models import Edition, EditionContent, EditionStatus
from publisher.digests.periods import Period, parse_period
from publisher.i18n import LANGUAGES
from publisher.links import subscribe_url, unsubscribe_url
from publisher.mail.message import Recipient, message_id_for, sender_domain
from publisher.subscribers.models import MailingList
from publisher.subscribers.recipients import recipients_query

edition_table = Edition.__table__  # type: ignore[attr-defined]


class EditionError(Exception):
    """Something about an edition the user can act on; the message says what."""


class NothingToSend(EditionError):
    """The period has no articles for the list: no edition is made, nothing is sent."""


class EditionNotFound(EditionError, LookupError):
    pass


class EditionRefused(EditionError):
    """Something staff asked of an edition that cannot be done: ``reason`` is a sentence in
    English (the CLI, the API), ``reason_sl`` the same for the admin."""

    def __init__(self, reason: str, reason_sl: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reason_sl = reason_sl


@dataclass
class EditionPlan:
    """What sending would do, before anything is created: staff look at this first."""

    mailing_list: MailingList
    period: Period
    articles: list[Article]
    """What the edition carries, in its order (:func:`edition_articles`)."""
    recipients: int
    edition: Edition | None = None
    notes: dict[str, str] = field(default_factory=dict)
    """The editor's note by language (:func:`edition_notes`); a language may have none."""
    candidates: list[Article] = field(default_factory=list)
    """A draft's choice: every article of the period for the list, newest first (empty once
    approved, when nothing is chosen any more)."""


class EditionState(enum.StrEnum):
    """Where an edition is, as staff see it: its approval and its send job's state together."""

    draft = "draft"
    approved = "approved"
    """Approved, but no send job (an edition of an older version)."""
    sending = "sending"
    paused = "paused"
    cancelled = "cancelled"
    sent = "sent"
    no_recipients = "no recipients"

    @property
    def finished(self) -> bool:
        """Nothing is left to send, ever (a cancelled edition's rest is closed)."""
        return self in (EditionState.sent, EditionState.cancelled, EditionState.no_recipients)

    @property
    def described(self) -> str:
        """The state as the end of an English sentence: "Edition … has been sent completely"."""
        return _STATE_WORDS[self][0]


_STATE_WORDS = {
    EditionState.draft: ("has not been approved yet", "izdaja še ni odobrena"),
    EditionState.approved: ("is approved but not being sent", "se izdaja še ne pošilja"),
    EditionState.sending: ("is being sent", "se izdaja že pošilja"),
    EditionState.paused: ("is paused", "je pošiljanje ustavljeno"),
    EditionState.cancelled: ("has been cancelled", "je izdaja preklicana"),
    EditionState.sent: ("has been sent completely", "je izdaja že v celoti poslana"),
    EditionState.no_recipients: ("has no recipients", "izdaja nima prejemnikov"),
}
"""Each state in English ("Edition … is paused") and as the Slovenian clause after "ker"."""


class Control(enum.StrEnum):
    """What staff may ask of an approved edition's sending (the CLI, the admin, the API)."""

    pause = "pause"
    resume = "resume"
    """Also restarts the sender of a sending edition nobody sends (after a restart)."""
    cancel = "cancel"
    retry = "retry"
    """Queue the failed recipients again."""


_ALLOWED_IN = {
    Control.pause: {EditionState.sending},
    Control.resume: {EditionState.paused, EditionState.sending},
    Control.cancel: {EditionState.sending, EditionState.paused},
    Control.retry: {EditionState.sending, EditionState.paused, EditionState.sent},
}
_REFUSED = {
    Control.pause: ("Sending cannot be paused", "Pošiljanja ni mogoče ustaviti"),
    Control.resume: ("Sending cannot be resumed", "Pošiljanja ni mogoče nadaljevati"),
    Control.cancel: ("Sending cannot be cancelled", "Pošiljanja ni mogoče preklicati"),
    Control.retry: (
        "The failed recipients cannot be queued again",
        "Neuspelih prejemnikov ni mogoče znova uvrstiti v vrsto",
    ),
}


@dataclass
class EditionReport:
    """The state of an edition's sending, for status pages and the end of a send."""

    edition: Edition
    job: SendJob | None
    counts: Counter[str] = field(default_factory=Counter)
    top_failures: list[tuple[str, int]] = field(default_factory=list)
    bounces: Counter[str] = field(default_factory=Counter)
    """Copies that bounced or drew a complaint after the relay took them, by kind."""
    top_bounces: list[tuple[str, int]] = field(default_factory=list)
    held: Hold | None = None
    """A sending edition that waits for the sending window or the daily cap, and until when
    (known only where the report was asked with the settings)."""

    @property
    def state(self) -> EditionState:
        if self.edition.status == EditionStatus.draft:
            return EditionState.draft
        if self.job is None:
            return EditionState.approved
        job_state = JobState(self.job.state)
        if job_state == JobState.done:
            return EditionState.sent if self.total else EditionState.no_recipients
        return {
            JobState.active: EditionState.sending,
            JobState.paused: EditionState.paused,
            JobState.cancelled: EditionState.cancelled,
        }[job_state]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Recipients nothing more will happen to: sent, failed for good, or cancelled."""
        counts = self.counts
        return counts["sent"] + counts["failed"] + counts["cancelled"]

    @property
    def waiting(self) -> int:
        """Queued, being sent, or waiting for a retry."""
        return self.total - self.done

    def refusal(self, action: Control) -> EditionRefused | None:
        """Why ``action`` cannot be done to the edition now, or ``None`` if it can.

        The one decision the CLI, the admin (which shows only the buttons it allows) and the
        API share: a sent, cancelled or empty edition is finished and can be neither paused,
        resumed nor cancelled; only failed recipients of a sending, paused or sent edition can
        be queued again.
        """
        state = self.state
        english, slovene = _REFUSED[action]
        if state not in _ALLOWED_IN[action]:
            if action == Control.pause and state == EditionState.paused:
                why = ("it is paused already", "je pošiljanje že ustavljeno")
            else:
                why = (f"the edition {state.described}", _STATE_WORDS[state][1])
            return EditionRefused(f"{english} because {why[0]}.", f"{slovene}, ker {why[1]}.")
        if action == Control.retry and not self.counts["failed"]:
            return EditionRefused(
                "No recipient of the edition has failed, so there is nobody to queue again.",
                "Ni neuspelih prejemnikov, ki bi jih lahko poskusili znova.",
            )
        return None

    @property
    def controls(self) -> frozenset[Control]:
        """What staff may do to the edition now (:meth:`refusal` allows it)."""
        return frozenset(action for action in Control if self.refusal(action) is None)


# --- finding and planning -------------------------------------------------------------------


def _topic_ids(articles: list[Article]) -> list[int]:
    return sorted({topic.id for article in articles for topic in article.topics if topic.id})


def _recipients(session: Session, mailing_list: MailingList, articles: list[Article]):  # type: ignore[no-untyped-def]
    """Who gets this edition: confirmed on the list, not suppressed, and (if they chose
    topics) interested in at least one topic among the edition's articles."""
    return recipients_query(session, [mailing_list.id or 0], _topic_ids(articles) or None)


def count_recipients(session: Session, mailing_list: MailingList, articles: list[Article]) -> int:
    query = _recipients(session, mailing_list, articles).subquery()
    return int(session.execute(select(func.count()).select_from(query)).scalar_one())


def chosen_ids(edition: Edition | None) -> list[int] | None:
    """The ids staff chose for a draft, in their order; ``None``: every article."""
    if edition is None or edition.chosen_ids is None:
        return None
    return [int(article_id) for article_id in json.loads(edition.chosen_ids)]


def edition_notes(edition: Edition | None) -> dict[str, str]:
    """The editor's note of each language that has one (none for a language left empty)."""
    if edition is None:
        return {}
    stored = json.loads(edition.notes or "{}")
    return {language: stored[language] for language in LANGUAGES if stored.get(language)}


def _articles_by_id(session: Session, ids: list[int]) -> list[Article]:
    query = select(Article).where(Article.id.in_(ids)).options(*with_topics_and_photo())  # type: ignore[attr-defined]
    found = session.execute(query).scalars()
    by_id = {article.id: article for article in found}
    return [by_id[article_id] for article_id in ids if article_id in by_id]


def edition_articles(
    session: Session,
    settings: Settings,
    mailing_list: MailingList,
    period: Period,
    edition: Edition | None,
) -> list[Article]:
    """The articles the edition of (list, period) carries, in the order it shows them.

    The one decision the preview, approval, test copies, the schedule, the admin and the CLI
    share: an approved edition carries what was frozen; a draft with a choice carries the
    chosen articles in the chosen order, less any that left the period since (withdrawn,
    unpublished, moved); otherwise every article of the period, newest first
    (:func:`~publisher.digests.content.articles_for`).
    """
    if edition is not None and edition.status == EditionStatus.approved:
        return _articles_by_id(session, json.loads(edition.article_ids))
    candidates = articles_for(session, mailing_list, period, settings)
    chosen = chosen_ids(edition)
    if chosen is None:
        return candidates
    by_id = {article.id: article for article in candidates}
    return [by_id[article_id] for article_id in chosen if article_id in by_id]


def plan(
    session: Session, settings: Settings, mailing_list: MailingList, period: Period
) -> EditionPlan:
    """Articles and recipient count of (list, period), and the edition if one exists."""
    edition = find_edition(session, mailing_list, period)
    articles = edition_articles(session, settings, mailing_list, period, edition)
    notes = edition_notes(edition)
    if edition is not None and edition.status == EditionStatus.approved:
        total = ledger.counts(session, edition.job_id).total() if edition.job_id else 0
        return EditionPlan(mailing_list, period, articles, total, edition, notes)
    return EditionPlan(
        mailing_list,
        period,
        articles,
        count_recipients(session, mailing_list, articles),
        edition,
        notes,
        articles_for(session, mailing_list, period, settings),
    )


def find_edition(session: Session, mailing_list: MailingList, period: Period) -> Edition | None:
    query = select(Edition).where(
        edition_table.c.list_id == mailing_list.id, edition_table.c.period_key == period.key
    )
    return session.execute(query).scalars().first()


def get_edition(session: Session, key: str | int) -> Edition:
    """By id (``12``) or by name (``tedenske-novice/2025-W10``)."""
    text = str(key).strip()
    if text.isdigit():
        edition = session.get(Edition, int(text)) if int(text) <= MAX_ROW_ID else None
    else:
        list_slug, _, period_key = text.partition("/")
        query = (
            select(Edition)
            .join(MailingList, MailingList.id == edition_table.c.list_id)  # type: ignore[arg-type]
            .where(MailingList.slug == list_slug, edition_table.c.period_key == period_key)  # type: ignore[arg-type]
        )
        edition = session.execute(query).scalars().first()
    if edition is None:
        raise EditionNotFound(
            f"no edition {text!r} (use its id or LIST/PERIOD, e.g. tedenske-novice/2025-W10)"
        )
    return edition


def edition_name(session: Session, edition: Edition) -> str:
    mailing_list = session.get(MailingList, edition.list_id)
    assert mailing_list is not None
    return edition_key(mailing_list.slug, edition.period_key)


def get_or_create_edition(session: Session, mailing_list: MailingList, period: Period) -> Edition:
    """The one edition of (list, period): INSERT … ON CONFLICT DO NOTHING, then read it."""
    dialect_insert = conflict_insert(session)
    session.execute(
        dialect_insert(edition_table)
        .values(
            list_id=mailing_list.id,
            period_key=period.key,
            period_kind=period.kind.value,
            period_start=period.start,
            period_end=period.end,
            status=EditionStatus.draft.value,
            subject="",
            article_ids="[]",
            notes="{}",
            approved_by="",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["list_id", "period_key"])
    )
    edition = find_edition(session, mailing_list, period)
    assert edition is not None
    return edition


# --- approving: freeze articles, messages and recipients ------------------------------------


def approve(
    session: Session,
    settings: Settings,
    mailing_list: MailingList,
    period: Period,
    *,
    approved_by: str,
) -> Edition:
    """Create (if needed) and approve the edition: afterwards it is ready to send.

    Only one caller wins the approval (an UPDATE matching only a draft); the others get the
    approved edition back and can join the sending. Raises :class:`NothingToSend` for a
    period without articles, leaving no edition behind.
    """
    existing = find_edition(session, mailing_list, period)
    articles = edition_articles(session, settings, mailing_list, period, existing)
    if not articles:
        if existing is None or existing.status == EditionStatus.draft:
            raise NothingToSend(
                f"no articles for {mailing_list.name} in {period.key}: nothing to send"
            )
        return existing
    edition = existing or get_or_create_edition(session, mailing_list, period)
    notes = edition_notes(edition)
    won = session.execute(
        update(edition_table)
        .where(
            edition_table.c.id == edition.id, edition_table.c.status == EditionStatus.draft.value
        )
        .values(status=EditionStatus.approved.value, approved_at=utcnow(), approved_by=approved_by)
    ).rowcount
    session.refresh(edition)
    if not won:
        return edition

    templates: dict[str, tuple[bytes, str]] = {}
    for language in LANGUAGES:
        composed = compose(settings, mailing_list, period, articles, language, notes=notes)
        public_unsubscribe = unsubscribe_url(settings)
        public_preferences = subscribe_url(settings)
        session.add(
            EditionContent(
                edition_id=edition.id,
                language=language,
                subject=composed.subject,
                html=composed.public_html(public_unsubscribe, public_preferences),
                text=composed.public_text(public_unsubscribe, public_preferences),
            )
        )
        templates[language] = (composed.template.serialise(composed.slots), composed.slots.nonce)
        if language == str(mailing_list.language):
            edition.subject = composed.subject
    job = ledger.create_job(
        session,
        name=edition_key(mailing_list.slug, period.key),
        envelope_from=bounce_address(settings),
        templates=templates,
        list_id=mailing_list.id,
    )
    frozen = ledger.freeze_recipients(
        session, job.id or 0, _recipients(session, mailing_list, articles)
    )
    edition.job_id = job.id
    edition.article_ids = json.dumps([article.id for article in articles])
    session.add(edition)
    if frozen == 0:
        ledger.finish_if_done(session, job.id or 0)
    session.flush()
    return edition


def report(session: Session, edition: Edition, settings: Settings | None = None) -> EditionReport:
    """Counts, the commonest failures and, given the settings, whether the edition waits for
    the sending window or the relay's daily cap."""
    job = session.get(SendJob, edition.job_id) if edition.job_id else None
    if job is None:
        return EditionReport(edition, None)
    job_id = job.id or 0
    result = EditionReport(
        edition,
        job,
        ledger.counts(session, job_id),
        ledger.top_failures(session, job_id),
        bounce_reports.edition_counts(session, job_id),
        bounce_reports.edition_reasons(session, job_id),
    )
    if settings is not None and result.state == EditionState.sending and result.waiting:
        result.held = limits.held(session, settings, SmtpConfig.from_settings(settings).relay)
    return result


_JOB_STATES = {
    Control.pause: JobState.paused,
    Control.resume: JobState.active,
    Control.cancel: JobState.cancelled,
}


def control(session: Session, edition: Edition, action: Control, reason: str = "") -> EditionReport:
    """Pause, resume or cancel an edition's sending (takes effect within a second), or raise
    :class:`EditionRefused` saying why not (:meth:`EditionReport.refusal`)."""
    refused = report(session, edition).refusal(action)
    if refused is not None:
        raise refused
    assert edition.job_id is not None and action in _JOB_STATES
    ledger.set_job_state(session, edition.job_id, _JOB_STATES[action], reason)
    return report(session, edition)


def retry(session: Session, edition: Edition) -> int:
    """Queue the failed recipients again; how many. Raises :class:`EditionRefused` when the
    edition has none, or cannot send them (a cancelled edition stays cancelled)."""
    refused = report(session, edition).refusal(Control.retry)
    if refused is not None:
        raise refused
    assert edition.job_id is not None
    return ledger.retry_failed(session, edition.job_id)


async def send_test(
    settings: Settings, planned: EditionPlan, to_address: str, language: str
) -> Outcome:
    """One copy of ``planned`` (its articles and note) marked as a test to ``to_address``;
    records no delivery and no edition."""
    mailing_list, period = planned.mailing_list, planned.period
    composed = compose(
        settings,
        mailing_list,
        period,
        planned.articles,
        language,
        notes=planned.notes,
        is_test=True,
    )
    sample = sample_recipient(settings, mailing_list, period)
    recipient = Recipient(
        email=to_address,
        name=None,
        unsubscribe_url=sample.unsubscribe_url,
        preferences_url=sample.preferences_url,
        message_id=message_id_for(
            edition_key(mailing_list.slug, period.key),
            "test",
            sender_domain(settings.from_address),
        ),
    )
    async with Outbox(settings, pool_size=1) as outbox:
        return await outbox.send(to_address, composed.template.fill(recipient, now=utcnow()))


def resolve_period(text: str | None, settings: Settings) -> Period:
    from publisher.digests.periods import current_period

    return current_period(settings.tz) if text is None else parse_period(text)


def editions_of(session: Session, mailing_list: MailingList | None = None) -> list[Edition]:
    query = select(Edition).order_by(edition_table.c.period_start.desc(), edition_table.c.id.desc())
    if mailing_list is not None:
        query = query.where(edition_table.c.list_id == mailing_list.id)
    return list(session.execute(query).scalars())
