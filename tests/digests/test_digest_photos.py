"""The digest shows each article's photo linked from the site (never attached), sized for the
600 px column, described for readers whose mail client blocks images; and stays small."""

from __future__ import annotations

import email
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.articles.drafts import ArticleDraft
from publisher.articles.store import save_draft
from publisher.config import Settings, load_settings
from publisher.db import session_scope
from publisher.digests.content import articles_for, compose
from publisher.digests.periods import parse_period
from publisher.mail.compose import PHOTO_WIDTH, ComposedDigest
from publisher.subscribers.lists import create_list, get_list
from tests.mail.test_compose import NOW, recipient
from tests.photo_support import give_photo

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
GMAIL_CLIPS_AT = 102 * 1000
"""Gmail cuts a message's HTML off past about 102 KB ("[Message clipped]")."""


def article(n: int, caption: str = "") -> ArticleDraft:
    return ArticleDraft(
        external_id=f"test:{n}",
        title=f"Novica {n}: obnova ceste v Šmihelu",
        published_at=datetime(2025, 3, 3, 8, tzinfo=LJUBLJANA) + timedelta(hours=n),
        body_html=f"<p>Besedilo {n}.</p>",
        body_text=f"Besedilo {n}.",
        summary=f"Dela na cesti {n} bodo trajala dva tedna, promet bo urejen izmenično.",
        image_caption=caption,
    )


def composed_week(engine: Engine, settings: Settings, language: str = "sl") -> ComposedDigest:
    with Session(engine) as session:
        weekly = get_list(session, "tedenske-novice")
        period = parse_period("2025-W10")
        return compose(
            settings, weekly, period, articles_for(session, weekly, period, settings), language
        )


class Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append({name: value or "" for name, value in attrs})


def photos_in(html: str) -> list[dict[str, str]]:
    parser = Images()
    parser.feed(html)
    return [image for image in parser.images if "/media/" in image["src"]]


def html_part(composed: ComposedDigest) -> bytes:
    """The HTML part of the message as it is sent (decoded from its transfer encoding)."""
    message = email.message_from_bytes(_bytes(composed), policy=default_policy)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("html",))
    assert body is not None
    return body.get_payload(decode=True)


def test_each_photo_is_linked_absolute_sized_for_the_column_and_described(
    engine: Engine,
) -> None:
    settings = load_settings()
    with session_scope(engine) as session:
        create_list(session, "tedenske-novice", "Tedenske novice")
        save_draft(session, article(1, caption="Cesta pred obnovo"))
        save_draft(session, article(2, caption="Zapora pri šoli"))
    give_photo(
        engine,
        "novica-1-obnova-ceste-v-smihelu",
        width=1600,
        height=1000,
        alt="Bager na cesti v Šmihelu",
        credit="Ana Novak",
    )
    composed = composed_week(engine, settings)
    [photo] = photos_in(composed.html)
    assert photo["src"].startswith(f"{settings.base_url}/media/")
    assert photo["src"].endswith("-1200.jpg")  # sharp at twice the column
    assert (photo["width"], photo["height"]) == (str(PHOTO_WIDTH), str(PHOTO_WIDTH * 10 // 16))
    assert photo["alt"] == "Bager na cesti v Šmihelu"
    style = photo["style"].replace(" ", "")
    for rule in ("display:block", "max-width:100%", "height:auto"):
        assert rule in style
    assert "font-family" in style and "color" in style  # the alt text, if images are blocked
    # Linked to the article, with its caption and credit under it.
    assert re.search(
        r'<a[^>]+href="[^"]+/articles/novica-1-obnova-ceste-v-smihelu"[^>]*><img', composed.html
    )
    assert "Cesta pred obnovo · Foto: Ana Novak" in composed.html
    # The other article names a photo it does not have: no caption, no "Foto:" line.
    assert "Zapora pri šoli" not in composed.html and "Zapora pri šoli" not in composed.text
    assert "Foto:" not in composed.text  # the text part shows no pictures
    # Never attached: one text part and one HTML part, nothing else.
    message = email.message_from_bytes(_bytes(composed), policy=default_policy)
    assert [part.get_content_type() for part in message.walk() if not part.is_multipart()] == [
        "text/plain",
        "text/html",
    ]


def test_the_english_digest_credits_the_photo_in_english(engine: Engine) -> None:
    settings = load_settings()
    with session_scope(engine) as session:
        create_list(session, "tedenske-novice", "Tedenske novice")
        save_draft(session, article(1))
    give_photo(engine, "novica-1-obnova-ceste-v-smihelu", alt="A digger", credit="Ana Novak")
    html = composed_week(engine, settings, "en").html
    assert "Photo: Ana Novak" in html and 'alt="A digger"' in html


def test_a_dozen_articles_with_photos_stay_under_gmails_clipping_limit(engine: Engine) -> None:
    settings = load_settings()
    with session_scope(engine) as session:
        create_list(session, "tedenske-novice", "Tedenske novice")
        for n in range(1, 13):
            save_draft(session, article(n, caption=f"Gradbišče številka {n} ob glavni cesti"))
    for n in range(1, 13):
        give_photo(
            engine,
            f"novica-{n}-obnova-ceste-v-smihelu",
            alt=f"Delavci na gradbišču številka {n} polagajo nov asfalt",
            credit="Mestna občina Novo mesto",
        )
    composed = composed_week(engine, settings)
    assert len(photos_in(composed.html)) == 12
    size = len(html_part(composed))
    assert size < GMAIL_CLIPS_AT, f"the HTML part is {size} bytes"
    assert len(_bytes(composed)) < 2 * GMAIL_CLIPS_AT  # the whole message: linked, not attached


def _bytes(composed: ComposedDigest) -> bytes:
    """One subscriber's message, as the sender sends it."""
    return composed.template.fill(recipient(), now=NOW)
