"""Compose a digest once per edition and language: Jinja2, then premailer, then MIME bytes.

Every mail the project sends (digests, their test copies, confirmation mails) is rendered by
:func:`render_mail`: the templates with the municipality's branding, the one stylesheet
rendered with its variables, premailer inlining it. premailer costs ~80 ms a call, so it runs
once per edition and language (or per kind of confirmation), never per recipient; what
differs per recipient is left as slots in the bytes (see ``publisher.mail.message``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

import premailer
from jinja2 import Environment

from publisher.config import Settings, SiteNames
from publisher.i18n import LANGUAGES, format_day, format_period, unbreakable_dates
from publisher.links import home_url, static_url
from publisher.mail.message import MessageTemplate, Slots, build_template, new_slots, sender_domain
from publisher.resources import TEMPLATES_DIR
from publisher.templating import template_environment
from publisher.topics import name_in
from publisher.translations import translations

PHOTO_WIDTH = 552
"""The width a photo is shown at: the 600 px column less the article's 24 px padding each side.
Outlook sizes an image by its ``width``/``height`` attributes alone, so they say this width;
other clients scale it down on phones (``max-width: 100%``)."""


@dataclass(frozen=True)
class DigestPhoto:
    """An article's photo as the digest shows it: linked from the site, never attached, so a
    digest of a dozen photos stays small; ``url`` is absolute and sharp at twice the width."""

    url: str
    width: int
    height: int
    """As shown (``width`` at most :data:`PHOTO_WIDTH`), for the ``width``/``height``
    attributes, so that the layout holds with images blocked."""
    alt: str
    caption: str = ""
    credit: str = ""

    @classmethod
    def at_column_width(
        cls, url: str, size: tuple[int, int], alt: str, caption: str = "", credit: str = ""
    ) -> DigestPhoto:
        """The photo of ``size`` (pixels) fitted to the column, never enlarged."""
        width, height = size
        shown = min(width, PHOTO_WIDTH)
        return cls(url, shown, max(1, round(height * shown / width)), alt, caption, credit)


@dataclass(frozen=True)
class DigestItem:
    """One article as the digest shows it."""

    title: str
    url: str
    published_at: datetime
    summary: str
    topics: tuple[str, ...] = ()
    photo: DigestPhoto | None = None
    """With its caption: an article without a photo shows no caption (under nothing, a
    caption reads as a broken picture)."""
    topics_en: tuple[str | None, ...] = ()
    """The English names of ``topics``, in the same order (None: the topic has none)."""

    def topics_in(self, language: str) -> tuple[str, ...]:
        """The topics' names as a reader of ``language`` sees them (English falls back to
        the Slovenian name, as on the site)."""
        english = self.topics_en or (None,) * len(self.topics)
        return tuple(
            name_in(name, en, language) for name, en in zip(self.topics, english, strict=True)
        )


@dataclass(frozen=True)
class Digest:
    """What one edition says, independent of language and recipient."""

    edition_key: str
    """Stable name of the edition, e.g. ``tedenske-novice/2025-W10`` (headers, Message-IDs)."""
    list_slug: str
    list_name: str
    period_start: date
    period_end: date
    """Inclusive."""
    items: Sequence[DigestItem]
    archive_url: str
    notes: Mapping[str, str] = field(default_factory=dict)
    """The editor's note at the top, by language; a language without one shows none."""
    is_test: bool = False
    list_name_en: str | None = None
    """The list's English name; None: English readers see ``list_name``."""

    def list_name_in(self, language: str) -> str:
        """The list's name in the subject, heading and footer of a ``language`` copy."""
        return name_in(self.list_name, self.list_name_en, language)


