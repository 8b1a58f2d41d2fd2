"""Article text made safe for every feed reader: XML-legal characters and absolute URLs."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import nh3

from publisher.articles.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    ALLOWED_URL_SCHEMES,
    DROPPED_WITH_CONTENT,
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


def absolutise_urls(html: str, base: str) -> str:
    """Resolve relative ``href``/``src`` values against ``base``, re-sanitising as we go.

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
            return urljoin(base, value.strip())
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
