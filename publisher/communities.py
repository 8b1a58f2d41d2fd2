"""The municipality's local communities (krajevne skupnosti): the parts of town news concerns.

Articles concern zero or more communities (none: the whole town) and residents choose the
communities they live in (none: everything), so the table sits beside :mod:`publisher.topics`
at the top of the package, where ``articles`` and ``subscribers`` may both import it. Each side
keeps its own link table (``article_community``, ``subscriber_community``).

A community may have an outline (a polygon of latitude/longitude points, WGS 84): the CAP feed
gives it as the alert's area. Communities are the municipality's data, made by staff; an import
never makes one (an unknown community is an error naming the known ones).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence

from sqlalchemy import Column, String, Text
from sqlmodel import Field, Session, SQLModel, col, select

from publisher.slugs import check_slug
from publisher.topics import NAME_MAX_LENGTH, clean_english_name, name_in

POLYGON_MAX_POINTS = 1000
"""The most points an outline may have (a community's boundary, simplified)."""


class Community(SQLModel, table=True):
    """A local community: ``name`` in Slovenian, ``name_en`` optional, ``slug`` in URLs."""

    __tablename__ = "community"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    name_en: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    polygon: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """JSON list of ``[latitude, longitude]`` points, the first repeated last; ``None``: no
    outline known."""

    def name_for(self, language: str) -> str:
        return name_in(self.name, self.name_en, language)

    @property
    def points(self) -> list[tuple[float, float]]:
        """The outline as (latitude, longitude) pairs, closed; empty when none is known."""
        if not self.polygon:
            return []
        return [(float(lat), float(lon)) for lat, lon in json.loads(self.polygon)]


class CommunityError(ValueError):
    """A community named or described wrongly; the message says what and how to mend it."""


class UnknownCommunity(CommunityError, LookupError):
    pass


def clean_polygon(points: Sequence[Sequence[float]] | None) -> str | None:
    """An outline as stored (JSON, closed), or ``None`` for none; a ``CommunityError`` when the
    points are not an outline: fewer than three distinct points, a value that is not a number,
    a latitude outside -90…90 or a longitude outside -180…180, more than
    :data:`POLYGON_MAX_POINTS`. Every way staff give an outline passes through here."""
    if points is None or len(points) == 0:
        return None
    if len(points) > POLYGON_MAX_POINTS:
        raise CommunityError(f"outline: at most {POLYGON_MAX_POINTS} points")
    cleaned: list[list[float]] = []
    for index, point in enumerate(points, start=1):
        if isinstance(point, str | bytes) or len(point) != 2:
            raise CommunityError(f"outline point {index}: give [latitude, longitude]")
        try:
            lat, lon = (float(value) for value in point)
        except (TypeError, ValueError):
            raise CommunityError(f"outline point {index}: not a number") from None
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise CommunityError(f"outline point {index}: not a number")
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise CommunityError(
                f"outline point {index}: latitude must be -90…90 and longitude -180…180"
            )
        cleaned.append([round(lat, 6), round(lon, 6)])
    if cleaned[0] != cleaned[-1]:
        cleaned.append(cleaned[0])
    if len({tuple(point) for point in cleaned}) < 3:
        raise CommunityError("outline: at least three different points")
    return json.dumps(cleaned)


def clean_name(value: str) -> str:
    """A Slovenian name as stored: spaces collapsed, required, at most the column's size."""
    cleaned = " ".join(str(value).split())
    if not cleaned:
        raise CommunityError("name: required")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise CommunityError(f"name: at most {NAME_MAX_LENGTH} characters")
    return cleaned


def all_communities(session: Session) -> list[Community]:
    """Every community, by Slovenian name (how residents look for theirs)."""
    return list(session.exec(select(Community).order_by(col(Community.name), col(Community.id))))


def communities_by_slug(session: Session, slugs: Iterable[str]) -> list[Community]:
    """The communities named, in order, each once; an unknown slug is an
    :class:`UnknownCommunity` naming the known ones."""
    wanted = list(dict.fromkeys(slug.strip() for slug in slugs if slug.strip()))
    if not wanted:
        return []
    found = {
        community.slug: community
        for community in session.exec(select(Community).where(col(Community.slug).in_(wanted)))
    }
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        raise unknown_community(missing, [c.slug for c in all_communities(session)])
    return [found[slug] for slug in wanted]


def unknown_community(missing: Sequence[str], known: Iterable[str]) -> UnknownCommunity:
    """The one wording of "no such community": what was asked, and what there is."""
    listed = ", ".join(sorted(known)) or "none yet"
    return UnknownCommunity(f"unknown local community {', '.join(missing)} (known: {listed})")


def save_community(
    session: Session,
    slug: str,
    name: str,
    *,
    name_en: str | None = None,
    polygon: Sequence[Sequence[float]] | None = None,
) -> tuple[Community, bool]:
    """Create the community ``slug`` or rename it / give it an outline; returns it and whether
    it was new. The slug is permanent (it is in feed URLs)."""
    try:
        checked = check_slug(slug)
    except ValueError as exc:
        raise CommunityError(str(exc)) from None
    try:
        english = clean_english_name(name_en)
    except ValueError as exc:
        raise CommunityError(str(exc)) from None
    outline = clean_polygon(polygon)
    community = session.exec(select(Community).where(Community.slug == checked)).first()
    created = community is None
    if community is None:
        community = Community(slug=checked, name=clean_name(name))
    else:
        community.name = clean_name(name)
    community.name_en = english
    if polygon is not None:
        community.polygon = outline
    session.add(community)
    session.flush()
    return community, created