@dataclass(frozen=True)
class Branding:
    """The municipality's identity in every message, from the settings."""

    site_name: str
    site_url: str
    sender: str
    postal_address: str = ""
    logo_url: str | None = None
    logo_width: int = 96
    logo_height: int = 48
    brand_colour: str = "#1b4f7a"
    subject_format: str = "{list_name}, {period}"
    list_unsubscribe_mailto: str | None = None
    timezone: str = "Europe/Ljubljana"
    site_names: tuple[tuple[str, SiteNames], ...] = ()
    """The name's forms by language (``Settings.site_names``); a language not here uses
    ``site_name`` for every form."""

    def names(self, language: str) -> SiteNames:
        """The site's name as sentences in ``language`` need it."""
        return dict(self.site_names).get(
            language, SiteNames(self.site_name, self.site_name, self.site_name)
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Branding:
        return cls(
            site_name=settings.site_name,
            site_url=home_url(settings),
            sender=settings.from_address,
            postal_address=settings.postal_address,
            # The site's own logo unless another is configured: mail clients load it from
            # the public site, so it must be reachable at base_url.
            logo_url=settings.logo_url or static_url(settings, "logo.png"),
            logo_width=settings.logo_width,
            logo_height=settings.logo_height,
            subject_format=settings.digest_subject,
            list_unsubscribe_mailto=settings.list_unsubscribe_mailto,
            timezone=settings.timezone,
            brand_colour=settings.brand_colour,
            site_names=tuple((language, settings.site_names(language)) for language in LANGUAGES),
        )

    @property
    def domain(self) -> str:
        return sender_domain(self.sender)


@dataclass(frozen=True)
class ComposedDigest:
    """One edition in one language: the inlined HTML and the text (with slots), and the bytes."""

    language: str
    subject: str
    html: str
    text: str
    slots: Slots
    template: MessageTemplate = field(repr=False)

    def public_html(self, unsubscribe_url: str, preferences_url: str) -> str:
        """The HTML with no personal parts, for the public archive and the staff preview."""
        return _fill_public(self.html, self.slots, unsubscribe_url, preferences_url)

    def public_text(self, unsubscribe_url: str, preferences_url: str) -> str:
        return _fill_public(self.text, self.slots, unsubscribe_url, preferences_url)


def _fill_public(body: str, slots: Slots, unsubscribe_url: str, preferences_url: str) -> str:
    values = {
        slots.salutation_html: "",
        slots.salutation_text: "",
        slots.unsubscribe_url_html: unsubscribe_url,
        slots.unsubscribe_url_text: unsubscribe_url,
        slots.preferences_url_html: preferences_url,
        slots.preferences_url_text: preferences_url,
    }
    for slot, value in values.items():
        body = body.replace(slot, value)
    return body


@cache
def email_environment(language: str) -> Environment:
    """A Jinja2 environment per language, with that language's catalog installed."""
    return template_environment(TEMPLATES_DIR, language, keep_trailing_newline=True)


@dataclass(frozen=True)
class RenderedMail:
    """A mail's two bodies: the HTML with its styles inlined, and the text."""

    html: str
    text: str


def render_mail(
    name: str, language: str, branding: Branding, context: Mapping[str, object]
) -> RenderedMail:
    """``email/<name>.html`` and ``.txt`` in ``language``, the one way every mail is rendered.

    The branding (the name in the language's forms, the address, the logo, the colour) is
    in every template's context, and the stylesheet is rendered with the same variables
    before premailer inlines it: a stylesheet read raw would leave ``{{ brand_colour }}``
    in the CSS and the header white on white.
    """
    environment = email_environment(language)
    names = branding.names(language)
    full = {
        "language": language,
        "site_name": names.nominative,
        "site_name_genitive": names.genitive,
        "site_name_locative": names.locative,
        "site_url": branding.site_url,
        "postal_address": branding.postal_address,
        "logo_url": branding.logo_url,
        "logo_width": branding.logo_width,
        "logo_height": branding.logo_height,
        "brand_colour": branding.brand_colour,
        **context,
    }
    full["stylesheet"] = environment.get_template("email/digest.css").render(full)
    html = inline_css(environment.get_template(f"email/{name}.html").render(full))
    text = environment.get_template(f"email/{name}.txt").render(full)
    return RenderedMail(html=html, text=_BLANK_LINES.sub("\n\n", text).strip() + "\n")


def inline_css(html: str) -> str:
    """premailer, once per edition and language: styles inline, media queries kept in <style>."""
    return premailer.Premailer(
        html,
        remove_classes=False,
        keep_style_tags=False,
        strip_important=False,
        disable_validation=True,
        allow_network=False,
        # Keep the template's width/height attributes: Outlook sizes tables and images by them
        # and ignores max-width, so the 600 px container must stay 600 there.
        disable_basic_attributes=["width", "height"],
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)


_BLANK_LINES = re.compile(r"\n{3,}")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def note_paragraphs(note: str) -> list[list[str]]:
    """An editor's note (plain text) as paragraphs, split at blank lines, each a list of its
    lines: the templates escape every line and join them with line breaks."""
    return [
        [line.strip() for line in block.strip().split("\n")]
        for block in _PARAGRAPH_BREAK.split(note.replace("\r\n", "\n"))
        if block.strip()
    ]


def subject_for(digest: Digest, language: str, branding: Branding) -> str:
    period = format_period(digest.period_start, digest.period_end, language)
    subject = branding.subject_format.format(list_name=digest.list_name_in(language), period=period)
    if digest.is_test:
        # Translated: Slovenian mail says "[POSKUS]", as the admin's "poskusni izvod".
        subject = translations(language).gettext("[TEST] %(subject)s") % {"subject": subject}
    return subject


def compose_digest(digest: Digest, language: str, branding: Branding) -> ComposedDigest:
    """Render, inline and serialise one edition in one language; the per-recipient parts are
    slots to fill with :meth:`MessageTemplate.fill`."""
    tz = ZoneInfo(branding.timezone)
    slots = new_slots()
    subject = subject_for(digest, language, branding)
    context = {
        "subject": subject,
        "preheader": "; ".join(item.title for item in digest.items[:3]),
        "is_test": digest.is_test,
        "list_name": digest.list_name_in(language),
        # The period set like every date; the subject, which clients never wrap mid-date,
        # keeps plain spaces.
        "period_label": unbreakable_dates(
            format_period(digest.period_start, digest.period_end, language)
        ),
        "archive_url": digest.archive_url,
        "count": len(digest.items),
        "note": note_paragraphs(digest.notes.get(language, "")),
        "items": [
            {
                "title": item.title,
                "url": item.url,
                "date_label": format_day(item.published_at, language, tz),
                "summary": item.summary,
                "topics": item.topics_in(language),
                "photo": item.photo,
            }
            for item in digest.items
        ],
        "slots": slots,
    }
    rendered = render_mail("digest", language, branding, context)
    html, text = rendered.html, rendered.text
    headers = {
        "List-Archive": f"<{digest.archive_url}>",
        "Precedence": "bulk",
        "Auto-Submitted": "auto-generated",
        "X-Publisher-Edition": digest.edition_key,
        "Content-Language": language,
    }
    template = build_template(
        subject=subject,
        sender=branding.sender,
        text=text,
        html_body=html,
        slots=slots,
        headers=headers,
        list_unsubscribe_mailto=branding.list_unsubscribe_mailto,
        list_id=(digest.list_name_in(language), f"{digest.list_slug}.{branding.domain}"),
    )
    return ComposedDigest(
        language=language, subject=subject, html=html, text=text, slots=slots, template=template
    )
