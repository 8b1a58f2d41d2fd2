"""Confirmation mails from the web process, through the one outbox (signed, pooled, classified).

The mail goes out after the page is sent (a background task), so the answer to the subscribe
form takes the same time whether or not a mail is due: timing tells nothing either.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from publisher.clock import utcnow
from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.outbox import Outbox
from publisher.delivery.smtp import Outcome, Verdict
from publisher.links import SubscriberLinks
from publisher.mail.compose import Branding
from publisher.mail.confirmation import ConfirmationLinks, confirmation_message
from publisher.subscribers.confirmation import ConfirmationDue, forget_request

log = logging.getLogger(__name__)


class ConfirmationSender:
    def __init__(self, settings: Settings, outbox: Outbox) -> None:
        self.settings = settings
        self.outbox = outbox
        self.branding = Branding.from_settings(settings)

    def message(self, due: ConfirmationDue, links: SubscriberLinks) -> bytes:
        """The mail's bytes (cheap after the first mail in each language and set of lists)."""
        return confirmation_message(
            self.branding,
            language=str(due.language),
            list_names=due.list_names,
            days=self.settings.confirm_token_days,
            email=due.email,
            subscriber_id=due.subscriber_id,
            links=ConfirmationLinks(
                confirm_url=links.confirm(due.token_uid, due.list_id),
                unsubscribe_url=links.unsubscribe(due.token_uid, due.unsubscribe_list_id),
            ),
            now=utcnow(),
        )

    async def send(self, due: ConfirmationDue, links: SubscriberLinks, engine: Engine) -> Outcome:
        """Send one confirmation; a connection the server dropped while idle is retried once.

        If it still fails, the request's records are dropped so the resident can try again at
        once instead of waiting a day for a mail that never left.
        """
        try:
            data = await run_in_threadpool(self.message, due, links)
        except ValueError:  # a value that cannot go in a header: no mail, and no hold either
            log.exception("confirmation mail to subscriber %s not built", due.subscriber_id)
            await run_in_threadpool(_forget, engine, due)
            return Outcome(Verdict.failed, None, "refused before sending")
        outcome = await self.outbox.send(due.email, data, retry_dropped=True)
        if outcome.verdict != Verdict.sent:
            log.warning(
                "confirmation mail to subscriber %s not sent: %s %s",
                due.subscriber_id,
                outcome.code or "",
                outcome.reply,
            )
            await run_in_threadpool(_forget, engine, due)
        return outcome


def _forget(engine: Engine, due: ConfirmationDue) -> None:
    with session_scope(engine) as session:
        forget_request(session, due)
