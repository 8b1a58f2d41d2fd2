"""RSS 2.0 and Atom 1.0 documents with feedgen, plus what feedgen leaves out.

feedgen writes only the ``self`` atom:link into RSS and knows nothing of RFC 5005, so two
small extensions add the paging and hub links to RSS, ``<fh:archive/>`` to archive pages,
``dc:creator`` (RSS ``author`` must be an email address) and the photo as ``media:content``
(in Atom too, for a stored photo).
"""

from __future__ import annotations

import html
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from publisher.feeds.models import Entry, FeedDocument, FeedFormat

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
DC_NS = "http://purl.org/dc/elements/1.1/"
MEDIA_NS = "http://search.yahoo.com/mrss/"
PHOTO_TYPE = "image/jpeg"
"""Every stored size is a JPEG (``publisher.media.photos.rendition_name``)."""
ICON_SIZE = "144"
"""The RSS ``<image>`` may be at most 144 pixels wide; the site icon is exactly that."""


def build_rss(doc: FeedDocument) -> bytes:
    """The document as RSS 2.0: full HTML in ``content:encoded`` beside a short description."""
    fg = _generator(doc, FeedFormat.rss)
    fg.image(
        url=doc.icon_url, title=doc.title, link=doc.home_url, width=ICON_SIZE, height=ICON_SIZE
    )
    fg.ttl(doc.ttl_minutes)
    return hex_references(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def hex_references(xml: bytes) -> bytes:
    """``&amp;`` and ``&lt;`` as ``&#x26;`` and ``&#x3C;``, as the RSS Profile and the W3C
    feed validator advise, so readers that sniff RSS text for markup take it as text.

    A pure token swap: in serialised XML every ``&`` starts a reference, so the document
    parses to exactly the same text (a typed "&amp;" was written "&amp;amp;" and stays so)."""
    return xml.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")


def build_atom(doc: FeedDocument) -> bytes:
    """The document as Atom 1.0, with RFC 5005 paging links among the feed links."""
    fg = _generator(doc, FeedFormat.atom)
    fg.icon(doc.icon_url)
    fg.logo(doc.logo_url)
    return fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)


def html_text(text: str) -> str:
    """Plain text as HTML that shows exactly that text (``<`` and ``&`` as entities)."""
    return html.escape(text, quote=False)


def _paging_links(doc: FeedDocument) -> list[tuple[str, str]]:
    links = doc.links
    found: list[tuple[str, str]] = []
    if doc.hub_url:
        found.append(("hub", doc.hub_url))
    if doc.is_archive:
        found.append(("current", links.current))
    if links.prev_archive:
        found.append(("prev-archive", links.prev_archive))
    if links.next_archive:
        found.append(("next-archive", links.next_archive))
    return found


def _generator(doc: FeedDocument, fmt: FeedFormat) -> FeedGenerator:
    fg = FeedGenerator()
    if fmt is FeedFormat.rss:
        fg.register_extension("rss_extras", _RssFeedExtras, _RssEntryExtras, atom=False)
        fg.rss_extras.configure(doc, _paging_links(doc), fmt.media_type)
    else:
        fg.register_extension(
            "atom_extras", _AtomFeedExtras, _AtomEntryExtras, atom=True, rss=False
        )
        fg.atom_extras.archive = doc.is_archive
    fg.id(doc.id)
    fg.title(doc.title)
    fg.subtitle(doc.subtitle)
    if fmt is FeedFormat.rss:
        fg.description(html_text(doc.subtitle))  # HTML by convention, as an item's
    fg.language(doc.language)
    fg.author({"name": doc.author, "uri": doc.home_url})
    fg.generator(doc.generator)
    fg.updated(doc.updated)  # deterministic: same store, same bytes, same ETag
    fg.link(href=doc.self_url, rel="self", type=fmt.media_type)
    if fmt is FeedFormat.atom:
        for rel, href in _paging_links(doc):
            fg.link(href=href, rel=rel, type=None if rel == "hub" else fmt.media_type)
    # The last link added becomes RSS <link>: the page readers visit.
    fg.link(href=doc.home_url, rel="alternate", type="text/html")
    for entry in doc.entries:
        _add_entry(fg, entry, fmt)
    return fg


