"""An edition's workflow, decided in one place: plan, then resume or approve, then send.

:func:`send_or_resume` is what "send this week's digest" means wherever it is asked: the
CLI's ``digest send``, the admin's "approve & send", the API's ``POST /editions`` and the
schedule. It yields events that each shell only renders (a Rich progress bar, a redirect to
the progress page, a JSON answer, a log line); none of them compares states or picks a path
itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from publisher import audit
from publisher.audit import AuditAction
from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.runner import Senders, Sending
from publisher.delivery.worker import Tally
from publisher.digests.editions import (
    EditionPlan,
    EditionReport,
    NothingToSend,
    approve,
    plan,
    report,
)
from publisher.digests.models import Edition, EditionStatus
from publisher.digests.periods import Period
from publisher.digests.preview import Preview, preview
from publisher.i18n import LANGUAGES
from publisher.logs import event
from publisher.subscribers.models import MailingList

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Planned:
    """What the send would do; always first."""

    plan: EditionPlan


@dataclass(frozen=True)
class NoArticles:
    """The period has no articles for the list: no edition made, nothing sent. The end."""

    message: str


@dataclass(frozen=True)
class Composed:
    """A dry run's message in one language; nothing is created or sent."""

    preview: Preview


@dataclass(frozen=True)
class Declined:
    """The caller's ``confirm`` said no: nothing created, nothing sent. The end."""


@dataclass(frozen=True)
class Decided:
    """The edition this call works on is known (one of the three kinds below)."""

    report: EditionReport


@dataclass(frozen=True)
class AlreadyFinished(Decided):
    """Sent, cancelled or without recipients before this call: nothing to do. The end."""


@dataclass(frozen=True)
class Resuming(Decided):
    """Approved before (by anyone): this call joins or restarts its sending."""


@dataclass(frozen=True)
class Approved(Decided):
    """Approved by this call: articles, messages and recipients are frozen."""


@dataclass(frozen=True)
class Started:
    """A sender of this process works on the edition (started now, or already running)."""

    sending: Sending
    report: EditionReport


@dataclass(frozen=True)
class Progress:
    """How far this process's sender has come (only when the caller waits)."""

    tally: Tally
    total: int
    done_before: int
    """Recipients already done when this sender started (a resumed edition)."""

    @property
    def done(self) -> int:
        return self.done_before + self.tally.sent + self.tally.failed


@dataclass(frozen=True)
class Finished:
    """The waited-for sender ended: the edition's report, and whether it was stopped."""

    report: EditionReport
    stopped: bool
    refused: str | None = None
    """Another process sends it (SQLite allows one sender at a time); the message says which."""


SendEvent = (
    Planned
    | NoArticles
    | Composed
    | Declined
    | AlreadyFinished
    | Resuming
    | Approved
    | Started
    | Progress
    | Finished
)


def send_or_resume(
    engine: Engine,
    settings: Settings,
    senders: Senders | None,
    mailing_list: MailingList,
    period: Period,
    *,
    by: str,
    client: str | None = None,
    confirm: Callable[[EditionPlan], bool] | None = None,
    dry_run: bool = False,
    start: bool = True,
    wait: bool = False,
) -> Iterator[SendEvent]:
    """Send the edition of (list, period) once to everyone, resuming it if it was started.

    ``confirm`` is asked before approving a new edition (a terminal's "Send to 12
    recipients?"); ``dry_run`` composes and stops; ``start`` False approves and leaves the
    queue to any sender (``publisher worker``, or ``serve`` picking it up); ``wait`` follows
    the sender to its end with :class:`Progress` events. The approval and the start of
    sending are recorded in the audit log as ``by`` from ``client``.
    """
    with session_scope(engine) as session:
        planned = plan(session, settings, mailing_list, period)
        existing = planned.edition
        approved_before = existing is not None and existing.status == EditionStatus.approved
        earlier = report(session, existing) if approved_before and existing else None
        composed = (
            [preview(session, settings, planned, lang) for lang in LANGUAGES]
            if dry_run and planned.articles
            else []
        )
    yield Planned(planned)
    if not planned.articles and earlier is None:
        yield NoArticles(f"no articles for {mailing_list.name} in {period.key}: nothing to send")
        return
    if dry_run:
        for one in composed:
            yield Composed(one)
        return
    if earlier is not None:
        if earlier.state.finished:
            yield AlreadyFinished(earlier)
            return
        current = earlier
        yield Resuming(current)
    else:
        if confirm is not None and not confirm(planned):
            yield Declined()
            return
        try:
            with session_scope(engine) as session:
                edition = approve(session, settings, mailing_list, period, approved_by=by)
                current = report(session, edition)
                audit.record(
                    session,
                    AuditAction.edition_approved,
                    actor=by,
                    client=client,
                    subject=f"{mailing_list.slug}/{period.key}",
                )
        except NothingToSend as exc:
            yield NoArticles(str(exc))
            return
        event(
            log,
            "edition approved",
            edition=f"{mailing_list.slug}/{period.key}",
            recipients=current.total,
            by=by,
        )
        yield Approved(current)
        if current.state.finished:  # frozen with nobody to send to
            return
    job_id = current.edition.job_id
    if not start or senders is None or job_id is None:
        return
    sending = senders.start(job_id, by=by)
    with session_scope(engine) as session:
        audit.record(
            session,
            AuditAction.edition_send_started,
            actor=by,
            client=client,
            subject=f"{mailing_list.slug}/{period.key}",
        )
    yield Started(sending, current)
    if not wait:
        return
    for tally in sending.progress():
        yield Progress(tally, current.total, current.done)
    with session_scope(engine) as session:
        edition_row = session.get(Edition, current.edition.id)
        assert edition_row is not None
        final = report(session, edition_row, settings)
    refused = str(sending.refused) if sending.refused is not None else None
    yield Finished(final, stopped=sending.stopped, refused=refused)
