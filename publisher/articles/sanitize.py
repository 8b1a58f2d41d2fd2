"""Turning imported text and HTML into what the store keeps: safe HTML, plain text, slugs.

Every import format goes through these functions, so an article is sanitised exactly once,
on the way in, and feeds, pages and emails can trust what they read from the store.
"""

from __future__ import annotations

import html
import re

import nh3
from inscriptis import get_text
from slugify import slugify

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p",
        "br",
        "a",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "s",
        "sub",
        "sup",
        "blockquote",
        "ul",
        "ol",
        "li",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "img",
        "table",
        "caption",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "figure",
        "figcaption",
        "hr",
        "code",
        "pre",
    }
)
"""Tags an article body may keep; ``h1`` is left out because the page title is the h1."""

ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "width", "height", "title"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "td": frozenset({"colspan", "rowspan", "scope"}),
}
"""Attributes per tag; no ``style``, ``class`` or ``on*`` anywhere, so mail clients render us
the same everywhere and nothing in a body can run."""

ALLOWED_URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto", "tel"})
"""Schemes links and images may use; relative URLs are kept, ``javascript:`` is not."""

DROPPED_WITH_CONTENT: frozenset[str] = frozenset({"script", "style"})
"""Tags removed together with their text, which is code, not prose."""

SUMMARY_LIMIT = 280
FALLBACK_SLUG = "clanek"

_MULTI_SPACE = re.compile(r"\s{2,}")
_SINGLE_SPACE_NOT_NBSP = re.compile(r"[^\S\xa0\u202f]")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_EDGE_CHARS = " \t\n\r\f\v\xa0\u2007\u202f\u200b\ufeff"


def sanitize_html(html_text: str) -> str:
    """Keep only the allow-listed markup, so imported HTML cannot run code or restyle mail."""
    return nh3.clean(
        html_text,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        strip_comments=True,
    ).strip()


def sanitized_body(raw_html: str) -> tuple[str, str]:
    """An article body as the store keeps it: sanitised HTML and the plain text rendered from
    it. Every source of HTML (JSON, feeds, the admin's Markdown) makes its body here."""
    body_html = sanitize_html(raw_html)
    return body_html, html_to_text(body_html)


def text_to_html(paragraphs: list[str]) -> str:
    """Wrap plain-text paragraphs in ``<p>``, escaping markup characters exactly once.

    Quotes are not escaped (they are harmless in element text), so „“ and »« stay readable
    in the stored HTML.
    """
    return "\n".join(
        f"<p>{html.escape(paragraph, quote=False)}</p>" for paragraph in paragraphs if paragraph
    )


def html_to_text(html_text: str) -> str:
    """Render HTML as plain text for the text part of emails and for search."""
    text = get_text(html_text)
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return _MANY_NEWLINES.sub("\n\n", text).strip()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_controls(text: str) -> str:
    """``text`` without control characters other than tab and line breaks: nobody types them,
    a terminal obeys them, PostgreSQL refuses NUL. Every article draft's texts pass here
    (:class:`publisher.articles.drafts.ArticleDraft`), and every text a parser tidies."""
    return _CONTROL.sub("", text)


def normalise_space(s: str) -> str:
    """Tidy whitespace typed in word processors without losing a deliberate NBSP, and drop
    control characters (before a slug is made from the text, say).

    A run of several whitespace characters (``"nad\\xa0 dejstvom"``) becomes one space; a
    single NBSP between words (``"7.\\xa0marca"``) is kept because it was put there on purpose.
    """
    s = without_controls(s).strip(_EDGE_CHARS)
    s = _MULTI_SPACE.sub(" ", s)
    return _SINGLE_SPACE_NOT_NBSP.sub(" ", s)


def make_summary(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """Return the first paragraph, cut at a word boundary with "…" when longer than ``limit``."""
    first = _PARAGRAPH_BREAK.split(text.strip(_EDGE_CHARS), maxsplit=1)[0]
    first = normalise_space(first)
    if len(first) <= limit:
        return first
    cut = first[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\xa0"))
    if space > 0:
        cut = cut[:space]
    return cut.rstrip(" ,;:-\u2013\u2014\xa0") + "…"


def slugify_title(title: str) -> str:
    """Make an ASCII URL slug (č→c, š→s, ž→z); never empty, so every article gets a URL."""
    return slugify(title, max_length=80, word_boundary=True) or FALLBACK_SLUG
