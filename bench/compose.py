"""Per-recipient cost of a composed digest vs the naive path, measured in the same run.

    python bench/compose.py [--recipients 20000] [--naive 30] [--articles 8]

Ours: render + inline + serialise once per edition and language, then fill slots per recipient.
Naive: render the templates, run premailer and build an EmailMessage for every recipient.
DKIM signing (RSA-2048 and Ed25519) is measured on its own: it is per recipient by nature.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from publisher.mail.compose import (
    Branding,
    Digest,
    DigestItem,
    compose_digest,
    email_environment,
    inline_css,
)
from publisher.mail.dkim import DkimSigner
from publisher.mail.message import Recipient, message_id_for

TZ = ZoneInfo("Europe/Ljubljana")
NOW = datetime(2025, 3, 10, 7, tzinfo=UTC)


def make_digest(articles: int) -> Digest:
    items = [
        DigestItem(
            title=f"Obnova ceste in pločnikov v četrtni skupnosti Šmihel, {n}. faza",
            url=f"https://novice.example.org/articles/obnova-{n}",
            published_at=datetime(2025, 3, 3, 9, tzinfo=TZ) + timedelta(hours=n),
            summary="Dela bodo potekala v dveh fazah, promet bo urejen izmenično enosmerno. " * 4,
            image_caption="Cesta pred začetkom del",
            topics=("Promet", "Občina"),
        )
        for n in range(articles)
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


BRANDING = Branding(
    site_name="Mestna občina Novo mesto",
    site_url="https://novice.example.org",
    sender="Mestna občina Novo mesto <novice@novomesto.example.org>",
    postal_address="Seidlova cesta 1, 8000 Novo mesto",
)


def recipient(n: int) -> Recipient:
    return Recipient(
        email=f"obcan{n}@example.org",
        name=f"Občan Številka {n}",
        unsubscribe_url=f"https://novice.example.org/unsubscribe/{n:08d}.c2lnbmF0dXJl",
        preferences_url=f"https://novice.example.org/preferences/{n:08d}.c2lnbmF0dXJl",
        message_id=message_id_for("tedenske-novice/2025-W10", n, "novomesto.example.org"),
    )


def naive_message(digest: Digest, person: Recipient) -> bytes:
    """What a straightforward sender does for every single recipient (same templates)."""
    environment = email_environment("sl")
    context = {
        "language": "sl",
        "subject": "Tedenske novice",
        "stylesheet": (environment.loader.get_source(environment, "email/digest.css")[0]),  # type: ignore[union-attr]
        "preheader": "",
        "is_test": False,
        "site_name": BRANDING.site_name,
        "site_url": BRANDING.site_url,
        "postal_address": BRANDING.postal_address,
        "logo_url": None,
        "logo_width": 160,
        "logo_height": 48,
        "list_name": digest.list_name,
        "period_label": "3.–9. marec 2025",
        "archive_url": digest.archive_url,
        "count": len(digest.items),
        "items": [
            {
                "title": i.title,
                "url": i.url,
                "date_label": "7. marec 2025",
                "summary": i.summary,
                "image_caption": i.image_caption,
                "topics": i.topics,
            }
            for i in digest.items
        ],
        "slots": {
            "salutation_html": f", {person.name}",
            "salutation_text": f", {person.name}",
            "unsubscribe_url_html": person.unsubscribe_url,
            "unsubscribe_url_text": person.unsubscribe_url,
            "preferences_url_html": person.preferences_url,
            "preferences_url_text": person.preferences_url,
        },
    }
    html = inline_css(environment.get_template("email/digest.html").render(context))
    text = environment.get_template("email/digest.txt").render(context)
    message = EmailMessage(policy=SMTP)
    message["From"] = BRANDING.sender
    message["To"] = f"{person.name} <{person.email}>"
    message["Subject"] = "Tedenske novice, 3.–9. marec 2025"
    message["Message-ID"] = f"<{person.message_id}>"
    message["List-Unsubscribe"] = f"<{person.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message.as_bytes()


def per_call(fn, count: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for n in range(count):
        fn(n)
    return (time.perf_counter() - start) / count


def dkim_signers() -> dict[str, DkimSigner]:
    return {
        "RSA-2048": DkimSigner(
            "novomesto.example.org", "s1", rsa.generate_private_key(65537, key_size=2048)
        ),
        "Ed25519": DkimSigner("novomesto.example.org", "s2", ed25519.Ed25519PrivateKey.generate()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--naive", type=int, default=30, help="recipients for the naive path")
    parser.add_argument("--articles", type=int, default=8)
    parser.add_argument("--dkim", type=int, default=300, help="messages to sign per algorithm")
    args = parser.parse_args()
    digest = make_digest(args.articles)

    compose_times = []
    for _ in range(5):
        start = time.perf_counter()
        composed = compose_digest(digest, "sl", BRANDING)
        compose_times.append(time.perf_counter() - start)
    compose_once = statistics.median(compose_times)
    template = composed.template
    size = len(template.fill(recipient(0), now=NOW))

    people = [recipient(n) for n in range(args.recipients)]  # rows as read from the register
    fill = per_call(lambda n: template.fill(people[n], now=NOW), args.recipients)
    naive = per_call(lambda n: naive_message(digest, recipient(n)), args.naive)

    print(f"digest: {args.articles} articles, {size / 1024:.1f} KiB per message")
    print(f"compose once (render + premailer + MIME):  {compose_once * 1000:8.1f} ms")
    print(
        f"ours, per recipient (fill slots):          {fill * 1e6:8.1f} µs "
        f"= {1 / fill:,.0f} messages/s on one core"
    )
    print(
        f"naive, per recipient (render+premailer+MIME): {naive * 1000:6.1f} ms "
        f"= {1 / naive:,.1f} messages/s"
    )
    print(f"ratio naive / ours per recipient:          {naive / fill:8,.0f}x")
    for recipients in (1_000, 100_000):
        total_ours = compose_once + fill * recipients
        print(
            f"  {recipients:>7,} recipients: ours {total_ours:7.2f} s, "
            f"naive {naive * recipients:9.1f} s ({naive * recipients / total_ours:,.0f}x)"
        )
    for name, signer in dkim_signers().items():
        message = template.fill(recipient(1), now=NOW)
        signing = per_call(lambda n, s=signer, m=message: s.sign(m), args.dkim)
        both = fill + signing
        print(
            f"DKIM {name:<9} signing per message:      {signing * 1e6:8.1f} µs; "
            f"fill + sign = {1 / both:,.0f} messages/s on one core"
        )


if __name__ == "__main__":
    main()
