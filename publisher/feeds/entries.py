"""The one place an article becomes a feed entry; every format and page reads the result."""

from __future__ import annotations

import html
from urllib.parse import urljoin

from publisher.articles.models import Article
from publisher.articles.sanitize import make_summary
from publisher.config import Settings
from publisher.feeds.content import absolutise_urls, xml_clean
from publisher.feeds.models import Category, Entry
from publisher.links import article_url


def entry_from_article(article: Article, settings: Settings) -> Entry:
    """Map a stored article to an :class:`Entry`.

    The id is the article's ``uid``, minted once when it was first stored, so an edit, a new
    slug or a new domain never makes an aggregator show the article again as new.
    Dates are given in the site's time zone (with its offset), content with absolute URLs
    and with the photo and its caption as a ``<figure>`` when the article has a photo.
    """
    tz = settings.tz
    url = article_url(settings, article.slug)
    base = article.url if article.url and article.url.startswith(("http://", "https://")) else url
    body = absolutise_urls(article.body_html, base)
    image_url = urljoin_safe(base, article.image_url)
    caption = xml_clean(article.image_caption).strip()
    if image_url:
        body = _figure(image_url, caption) + "\n" + body
    summary = article.summary or make_summary(article.body_text)
    published = article.published_at.astimezone(tz)
    updated = max(article.updated_at, article.published_at).astimezone(tz)
    return Entry(
        id=article.uid,
        url=url,
        slug=article.slug,
        title=xml_clean(article.title).strip(),
        published=published,
        updated=updated,
        content_html=xml_clean(body),
        summary=xml_clean(summary).strip(),
        categories=tuple(
            Category(slug=topic.slug, name=xml_clean(topic.name))
            for topic in sorted(article.topics, key=lambda t: t.slug)
        ),
        image_url=image_url,
        image_caption=caption,
        author=settings.site_name,
    )


def urljoin_safe(base: str, url: str | None) -> str | None:
    """An absolute http(s) URL for ``url``, or None when it is missing or of another scheme."""
    if not url or not url.strip():
        return None
    joined = urljoin(base, url.strip())
    return joined if joined.startswith(("http://", "https://")) else None


def _figure(image_url: str, caption: str) -> str:
    alt = html.escape(caption)
    figcaption = f"<figcaption>{html.escape(caption, quote=False)}</figcaption>" if caption else ""
    return f'<figure><img src="{html.escape(image_url)}" alt="{alt}">{figcaption}</figure>'
