"""Bounces as mail servers write them: DSNs (as Postfix does), feedback reports (as RFC 5965's
example), an Exim bounce without a DSN, an out-of-office; and an edition sent to bounce."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.addresses import address_hash
from publisher.articles.drafts import ArticleDraft
from publisher.articles.store import save_draft
from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.models import Delivery
from publisher.delivery.runner import Senders
from publisher.digests.editions import approve
from publisher.digests.models import Edition
from publisher.digests.periods import parse_period
from publisher.subscribers.lists import get_list
from publisher.subscribers.models import SuppressionReason
from publisher.subscribers.suppression import suppression_of
from tests.delivery.sending_support import LIST, LJUBLJANA

BOUNCE_DOMAIN = "bounces.example.org"


def dsn(
    to: str,
    recipient: str,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 <{r}>: Recipient address rejected: User unknown",
    original_message_id: str = "",
    message_id: str | None = None,
) -> bytes:
    """A delivery status notification shaped like Postfix's, sent to ``to``."""
    boundary = secrets.token_hex(8)
    message_id = message_id or f"<{secrets.token_hex(8)}@mx.example.net>"
    headers = f"Message-ID: <{original_message_id}>\r\n" if original_message_id else ""
    return (
        "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"To: {to}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        f"Message-Id: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.example.net.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n"
        "X-Postfix-Queue-ID: 4ABCD1234\r\n"
        "Arrival-Date: Fri,  7 Mar 2025 12:00:00 +0100 (CET)\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Remote-MTA: dns; mail.example.org\r\n"
        f"Diagnostic-Code: {diagnostic.format(r=recipient)}\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Undelivered Message Headers\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "From: =?utf-8?q?Mestna_ob=C4=8Dina?= <novice@novomesto.example.org>\r\n"
        f"To: {recipient}\r\n"
        "Subject: Tedenske novice\r\n"
        f"{headers}"
        "\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def feedback_report(
    *, original_mail_from: str, recipient: str, original_message_id: str = ""
) -> bytes:
    """An abuse report (RFC 5965, as its example), with the original's headers."""
    boundary = "part1_13d.2e68ed54_boundary"
    message_id = f"Message-ID: <{original_message_id}>\r\n" if original_message_id else ""
    return (
        "From: <abusedesk@example.com>\r\n"
        "Date: Thu, 8 Mar 2005 17:40:36 EDT\r\n"
        "Subject: FW: Earn money\r\n"
        "To: <abuse@novomesto.example.org>\r\n"
        f"Message-ID: <{secrets.token_hex(8)}@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=feedback-report;\r\n"
        f'     boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\n"
        'Content-Type: text/plain; charset="US-ASCII"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n\r\n"
        "This is an email abuse report for an email message received from IP\r\n"
        "192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\n"
        "User-Agent: SomeGenerator/1.0\r\n"
        "Version: 1\r\n"
        f"Original-Mail-From: <{original_mail_from}>\r\n"
        f"Original-Rcpt-To: <{recipient}>\r\n"
        "Received-Date: Thu, 8 Mar 2005 14:00:00 EDT\r\n"
        "Source-IP: 192.0.2.1\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/rfc822\r\n"
        "Content-Disposition: inline\r\n\r\n"
        "From: <novice@novomesto.example.org>\r\n"
        f"To: <{recipient}>\r\n"
        "Subject: Tedenske novice\r\n"
        f"{message_id}"
        "Date: Thu, 8 Mar 2005 14:00:00 EDT\r\n\r\n"
        "Novice tega tedna.\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def exim_bounce(to: str, recipient: str) -> bytes:
    """What Exim sends without a DSN: words and an ``X-Failed-Recipients`` header."""
    return (
        "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\r\n"
        f"To: {to}\r\n"
        "Subject: Mail delivery failed: returning message to sender\r\n"
        f"Message-Id: <{secrets.token_hex(8)}@mx.example.net>\r\n"
        f"X-Failed-Recipients: {recipient}\r\n"
        "Auto-Submitted: auto-replied\r\n\r\n"
        "This message was created automatically by mail delivery software.\r\n\r\n"
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        f"  {recipient}\r\n"
        "    mailbox is full: retry timeout exceeded\r\n"
    ).encode()


def out_of_office(to: str, sender: str) -> bytes:
    return (
        f"From: {sender}\r\n"
        f"To: {to}\r\n"
        "Subject: Odsoten: Tedenske novice\r\n"
        f"Message-Id: <{secrets.token_hex(8)}@example.org>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "X-Autoreply: yes\r\n\r\n"
        "Do 20. marca sem na dopustu. V nujnih primerih pokličite tajništvo.\r\n"
    ).encode()


def add_week(engine: Engine, period: str, day: datetime) -> None:
    """An article in another week, so that week has an edition too."""
    with session_scope(engine) as session:
        save_draft(
            session,
            ArticleDraft(
                external_id=f"test:{period}",
                title=f"Novica tedna {period}",
                published_at=day.replace(tzinfo=LJUBLJANA),
                body_html="<p>Besedilo.</p>",
                body_text="Besedilo.",
                summary="Povzetek.",
                topics=[],
            ),
        )


def send_edition(engine: Engine, settings: Settings, period: str) -> int:
    """Approve and send one edition through the one runner; its send job's id."""
    with Session(engine) as session:
        edition = approve(
            session, settings, get_list(session, LIST), parse_period(period), approved_by="test"
        )
        session.commit()
        edition_id = edition.id
    with Session(engine) as session:
        job_id = session.get(Edition, edition_id).job_id  # type: ignore[union-attr]
    sending = Senders(engine, settings).start(job_id, by="test")
    assert sending.wait(120), "the sender did not finish"
    assert sending.error is None, sending.error
    return int(job_id or 0)


def copies(engine: Engine, job_id: int) -> dict[str, Delivery]:
    with Session(engine) as session:
        rows = session.execute(select(Delivery).where(Delivery.job_id == job_id)).scalars()
        return {row.email: row for row in rows}


def suppressed(engine: Engine, address: str) -> SuppressionReason | None:
    """Why the address is suppressed, if it is."""
    with Session(engine) as session:
        found = suppression_of(session, address_hash(address))
        return None if found is None else SuppressionReason(found.reason)
