"""The double opt-in mail: composed like a digest, once per language, filled per recipient.

It is sent while a resident waits on the subscribe page, so nothing slow may happen per
request: the Jinja2 templates ``email/confirm.html|txt`` are rendered and the mails' one
stylesheet inlined (:func:`~publisher.mail.compose.render_mail`, as for a digest) once per
(language, lists named, link lifetime) and the result is cached; each mail is then one slot
fill (:meth:`MessageTemplate.fill`), as for a digest.

The digest's slots are reused: the confirm link goes where a digest has its preferences
link (``preferences_url``) and the mail's ``List-Unsubscribe`` is a real one-click link, so a
stranger whose address was typed into the form can stop the mails with their client's button.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from publisher.mail.compose import Branding, render_mail
from publisher.mail.message import (
    MessageTemplate,
    Recipient,
    build_template,
    message_id_for,
    new_slots,
)
from publisher.translations import translations


@dataclass(frozen=True)
class ConfirmationLinks:
    confirm_url: str
    unsubscribe_url: str


def confirmation_subject(language: str, site_name: str) -> str:
    return translations(language).gettext("Confirm your subscription – %(site)s") % {
        "site": site_name
    }


@lru_cache(maxsize=64)
def confirmation_template(
    branding: Branding, language: str, list_names: tuple[str, ...], days: int
) -> MessageTemplate:
    """The serialised mail with slots; premailer runs here and nowhere per request."""
    slots = new_slots()
    subject = confirmation_subject(language, branding.names(language).nominative)
    context = {
        "subject": subject,
        "preheader": subject,
        "list_names": list_names,
        "days": days,
        "slots": slots,
    }
    rendered = render_mail("confirm", language, branding, context)
    return build_template(
        subject=subject,
        sender=branding.sender,
        text=rendered.text,
        html_body=rendered.html,
        slots=slots,
        headers={"Auto-Submitted": "auto-generated", "Content-Language": language},
    )


def confirmation_message(
    branding: Branding,
    *,
    language: str,
    list_names: Sequence[str],
    days: int,
    email: str,
    subscriber_id: int,
    links: ConfirmationLinks,
    now: datetime,
) -> bytes:
    """One resident's confirmation mail, as bytes ready for SMTP.

    It names nobody, neither in the greeting nor in ``To``: the name comes from a public form,
    so anyone could otherwise make the town hall mail their text to any address.
    """
    template = confirmation_template(branding, language, tuple(list_names), days)
    recipient = Recipient(
        email=email,
        name=None,
        unsubscribe_url=links.unsubscribe_url,
        preferences_url=links.confirm_url,
        message_id=message_id_for("confirm", subscriber_id, branding.domain),
    )
    return template.fill(recipient, now=now)
