"""Dates as readers of each language write them, on the calendar day of Novo mesto, and the
same in the web pages, in mail, in the admin and in the CLI."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from publisher.config import Settings
from publisher.i18n import LANGUAGES, Language, format_day, format_moment, format_when
from publisher.mail.compose import Branding, Digest, DigestItem, compose_digest
from publisher.web.admin.render import when
from publisher.web.app import make_templates

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
PACKAGE = Path(__file__).resolve().parents[1] / "publisher"
AFTERNOON = datetime(2025, 3, 7, 13, 20, tzinfo=UTC)  # 14:20 in Ljubljana


def test_slovenian_long_date_keeps_the_day_with_its_month() -> None:
    assert format_day(datetime(2025, 3, 7, 12, tzinfo=UTC), "sl", LJUBLJANA) == "7.\xa0marec 2025"


def test_the_day_is_taken_in_the_site_time_zone() -> None:
    late_evening_utc = datetime(2025, 3, 6, 23, 30, tzinfo=UTC)  # 00:30 on 7 March in Ljubljana
    assert format_day(late_evening_utc, "sl", LJUBLJANA) == "7.\xa0marec 2025"


def test_english_dates_are_written_the_european_way() -> None:
    assert format_day(AFTERNOON, "en", LJUBLJANA) == "7\xa0March 2025"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("sl", "7.\xa03.\xa02025 ob 14.20"), ("en", "7\xa0March 2025, 14:20")],
)
def test_a_moment_reads_in_local_time_on_a_24_hour_clock(language: str, expected: str) -> None:
    assert format_moment(AFTERNOON, language, LJUBLJANA) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("sl", "7.\xa03.\xa02025 ob 14.20.05"), ("en", "7\xa0March 2025, 14:20:05")],
)
def test_the_mail_catcher_reads_a_moment_to_the_second(language: str, expected: str) -> None:
    moment = AFTERNOON.replace(second=5)
    assert format_moment(moment, language, LJUBLJANA, seconds=True) == expected


@pytest.mark.parametrize(
    ("language", "expected"), [("sl", "7.\xa0marec 2025"), ("en", "7\xa0March 2025")]
)
def test_web_pages_and_mail_date_an_article_alike(language: str, expected: str) -> None:
    settings = Settings(language=language)
    web = make_templates(settings).env.from_string("{{ moment | day }}").render(moment=AFTERNOON)
    item = DigestItem(
        title="Obnova Glavnega trga",
        url="https://novice.example.org/articles/obnova-glavnega-trga",
        published_at=AFTERNOON,
        summary="Druga faza.",
    )
    digest = Digest(
        edition_key="tedenske-novice/2025-W10",
        list_slug="tedenske-novice",
        list_name="Tedenske novice",
        period_start=date(2025, 3, 3),
        period_end=date(2025, 3, 9),
        items=[item],
        archive_url="https://novice.example.org/archive/tedenske-novice/2025-W10",
    )
    mail = compose_digest(digest, language, Branding.from_settings(settings))
    assert web == expected
    # Both keep the day and its month together with a no-break space.
    assert expected in mail.public_text("u", "p")
    assert expected in mail.public_html("u", "p").replace("&nbsp;", "\xa0")


def test_the_admin_writes_dates_with_the_same_functions() -> None:
    settings = Settings()
    assert when(settings, AFTERNOON) == format_moment(AFTERNOON, "sl", settings.tz)
    assert when(settings, AFTERNOON, with_time=False) == format_day(AFTERNOON, "sl", settings.tz)
    assert when(settings, None) == ""


def test_the_languages_are_one_fact() -> None:
    """Only ``publisher.i18n`` names the languages; everything else imports them."""
    assert LANGUAGES == tuple(Language) == ("sl", "en")
    copies = []
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE.parent).as_posix()
        if "migrations" in path.parts:
            continue  # a migration keeps the SQL it was written with
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple | ast.List | ast.Set) and {
                getattr(element, "value", None) for element in node.elts
            } == set(LANGUAGES):
                copies.append(f"{name}:{node.lineno}")
    assert copies == []


def test_only_the_one_date_module_asks_babel_for_dates() -> None:
    """Every date a reader sees comes from ``publisher.i18n``; no second formatter elsewhere."""
    elsewhere = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "i18n.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("babel.dates"):
                elsewhere.append(f"{path.relative_to(PACKAGE.parent).as_posix()}:{node.lineno}")
    assert elsewhere == []


def test_an_unknown_default_language_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="use one of sl, en"):
        Settings(language="de")


@pytest.mark.parametrize(
    ("moment", "language", "expected"),
    [
        (datetime(2025, 3, 8, 7, 0, tzinfo=LJUBLJANA), "sl", "jutri ob 7.00"),
        (datetime(2025, 3, 8, 7, 0, tzinfo=LJUBLJANA), "en", "tomorrow at 7:00"),
        (datetime(2025, 3, 7, 21, 5, tzinfo=LJUBLJANA), "sl", "danes ob 21.05"),
        (datetime(2025, 3, 7, 21, 5, tzinfo=LJUBLJANA), "en", "today at 21:05"),
        (datetime(2025, 3, 10, 7, 0, tzinfo=LJUBLJANA), "sl", "10.\xa03.\xa02025 ob 7.00"),
    ],
)
def test_a_moment_today_or_tomorrow_reads_as_people_say_it(
    moment: datetime, language: str, expected: str
) -> None:
    assert format_when(moment, language, LJUBLJANA, AFTERNOON) == expected