def _add_entry(fg: FeedGenerator, entry: Entry, fmt: FeedFormat) -> None:
    fe = fg.add_entry(order="append")
    fe.id(entry.id)  # also the RSS guid, isPermaLink="false"
    fe.title(entry.title)
    fe.link(href=entry.url, rel="alternate", type="text/html")
    fe.published(entry.published)
    fe.updated(entry.updated)
    # An article with nothing in its body has no content and no summary element: a blank
    # one says less than none (the W3C validator warns), and the title and link remain.
    if entry.content_html:
        fe.content(entry.content_html, type="html")
    if entry.summary and fmt is FeedFormat.atom:
        fe.summary(entry.summary, type="text")
    elif entry.summary:
        # RSS <description> is HTML by convention: plain text must be escaped for HTML
        # before XML escapes it again, or a reader runs the "<script>" an editor typed.
        fe.description(html_text(entry.summary))
    for category in entry.categories:
        if fmt is FeedFormat.atom:
            fe.category(term=category.slug, label=category.name)
        else:
            fe.category(term=category.name)  # RSS has no label: show readers the name
    if fmt is FeedFormat.atom:
        fe.author({"name": entry.author})
        fe.atom_extras.entry = entry
    else:
        fe.rss_extras.entry = entry


def add_media_content(item: Any, entry: Entry) -> None:
    """The entry's photo as Media RSS ``media:content``: a stored photo with its size, type,
    caption and credit; an imported ``image_url`` as it came (URL and caption only)."""
    photo = entry.photo
    if photo is not None:
        large = photo.large
        media = etree.SubElement(
            item,
            f"{{{MEDIA_NS}}}content",
            url=large.url,
            medium="image",
            type=PHOTO_TYPE,
            width=str(large.width),
            height=str(large.height),
        )
        caption, credit = photo.caption, photo.credit
    elif entry.image_url:
        media = etree.SubElement(
            item, f"{{{MEDIA_NS}}}content", url=entry.image_url, medium="image"
        )
        caption, credit = entry.image_caption, ""
    else:
        return
    if caption:
        # Declared HTML and escaped for it: feedparser and others take it as HTML
        # whatever the type says, so the caption is text either way.
        description = etree.SubElement(media, f"{{{MEDIA_NS}}}description", type="html")
        description.text = html_text(caption)
    if credit:
        etree.SubElement(media, f"{{{MEDIA_NS}}}credit").text = credit


class _RssFeedExtras(BaseExtension):  # type: ignore[misc]
    def __init__(self) -> None:
        self.links: list[tuple[str, str]] = []
        self.media_type = ""
        self.archive = False

    def configure(self, doc: FeedDocument, links: list[tuple[str, str]], media_type: str) -> None:
        self.links = links
        self.media_type = media_type
        self.archive = doc.is_archive

    def extend_ns(self) -> dict[str, str]:
        namespaces = {"dc": DC_NS, "media": MEDIA_NS}
        if self.archive:
            namespaces["fh"] = HISTORY_NS
        return namespaces

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        for rel, href in self.links:
            link = etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=href, rel=rel)
            if rel != "hub":
                link.attrib["type"] = self.media_type
        if self.archive:
            etree.SubElement(channel, f"{{{HISTORY_NS}}}archive")
        return feed


class _RssEntryExtras(BaseEntryExtension):  # type: ignore[misc]
    def __init__(self) -> None:
        self.entry: Entry | None = None

    def extend_rss(self, item: Any) -> Any:
        entry = self.entry
        if entry is None:
            return item
        creator = etree.SubElement(item, f"{{{DC_NS}}}creator")
        creator.text = entry.author
        add_media_content(item, entry)
        return item


class _AtomFeedExtras(BaseExtension):  # type: ignore[misc]
    def __init__(self) -> None:
        self.archive = False

    def extend_ns(self) -> dict[str, str]:
        namespaces = {"media": MEDIA_NS}
        if self.archive:
            namespaces["fh"] = HISTORY_NS
        return namespaces

    def extend_atom(self, feed: Any) -> Any:
        if self.archive:
            # RFC 5005 §4: an archive document says so, and it sits before the entries.
            feed.append(etree.Element(f"{{{HISTORY_NS}}}archive"))
        return feed


class _AtomEntryExtras(BaseEntryExtension):  # type: ignore[misc]
    """A stored photo as ``media:content`` in Atom too; an imported ``image_url`` stays only
    in the content, as before."""

    def __init__(self) -> None:
        self.entry: Entry | None = None

    def extend_atom(self, item: Any) -> Any:
        if self.entry is not None and self.entry.photo is not None:
            add_media_content(item, self.entry)
        return item
