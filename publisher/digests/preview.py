"""The preview: an edition's message as a resident gets it, before or after sending.

One function for the CLI's ``digest preview`` and dry run and the admin's preview page. Once
an edition is approved it shows the frozen message (the bytes the senders fill), not a fresh
composition, so what staff look at is what was or will be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy

from sqlmodel import Session

from publisher.clock import utcnow
from publisher.config import Settings
from publisher.delivery import ledger
from publisher.digests.content import compose, sample_recipient
from publisher.digests.editions import EditionPlan
from publisher.digests.models import EditionStatus


@dataclass(frozen=True)
class Preview:
    """One language of the message, filled for the made-up resident of previews."""

    language: str
    subject: str
    html: str
    text: str
    data: bytes
    """The whole raw message (an ``.eml``)."""
    frozen: bool
    """True once approved: these are the bytes the edition sends."""


def preview(session: Session, settings: Settings, planned: EditionPlan, language: str) -> Preview:
    """The filled message of ``planned`` in ``language`` (frozen if approved)."""
    mailing_list, period = planned.mailing_list, planned.period
    edition = planned.edition
    frozen = edition is not None and edition.status == EditionStatus.approved and edition.job_id
    if frozen:
        assert edition is not None and edition.job_id is not None
        templates = ledger.load_templates(session, edition.job_id)
        template = templates.get(language) or next(iter(templates.values()))
    else:
        template = compose(
            settings, mailing_list, period, planned.articles, language, notes=planned.notes
        ).template
    data = template.fill(sample_recipient(settings, mailing_list, period), now=utcnow())
    parsed = message_from_bytes(data, policy=policy.default)
    parts = {
        part.get_content_type(): part.get_content().replace("\r\n", "\n")
        for part in parsed.walk()
        if part.get_content_type() in ("text/html", "text/plain")
    }
    return Preview(
        language=language,
        subject=str(parsed["Subject"]),
        html=parts.get("text/html", ""),
        text=parts.get("text/plain", ""),
        data=data,
        frozen=bool(frozen),
    )
