"""A digest to compose: two articles, Slovenian first, with the project's own sample-like text."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from publisher.mail.compose import Branding, Digest, DigestItem, DigestPhoto

LJUBLJANA = ZoneInfo("Europe/Ljubljana")


def make_items(count: int) -> list[DigestItem]:
    return [
        DigestItem(
            title=f"Novica številka {n}: obnova ceste v Šmihelu",
            url=f"https://novice.example.org/articles/novica-{n}",
            published_at=datetime(2025, 3, 3 + n % 7, 9, tzinfo=LJUBLJANA),
            summary=f"Dela na cesti {n} bodo trajala dva tedna.",
        )
        for n in range(count)
    ]


@pytest.fixture
def branding() -> Branding:
    return Branding(
        site_name="Mestna občina Novo mesto",
        site_url="https://novice.example.org",
        sender="Mestna občina Novo mesto <novice@novomesto.example.org>",
        postal_address="Seidlova cesta 1, 8000 Novo mesto",
    )


@pytest.fixture
def digest() -> Digest:
    items = [
        DigestItem(
            title="Obnova Glavnega trga se nadaljuje z drugo fazo",
            url="https://novice.example.org/articles/obnova-glavnega-trga",
            published_at=datetime(2025, 3, 7, 10, 30, tzinfo=LJUBLJANA),
            summary="Gradbinci bodo v drugi fazi uredili južni del trga & pločnike.",
            photo=DigestPhoto.at_column_width(
                "https://novice.example.org/media/trg-1200.jpg",
                (1200, 800),
                alt="Gradbinci na Glavnem trgu",
                caption="Glavni trg med prvo fazo del",
            ),
            topics=("Promet", "Občina"),
        ),
        DigestItem(
            title='Knjižnica vabi: <script>alert("x")</script> „Noč knjige“',
            url="https://novice.example.org/articles/noc-knjige",
            published_at=datetime(2025, 3, 3, 8, tzinfo=LJUBLJANA),
            summary="Ob svetovnem dnevu knjige bo knjižnica odprta do polnoči.",
        ),
    ]
    return Digest(
        edition_key="tedenske-novice/2025-W10",
        list_slug="tedenske-novice",
        list_name="Tedenske novice",
        period_start=date(2025, 3, 3),
        period_end=date(2025, 3, 9),
        items=items,
        archive_url="https://novice.example.org/archive/tedenske-novice/2025-W10",
    )
