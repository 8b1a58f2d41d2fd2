"""The one layout of the public site: every public page (news, archive, residents' pages)
is rendered here, in ``templates/web/base.html``, with one header, one footer and one language.

A page's language is ``?lang=`` when it names one of ours, else the language the page
prefers (a subscriber's own, the edition's), else the site's. Every link the layout and the
pages make goes through ``link(path)``, which carries a language other than the site's, so a
reader who chose English stays in English from page to page. Each language has its own Jinja2
environment with that language's gettext catalog installed (the catalogs the emails use);
dates are written with :mod:`publisher.i18n` in the page's language.

The mail catcher and the admin keep their own layouts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from sqlmodel import Session

from publisher.config import Settings
from publisher.feeds.following import feed_links
from publisher.i18n import LANGUAGES, format_day, format_moment
from publisher.resources import WEB_TEMPLATES_DIR
from publisher.templating import template_environment
from publisher.topics import Topic
from publisher.translations import translations
from publisher.web.csrf import attach_csrf_cookie, csrf_token

LANGUAGE_NAMES = {"sl": "Slovenščina", "en": "English"}
"""Each language in its own words, for the language switch."""

NAV_LINE = 74
"""What the header's line holds at full width (44rem), in characters of its items' names plus
two for each item's gap. Measured: "Vse novice", five short topics, "Prijavite se" and
"English" just fit. The topics beyond go into the "More topics" menu, so the line never wraps,
whatever the language of its own words."""


@dataclass(frozen=True)
class NavTopics:
    """The header's topics: those shown in the line, and those in the "More topics" menu."""

    inline: Sequence[Topic]
    more: Sequence[Topic]


def _width(name: str) -> int:
    return len(name) + 2  # the gap after it


def split_nav(topics: Sequence[Topic], language: str) -> NavTopics:
    """The topics in order, as many in the line as fit in :data:`NAV_LINE` beside the
    layout's own words in ``language`` (and the menu's name, when there is a menu)."""
    gettext = translations(language).gettext
    other = "en" if language == "sl" else "sl"
    used = sum(_width(word) for word in (gettext("All news"), gettext("Subscribe")))
    used += _width(LANGUAGE_NAMES[other])
    names = [topic.name_for(language) for topic in topics]
    if used + sum(_width(name) for name in names) <= NAV_LINE:
        return NavTopics(inline=topics, more=())
    used += _width(gettext("More topics")) + 1  # and its arrow
    cut = 0
    while cut < len(names) and used + _width(names[cut]) <= NAV_LINE:
        used += _width(names[cut])
        cut += 1
    return NavTopics(inline=topics[:cut], more=topics[cut:])


def site_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


@pass_context
def _day(context: Context, moment: datetime) -> str:
    return format_day(moment, context["lang"], context["tz"])


@pass_context
def _moment(context: Context, value: datetime) -> str:
    return format_moment(value, context["lang"], context["tz"])


@cache
def environment(language: str) -> Environment:
    """The web templates with ``language``'s catalog installed; one per language, made once."""
    env = template_environment(WEB_TEMPLATES_DIR, language)
    env.filters["day"] = _day
    env.filters["moment"] = _moment
    return env


def page_language(request: Request, preferred: str | None = None) -> str:
    """``?lang=`` if valid, else the language the page prefers, else the site's."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return str(asked)
    if preferred in LANGUAGES:
        return str(preferred)
    return str(site_settings(request).language)


def with_language(path: str, lang: str, default: str) -> str:
    """``path`` keeping the reader's language when it is not the site's default (before a
    ``#fragment``, which the browser keeps to itself)."""
    if lang == default:
        return path
    path, hash_, fragment = path.partition("#")
    joiner = "&" if "?" in path else "?"
    return f"{path}{joiner}{urlencode({'lang': lang})}{hash_}{fragment}"


def _nav_topics(request: Request) -> list[Topic]:
    """Topics with at least one public article, for the header."""
    from publisher.articles.store import list_topics

    with Session(request.app.state.engine, expire_on_commit=False) as session:
        return [topic for topic, count in list_topics(session) if count]


def render(
    request: Request,
    template: str,
    *,
    lang: str,
    status_code: int = 200,
    private: bool = False,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """A public page in ``lang``. ``private`` pages (reached by a personal link) are never
    cached, indexed or named in a ``Referer``: their URL is the key to someone's subscription."""
    settings = site_settings(request)
    default = str(settings.language)
    other = "en" if lang == "sl" else "sl"
    query = dict(request.query_params)
    query["lang"] = other
    topics = _nav_topics(request)

    def link(path: str) -> str:
        return with_language(path, lang, default)

    site_feeds = feed_links(settings, lang)
    context.setdefault("feeds", site_feeds)
    context.setdefault("active", "")
    context.update(
        lang=lang,
        tz=settings.tz,
        site_feeds=site_feeds,
        link=link,
        site_name=settings.site_names(lang).nominative,  # English pages: the English name
        site_name_genitive=settings.site_names(lang).genitive,  # "sporočilo Mestne občine …"
        postal_address=settings.postal_address,
        privacy_url=settings.privacy_url or link("/privacy"),
        home_url=link("/"),
        subscribe_url=link("/subscribe"),
        nav=split_nav(topics, lang),
        topic_names={topic.slug: topic.name_for(lang) for topic in topics},
        switch_url=f"{request.url.path}?{urlencode(query)}",
        switch_lang=other,
        switch_label=LANGUAGE_NAMES[other],
        csrf=lambda: csrf_token(request),
        private=private,
    )
    body = environment(lang).get_template(template).render(context)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    response.headers["Content-Language"] = lang
    if private:
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
    attach_csrf_cookie(request, response)
    return response
