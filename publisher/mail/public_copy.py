"""Read an edition's public copy (the digest's HTML as stored at approval) back into its parts.

The archive shows an edition as a page of the site, not as an email in a frame: the stored
document is what was sent, so the page is made from it (never from the articles as they are
now, which may have been corrected or withdrawn since). The digest template marks each part
with a class (``templates/email/digest.html``: ``editor-note``, ``article``, ``article-date``,
``article-title``, ``photo``, ``caption``, ``summary``, ``topics``); this module reads those and
nothing else, so the mail-only parts (the "view in browser" bar, the greeting, the
unsubscribe and preferences footer, the test banner) stay behind, and so do the inlined
styles. Only text, ``http(s)`` links and image sizes come out; the page escapes them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lxml.html
from lxml.etree import ParserError, _Element

_MAX_SIZE = 4000
"""A photo's width or height as stored is at most the column's twice over; more is not ours."""


@dataclass(frozen=True)
class CopiedPhoto:
    url: str
    width: int
    height: int
    alt: str


@dataclass(frozen=True)
class CopiedArticle:
    """One article as the edition showed it when it was sent."""

    title: str
    url: str
    """The article's address, or "" if the copy's link is not a web address."""
    date_label: str
    summary: str
    topics: str = ""
    photo: CopiedPhoto | None = None
    caption: str = ""


@dataclass(frozen=True)
class PublicCopy:
    note: list[list[str]] = field(default_factory=list)
    """The editor's note: paragraphs, each a list of its lines."""
    articles: list[CopiedArticle] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.note and not self.articles


def _classed(root: _Element, name: str) -> list[_Element]:
    return list(
        root.xpath(
            "descendant-or-self::*[contains(concat(' ', normalize-space(@class), ' '), $c)]",
            c=f" {name} ",
        )
    )


def _first(root: _Element, name: str) -> _Element | None:
    found = _classed(root, name)
    return found[0] if found else None


def _text(element: _Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


def _web_address(value: str | None) -> str:
    value = (value or "").strip()
    return value if value.lower().startswith(("https://", "http://")) else ""


def _size(value: str | None) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) <= _MAX_SIZE else 0


def _lines(paragraph: _Element) -> list[str]:
    """A paragraph's lines as the template wrote them: text separated by ``<br>``."""
    lines, current = [], [paragraph.text or ""]
    for child in paragraph:
        if child.tag == "br":
            lines.append("".join(current))
            current = [child.tail or ""]
        else:
            current.append("".join(child.itertext()) + (child.tail or ""))
    lines.append("".join(current))
    return [" ".join(line.split()) for line in lines if line.strip()]


def _photo(article: _Element) -> CopiedPhoto | None:
    image = _first(article, "photo")
    if image is None or image.tag != "img":
        return None
    url = _web_address(image.get("src"))
    width, height = _size(image.get("width")), _size(image.get("height"))
    if not url or not width or not height:
        return None
    return CopiedPhoto(url, width, height, image.get("alt") or "")


def _article(element: _Element) -> CopiedArticle | None:
    heading = _first(element, "article-title")
    if heading is None:
        return None
    links = heading.xpath(".//a[@href]")
    return CopiedArticle(
        title=_text(heading),
        url=_web_address(links[0].get("href")) if links else "",
        date_label=_text(_first(element, "article-date")),
        summary=_text(_first(element, "summary")),
        topics=_text(_first(element, "topics")),
        photo=_photo(element),
        caption=_text(_first(element, "caption")),
    )


def read_public_copy(html: str) -> PublicCopy:
    """The note and the articles of a stored digest; empty if the document has none of them
    (a copy from a template that marked its parts otherwise: show its text part instead)."""
    try:
        root = lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return PublicCopy()
    note = [
        lines
        for block in _classed(root, "editor-note")
        for paragraph in block.iter("p")
        if (lines := _lines(paragraph))
    ]
    articles = [found for element in _classed(root, "article") if (found := _article(element))]
    return PublicCopy(note=note, articles=articles)
