"""Article text made safe for every feed reader: XML-legal characters, plain text where
readers may take text for HTML, and absolute, percent-encoded URLs."""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import nh3

from publisher.articles.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    ALLOWED_URL_SCHEMES,
    DROPPED_WITH_CONTENT,
    normalise_space,
)

_XML_ILLEGAL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
"""Characters XML 1.0 forbids (C0 controls but tab and line breaks, surrogates, U+FFFE/FFFF),
plus C1 controls and noncharacters the W3C validator warns about. Word pastes them in."""

_URL_ATTRIBUTES = frozenset({("a", "href"), ("img", "src")})
"""The only URL-valued attributes the sanitiser lets through (see ``ALLOWED_ATTRIBUTES``)."""


def xml_clean(text: str) -> str:
    """Drop characters that would make a feed not well-formed (lxml refuses them outright)."""
    return _XML_ILLEGAL.sub("", text)


_MARKUP = re.compile(r"<[A-Za-z/!?]")
"""Where an HTML parser starts a tag or comment; ``3 < 5`` starts none and stays as typed."""

_URL_KEPT = "!#$%&'()*+,/:;=?@[]~"
"""Characters a URI may hold as they are (RFC 3986 reserved, plus ``%`` of an escape made
already); every other one is percent-encoded as UTF-8."""


def plain_text(text: str) -> str:
    """``text`` with any HTML tags taken out and their words kept, for a feed's text fields.

    Readers disagree about RSS titles and Atom ``type="text"``: some show ``<b>`` as typed,
    some render it, some strip it (the W3C validator warns). A title or topic that came with
    markup reaches every reader alike as its words. Script and style lose their text too.
    """
    if not _MARKUP.search(text):
        return text
    return normalise_space(html.unescape(nh3.clean(text, tags=set())))


def percent_encoded(url: str) -> str:
    """``url`` as a valid URI: spaces and non-ASCII percent-encoded, an IDN host as ASCII.

    Office exports and partner feeds name photos ``mestni trg 1.jpg``; a space is not a URI
    character, so readers and the W3C validator refuse the link as it is.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            netloc = netloc.encode("idna").decode("ascii")
        except UnicodeError:
            netloc = quote(netloc, safe=_URL_KEPT)
    path, query, fragment = (quote(part, safe=_URL_KEPT) for part in parts[2:])
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def absolutise_urls(html: str, base: str) -> str:
    """Resolve relative ``href``/``src`` values against ``base`` (percent-encoded),
    re-sanitising as we go.

    Feed readers show entries out of the site's context, so ``/slike/trg.jpg`` would break.
    The HTML is parsed by nh3 (html5ever) with the store's own allow-list, so rewriting
    cannot undo sanitising: whatever the store refused stays refused.
    """
    if "href=" not in html and "src=" not in html:
        # Nothing to rewrite (the store's HTML is serialised by nh3: lowercase, no spaces
        # around "="), so skip the parse; most office exports have no links at all.
        return html

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if (tag, attribute) in _URL_ATTRIBUTES:
            return percent_encoded(urljoin(base, value.strip()))
        return value

    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        strip_comments=True,
        attribute_filter=rewrite,
    )
