"""Local communities: made by staff, concerned by articles an import brings, never made by one."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.articles.importing import import_sources
from publisher.articles.store import SaveOutcome, get_article, list_articles
from publisher.communities import (
    CommunityError,
    UnknownCommunity,
    communities_by_slug,
    save_community,
)

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
BRSLJIN = [[45.812, 15.150], [45.812, 15.165], [45.800, 15.165], [45.800, 15.150]]


def _export(folder: Path, name: str, title: str) -> Path:
    path = folder / name
    path.write_text(f"{title}\n\ndatum: 1. 12. 2026\n\nBesedilo novice.\n", encoding="utf-8")
    return path


@pytest.fixture
def places(engine: Engine) -> None:
    with Session(engine) as session:
        save_community(session, "brsljin", "Bršljin", polygon=BRSLJIN)
        save_community(session, "center", "Center", name_en="Town centre")
        session.commit()


def test_an_outline_is_closed_and_checked(engine: Engine) -> None:
    with Session(engine) as session:
        community, created = save_community(session, "brsljin", " Bršljin ", polygon=BRSLJIN)
        assert created and community.name == "Bršljin"
        assert community.points[0] == community.points[-1] == (45.812, 15.150)
        assert len(community.points) == 5
        for bad, said in [
            ([[45.8, 15.1], [45.8, 15.1], [45.8, 15.1]], "three different points"),
            ([[95, 15.1], [45.8, 15.2], [45.7, 15.3]], "latitude must be"),
            ([["x", 15.1], [45.8, 15.2], [45.7, 15.3]], "not a number"),
            ([[float("nan"), 15.1], [45.8, 15.2], [45.7, 15.3]], "not a number"),
            ([[45.8], [45.8, 15.2], [45.7, 15.3]], "give [latitude, longitude]"),
        ]:
            with pytest.raises(CommunityError, match=said.replace("[", r"\[")):
                save_community(session, "x", "X", polygon=bad)
        with pytest.raises(CommunityError, match="not a slug"):
            save_community(session, "Bršljin", "Bršljin")
        with pytest.raises(CommunityError, match="name: required"):
            save_community(session, "prazno", "  ")


def test_an_unknown_community_is_named_with_the_known_ones(engine: Engine, places: None) -> None:
    with Session(engine) as session, pytest.raises(UnknownCommunity) as raised:
        communities_by_slug(session, ["brsljin", "smihel"])
    assert "smihel" in str(raised.value) and "known: brsljin, center" in str(raised.value)


def test_import_files_articles_under_the_given_communities(
    engine: Engine, places: None, tmp_path: Path
) -> None:
    source = _export(tmp_path, "voda.txt", "Zapora vode v Bršljinu")
    report = import_sources(
        engine, [str(source)], tz=LJUBLJANA, add_communities=["brsljin", "center"]
    )
    assert report.count(SaveOutcome.imported) == 1
    with Session(engine) as session:
        (article,) = list_articles(session)
        assert sorted(c.slug for c in article.communities) == ["brsljin", "center"]
    # The same file again, now for the whole town: an update, not a new article.
    again = import_sources(engine, [str(source)], tz=LJUBLJANA)
    assert again.count(SaveOutcome.updated) == 1
    with Session(engine) as session:
        assert get_article(session, article.slug).communities == []


def test_an_article_naming_a_community_nobody_made_is_refused_alone(
    engine: Engine, places: None, tmp_path: Path
) -> None:
    good = _export(tmp_path, "a.txt", "Novica za vse")
    bad = _export(tmp_path, "b.txt", "Novica za Šmihel")
    from publisher.articles.importing import read_source

    parsed = read_source(bad, tz=LJUBLJANA, add_communities=["smihel"])
    assert parsed.drafts[0].communities == ["smihel"]
    report = import_sources(engine, [str(good)], tz=LJUBLJANA, add_communities=["center"])
    assert report.ok
    refused = import_sources(engine, [str(bad)], tz=LJUBLJANA, add_communities=["smihel"])
    assert not refused.ok
    (rejection,) = refused.rejections
    assert "b.txt" in str(rejection) and "unknown local community smihel" in str(rejection)
    with Session(engine) as session:
        assert [a.title for a in list_articles(session)] == ["Novica za vse"]
