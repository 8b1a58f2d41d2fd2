"""The one place an article becomes a feed entry; every format and page reads the result."""

from __future__ import annotations

import html
from dataclasses import replace
from urllib.parse import urljoin

from publisher.articles.models import Article, last_changed
from publisher.articles.sanitize import make_summary
from publisher.config import Settings
from publisher.feeds.content import absolutise_urls, percent_encoded, plain_text, xml_clean
from publisher.feeds.models import Category, Entry, EntryPhoto, Picture
from publisher.links import article_url
from publisher.media.models import Photo
from publisher.media.photos import WIDTHS, photo_url, rendition_size, stored_widths
from publisher.translations import translations


def entry_from_article(article: Article, settings: Settings) -> Entry:
    """Map a stored article to an :class:`Entry`.

    The id is the article's ``uid``, minted once when it was first stored, so an edit, a new
    slug or a new domain never makes an aggregator show the article again as new.
    Dates are given in the site's time zone (with its offset), content with absolute URLs
    and with the photo and its caption as a ``<figure>`` when the article has a photo: a
    stored one (with its size and credit), else the ``image_url`` a feed import brought.
    A caption without a photo is shown nowhere: "Foto: …" under nothing reads as broken.
    """
    tz = settings.tz
    url = article_url(settings, article.slug)
    base = article.url if article.url and article.url.startswith(("http://", "https://")) else url
    body = xml_clean(absolutise_urls(article.body_html, base))
    if not article.body_text.strip() and "<img" not in body:
        body = ""  # "<p></p>" says nothing; feeds then leave content out instead of blank
    caption = xml_clean(article.image_caption).strip()
    photo = entry_photo(article, settings)
    if photo is not None:
        image_url: str | None = photo.large.url
        figure = _photo_figure(photo, translations(settings.language).gettext("Photo:"))
    else:
        image_url = urljoin_safe(base, article.image_url)
        figure = _figure(image_url, caption) if image_url else ""
    summary = article.summary or make_summary(article.body_text)
    published = article.published_at.astimezone(tz)
    updated = last_changed(article).astimezone(tz)
    return Entry(
        id=article.uid,
        url=url,
        slug=article.slug,
        title=xml_clean(article.title).strip(),
        published=published,
        updated=updated,
        content_html="\n".join(part for part in (figure, body) if part),
        summary=xml_clean(summary).strip(),
        categories=tuple(
            Category(slug=topic.slug, name=xml_clean(topic.name))
            for topic in sorted(article.topics, key=lambda t: t.slug)
        ),
        image_url=image_url,
        image_caption=caption,
        author=settings.site_name,
        body_html=body,
        photo=photo,
        edited=article.edited_at.astimezone(tz) if article.edited_at else None,
    )


def feed_entry(entry: Entry) -> Entry:
    """``entry`` as feeds carry it: title, summary, topics and author as plain text.

    The article page escapes a title as typed; a feed reader may take the same text for HTML,
    so feeds carry its words without the markup (:func:`plain_text`). A title that would be
    left empty keeps its text as typed: an entry needs one.
    """
    return replace(
        entry,
        title=plain_text(entry.title) or entry.title,
        summary=plain_text(entry.summary),
        categories=tuple(
            replace(category, name=plain_text(category.name) or category.slug)
            for category in entry.categories
        ),
        author=plain_text(entry.author),
    )


def entry_photo(article: Article, settings: Settings) -> EntryPhoto | None:
    """The stored photo of ``article`` in every size, with its words (XML-clean); None when
    it has none."""
    photo: Photo | None = article.photo
    if photo is None:
        return None
    pictures = {
        use: Picture(photo_url(settings, photo, use), *rendition_size(photo, use)) for use in WIDTHS
    }
    stored = set(stored_widths(photo))
    by_width = {
        picture.width: picture
        for picture in pictures.values()
        if not stored or picture.width in stored
    }
    caption = xml_clean(article.image_caption).strip()
    return EntryPhoto(
        large=pictures["large"],
        medium=pictures["medium"],
        thumb=pictures["thumb"],
        srcset=", ".join(f"{by_width[width].url} {width}w" for width in sorted(by_width)),
        alt=xml_clean(article.image_alt).strip() or caption,
        caption=caption,
        credit=xml_clean(article.image_credit).strip(),
    )


def urljoin_safe(base: str, url: str | None) -> str | None:
    """An absolute, percent-encoded http(s) URL for ``url``, or None when it is missing or of
    another scheme."""
    if not url or not url.strip():
        return None
    joined = urljoin(base, url.strip())
    return percent_encoded(joined) if joined.startswith(("http://", "https://")) else None


def _figure(image_url: str, caption: str) -> str:
    alt = html.escape(caption)
    figcaption = f"<figcaption>{html.escape(caption, quote=False)}</figcaption>" if caption else ""
    return f'<figure><img src="{html.escape(image_url)}" alt="{alt}">{figcaption}</figure>'


def _photo_figure(photo: EntryPhoto, credit_label: str) -> str:
    """The stored photo at the top of a feed entry: sized, so readers lay it out at once."""
    large = photo.large
    words = [html.escape(photo.caption, quote=False)] if photo.caption else []
    if photo.credit:
        words.append(f"{html.escape(credit_label)} {html.escape(photo.credit, quote=False)}")
    figcaption = f"<figcaption>{' · '.join(words)}</figcaption>" if words else ""
    return (
        f'<figure><img src="{html.escape(large.url)}" alt="{html.escape(photo.alt)}" '
        f'width="{large.width}" height="{large.height}">{figcaption}</figure>'
    )
