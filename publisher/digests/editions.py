"""Editions: find or create the one edition of a (list, period), approve it, send it, report.

The CLI, the admin and the scheduler call these functions, never their own copies. The
database decides uniqueness (a unique constraint on (list, period)) and who approves (an
UPDATE that only a draft matches), so any number of callers at once create one edition and
freeze one set of recipients.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.articles.models import Article
from publisher.config import Settings
from publisher.db import conflict_insert, utcnow
from publisher.delivery import ledger
from publisher.delivery.models import JobState, SendJob
from publisher.delivery.smtp import Outcome, SmtpConfig, SmtpPool
from publisher.delivery.worker import SendWorker, Tally, WorkerConfig
from publisher.digests.content import articles_for, compose, edition_key, sample_recipient
from publisher.digests.models import Edition, EditionContent, EditionStatus
from publisher.digests.periods import Period, parse_period
from publisher.i18n import LANGUAGES
from publisher.mail.dkim import dkim_signer
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


@dataclass
class EditionPlan:
    """What sending would do, before anything is created: staff look at this first."""

    mailing_list: MailingList
    period: Period
    articles: list[Article]
    recipients: int
    edition: Edition | None = None


@dataclass
class EditionReport:
    """The state of an edition's sending, for status pages and the end of a send."""

    edition: Edition
    job: SendJob | None
    counts: Counter[str] = field(default_factory=Counter)
    top_failures: list[tuple[str, int]] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.edition.status == EditionStatus.draft:
            return "draft"
        if self.job is None:
            return "approved"
        if self.job.state == JobState.done and not sum(self.counts.values()):
            return "no recipients"
        return {"active": "sending", "done": "sent"}.get(str(self.job.state), str(self.job.state))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


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


def plan(
    session: Session, settings: Settings, mailing_list: MailingList, period: Period
) -> EditionPlan:
    """Articles and recipient count of (list, period), and the edition if one exists."""
    edition = find_edition(session, mailing_list, period)
    if edition is not None and edition.status == EditionStatus.approved:
        ids = json.loads(edition.article_ids)
        articles = list(session.execute(select(Article).where(Article.id.in_(ids))).scalars())  # type: ignore[attr-defined]
        articles.sort(key=lambda a: ids.index(a.id))
        total = ledger.counts(session, edition.job_id).total() if edition.job_id else 0
        return EditionPlan(mailing_list, period, articles, total, edition)
    articles = articles_for(session, mailing_list, period, settings)
    return EditionPlan(
        mailing_list, period, articles, count_recipients(session, mailing_list, articles), edition
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
        edition = session.get(Edition, int(text))
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
    return f"{mailing_list.slug}/{edition.period_key}"


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
    articles = articles_for(session, mailing_list, period, settings)
    if not articles:
        existing = find_edition(session, mailing_list, period)
        if existing is None or existing.status == EditionStatus.draft:
            raise NothingToSend(
                f"no articles for {mailing_list.name} in {period.key}: nothing to send"
            )
        return existing
    edition = get_or_create_edition(session, mailing_list, period)
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
        composed = compose(settings, mailing_list, period, articles, language)
        public_unsubscribe = f"{settings.base_url}/unsubscribe"
        public_preferences = f"{settings.base_url}/subscribe"
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
        name=edition_key(mailing_list, period),
        envelope_from=sender_domain_address(settings),
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


def sender_domain_address(settings: Settings) -> str:
    """The envelope sender (MAIL FROM): the From address itself, where bounces go."""
    from email.utils import parseaddr

    return parseaddr(settings.from_address)[1]


# --- sending ------------------------------------------------------------------------------


async def send_edition(
    engine: Engine,
    settings: Settings,
    edition_id: int,
    *,
    on_progress: Callable[[Tally], None] | None = None,
    config: WorkerConfig | None = None,
    worker: list[SendWorker] | None = None,
) -> Tally:
    """Send an approved edition inline until it is finished, paused or cancelled.

    ``worker`` (a list) receives the running worker, so a caller can ask it to stop.
    """
    with Session(engine) as session:
        edition = session.get(Edition, edition_id)
        if edition is None or edition.job_id is None:
            raise EditionError("the edition is not approved yet")
        job_id = edition.job_id
    sender = SendWorker(engine, settings, job_ids=[job_id], config=config, on_progress=on_progress)
    if worker is not None:
        worker.append(sender)
    return await sender.run(until_idle=True)


def report(session: Session, edition: Edition) -> EditionReport:
    job = session.get(SendJob, edition.job_id) if edition.job_id else None
    if job is None:
        return EditionReport(edition, None)
    return EditionReport(
        edition, job, ledger.counts(session, job.id or 0), ledger.top_failures(session, job.id or 0)
    )


def control(session: Session, edition: Edition, state: JobState, reason: str = "") -> EditionReport:
    """Pause, resume or cancel an edition's sending; takes effect within a second."""
    if edition.job_id is None:
        raise EditionError("the edition has not been approved, so it is not sending")
    job = ledger.get_job(session, edition.job_id)
    if job.state in (JobState.done, JobState.cancelled) and state is not JobState.cancelled:
        raise EditionError(f"the edition's sending is {job.state}; nothing to {state.value}")
    if job.state is JobState.done and state is JobState.cancelled:
        raise EditionError("the edition has been sent completely; nothing to cancel")
    ledger.set_job_state(session, edition.job_id, state, reason)
    return report(session, edition)


def retry(session: Session, edition: Edition) -> int:
    if edition.job_id is None:
        raise EditionError("the edition has not been approved, so nothing failed")
    return ledger.retry_failed(session, edition.job_id)


async def send_test(
    settings: Settings,
    mailing_list: MailingList,
    period: Period,
    articles: list[Article],
    to_address: str,
    language: str,
) -> Outcome:
    """One copy marked as a test to ``to_address``; records no delivery and no edition."""
    composed = compose(settings, mailing_list, period, articles, language, is_test=True)
    sample = sample_recipient(settings, mailing_list, period)
    recipient = Recipient(
        email=to_address,
        name=None,
        unsubscribe_url=sample.unsubscribe_url,
        preferences_url=sample.preferences_url,
        message_id=message_id_for(
            edition_key(mailing_list, period), "test", sender_domain(settings.from_address)
        ),
    )
    data = composed.template.fill(recipient, now=utcnow())
    signer = dkim_signer(settings)
    if signer is not None:
        data = signer.sign(data)
    pool = SmtpPool(replace(SmtpConfig.from_settings(settings), pool_size=1))
    try:
        return await pool.send(sender_domain_address(settings), to_address, data)
    finally:
        await pool.close()


def resolve_period(text: str | None, settings: Settings) -> Period:
    from publisher.digests.periods import current_period

    return current_period(settings.tz) if text is None else parse_period(text)


def editions_of(session: Session, mailing_list: MailingList | None = None) -> list[Edition]:
    query = select(Edition).order_by(edition_table.c.period_start.desc(), edition_table.c.id.desc())
    if mailing_list is not None:
        query = query.where(edition_table.c.list_id == mailing_list.id)
    return list(session.execute(query).scalars())
