"""Sends confirmation mails from the web process, through the digests' SMTP settings and pool.

The mail goes out after the page is sent (a background task), so the answer to the subscribe
form takes the same time whether or not a mail is due: timing tells nothing either.
aiosmtplib connections belong to the event loop that opened them, so there is one small pool
per running loop (uvicorn has one; a test client may make several).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from email.utils import parseaddr

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from publisher.config import Settings
from publisher.db import session_scope, utcnow
from publisher.delivery.smtp import Outcome, SmtpConfig, SmtpPool, Verdict
from publisher.links import SubscriberLinks
from publisher.mail.compose import Branding
from publisher.mail.confirmation import ConfirmationLinks, confirmation_message
from publisher.subscribers.confirmation import ConfirmationDue, forget_request

log = logging.getLogger(__name__)

POOL_SIZE = 2
"""Confirmations trickle in one at a time; two connections cover a burst."""


class ConfirmationSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.branding = Branding.from_settings(settings)
        self.envelope_from = parseaddr(settings.from_address)[1]
        base = SmtpConfig.from_settings(settings)
        self.config = SmtpConfig(
            host=base.host,
            port=base.port,
            tls=base.tls,
            username=base.username,
            password=base.password,
            timeout=base.timeout,
            pool_size=min(POOL_SIZE, settings.smtp_pool),
        )
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SmtpPool] = (
            weakref.WeakKeyDictionary()
        )

    def _pool(self) -> SmtpPool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = SmtpPool(self.config)
        return pool

    def message(self, due: ConfirmationDue, links: SubscriberLinks) -> bytes:
        """The mail's bytes (cheap after the first mail in each language and set of lists)."""
        return confirmation_message(
            self.branding,
            language=str(due.language),
            list_names=due.list_names,
            days=self.settings.confirm_token_days,
            email=due.email,
            name=due.name,
            subscriber_id=due.subscriber_id,
            links=ConfirmationLinks(
                confirm_url=links.confirm(due.subscriber_id, due.list_id),
                unsubscribe_url=links.unsubscribe(due.subscriber_id, due.unsubscribe_list_id),
            ),
            now=utcnow(),
        )

    async def send(self, due: ConfirmationDue, links: SubscriberLinks, engine: Engine) -> Outcome:
        """Send one confirmation; a connection the server dropped while idle is retried once.

        If it still fails, the request's records are dropped so the resident can try again at
        once instead of waiting a day for a mail that never left.
        """
        data = await run_in_threadpool(self.message, due, links)
        pool = self._pool()
        outcome = await pool.send(self.envelope_from, due.email, data)
        if outcome.verdict == Verdict.deferred and outcome.code is None:
            outcome = await pool.send(self.envelope_from, due.email, data)
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
