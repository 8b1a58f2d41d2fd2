"""The one rule for slugs (topics, lists): the keys that end up in URLs and file names.

A slug names a feed folder on disk (``topics/SLUG/rss.xml``) and a path in every link, so it
is checked once, here, by every entry point: the API, imports, the CLI, the admin, settings.
Names become slugs through ``publisher.articles.sanitize.slugify_title`` (č→c, š→s, ž→z);
a slug given as such is checked, never silently rewritten.
"""

from __future__ import annotations

import re

SLUG_MAX_LENGTH = 80
"""As long as the ``topic.slug`` column."""
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
"""Lower-case ASCII letters and digits in words joined by single hyphens: no dots, no slashes."""
_SLUG = re.compile(SLUG_PATTERN)


class InvalidSlug(ValueError):
    """A slug that breaks the rule; the message says what a slug may hold."""


def slug_problem(value: object) -> str | None:
    """Why ``value`` is not a slug, in the user's words, or None when it is one."""
    if not isinstance(value, str) or not value:
        return "a slug must not be empty"
    if len(value) > SLUG_MAX_LENGTH:
        return f"a slug is at most {SLUG_MAX_LENGTH} characters"
    if not _SLUG.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return (
            f"{shown!r} is not a slug: use lower-case letters (a-z), digits and single hyphens, "
            "e.g. mestni-svet"
        )
    return None


def check_slug(value: str) -> str:
    """Return ``value`` if it is a slug; raise :class:`InvalidSlug` saying why otherwise."""
    problem = slug_problem(value)
    if problem is not None:
        raise InvalidSlug(problem)
    return value
