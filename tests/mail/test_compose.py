"""The composed digest as a mail client and a mailbox provider see it."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest
from lxml import html as lxml_html

from publisher.i18n import format_period
from publisher.mail.compose import Branding, Digest, compose_digest
from publisher.mail.message import Recipient, downgrade_to_7bit, message_id_for
from tests.mail.conftest import make_items

NOW = datetime(2025, 3, 10, 7, 0, tzinfo=UTC)


def recipient(n: int = 1, name: str | None = "Ana Žagar", email: str = "ana@example.org"):
    return Recipient(
        email=email,
        name=name,
        unsubscribe_url=f"https://novice.example.org/unsubscribe/tok.en-{n}_x",
        preferences_url=f"https://novice.example.org/preferences/pref-{n}",
        message_id=message_id_for("tedenske-novice/2025-W10", n, "novomesto.example.org"),
    )


def parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text_part, html_part = message.iter_parts()
    assert text_part.get_content_type() == "text/plain"
    assert html_part.get_content_type() == "text/html"
    assert text_part.get_content_charset() == html_part.get_content_charset() == "utf-8"
    # 8bit parts keep the wire's CRLF; compare text as a reader sees it.
    return tuple(p.get_content().replace("\r\n", "\n") for p in (text_part, html_part))


def test_message_has_every_header_bulk_senders_need(digest: Digest, branding: Branding) -> None:
    composed = compose_digest(digest, "sl", branding)
    data = composed.template.fill(recipient(), now=NOW)
    message = parse(data)
    assert message["Subject"] == "Tedenske novice, 3.–9. marec 2025"
    assert message["From"].addresses[0].display_name == "Mestna občina Novo mesto"
    assert message["To"].addresses[0].display_name == "Ana Žagar"
    assert message["To"].addresses[0].addr_spec == "ana@example.org"
    assert parsedate_to_datetime(message["Date"]) == NOW
    assert re.fullmatch(
        r"<tedenske-novice\.2025-W10\.1\.[0-9a-f]{12}@novomesto\.example\.org>",
        message["Message-ID"],
    )
    assert message["List-Id"] == "Tedenske novice <tedenske-novice.novomesto.example.org>"
    assert message["List-Unsubscribe"] == "<https://novice.example.org/unsubscribe/tok.en-1_x>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Precedence"] == "bulk"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Publisher-Edition"] == "tedenske-novice/2025-W10"
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    assert not message.defects


def test_raw_bytes_follow_smtp_rules(digest: Digest, branding: Branding) -> None:
    long_summary = "Zelo dolg odstavek brez preloma. " * 200
    digest = replace(digest, items=[replace(digest.items[0], summary=long_summary)])
    data = compose_digest(digest, "sl", branding).template.fill(recipient(), now=NOW)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    head = data.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # headers are pure ASCII: RFC 2047 for č, š, ž
    assert b"=?utf-8?" in head


def test_text_part_comes_first_and_is_real_text(digest: Digest, branding: Branding) -> None:
    text, _ = parts(
        parse(compose_digest(digest, "sl", branding).template.fill(recipient(), now=NOW))
    )
    assert text.startswith("Mestna občina Novo mesto\nTedenske novice, 3.–9.\u00a0marec 2025")
    assert "Pozdravljeni, Ana Žagar!" in text
    assert "1. Obnova Glavnega trga se nadaljuje z drugo fazo" in text
    assert "7.\u00a0marec 2025" in text and "3.\u00a0marec 2025" in text  # day, month together
    assert "Preberite več: https://novice.example.org/articles/obnova-glavnega-trga" in text
    assert "Odjava od novic: https://novice.example.org/unsubscribe/tok.en-1_x" in text
    assert "Nastavitve prejemanja: https://novice.example.org/preferences/pref-1" in text
    assert "<p" not in text and "&amp;" not in text
    assert "& pločnike" in text


def test_html_is_inlined_slovenian_and_escapes_hostile_text(
    digest: Digest, branding: Branding
) -> None:
    _, html = parts(
        parse(
            compose_digest(digest, "sl", branding).template.fill(
                recipient(name="<b>Ana</b>"), now=NOW
            )
        )
    )
    document = lxml_html.fromstring(html)
    assert document.get("lang") == "sl"
    styled_by_class_only = [
        el.tag
        for el in document.iter()
        if el.get("class") and not el.get("style") and el.tag not in {"html", "body"}
    ]
    assert styled_by_class_only == []
    for style in document.iter("style"):  # only refinements stay in <style>: media queries
        assert style.text.strip().startswith("@media")
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "Pozdravljeni, &lt;b&gt;Ana&lt;/b&gt;!" in html
    assert "„Noč knjige“" in html
    assert "7.\u00a0marec 2025" in html
    links = {a.text_content().strip(): a.get("href") for a in document.iter("a")}
    assert links["Odjava od novic"] == "https://novice.example.org/unsubscribe/tok.en-1_x"
    assert links["Nastavitve prejemanja"] == "https://novice.example.org/preferences/pref-1"
    assert links["Odprite v brskalniku"] == digest.archive_url
    assert document.xpath("//table[@width='600']")


def test_crlf_in_a_name_never_creates_a_header(digest: Digest, branding: Branding) -> None:
    hostile = recipient(name="Ana\r\nBcc: tat@example.com\r\n\r\nTelo")
    message = parse(compose_digest(digest, "sl", branding).template.fill(hostile, now=NOW))
    assert message["Bcc"] is None
    assert [a.addr_spec for a in message["To"].addresses] == ["ana@example.org"]
    assert message.get_content_type() == "multipart/alternative"


def test_header_injection_in_address_or_url_is_refused(digest: Digest, branding: Branding) -> None:
    template = compose_digest(digest, "sl", branding).template
    with pytest.raises(ValueError):
        template.fill(recipient(email="ana@example.org\r\nBcc: x@y.org"), now=NOW)
    with pytest.raises(ValueError):
        template.fill(replace(recipient(), unsubscribe_url="https://x.org/u\r\nBcc: x"), now=NOW)


def test_each_recipient_gets_own_values_and_no_slot_survives(
    digest: Digest, branding: Branding
) -> None:
    template = compose_digest(digest, "sl", branding).template
    first = template.fill(recipient(1), now=NOW)
    second = template.fill(recipient(2, name=None, email="bojan@example.org"), now=NOW)
    assert b"@@" not in first and b"@@" not in second
    assert parse(first)["Message-ID"] != parse(second)["Message-ID"]
    text, html = parts(parse(second))
    assert "Pozdravljeni!" in text and "Pozdravljeni!" in html
    assert "tok.en-2_x" in text and "tok.en-1_x" not in text
    assert parse(second)["To"] == "bojan@example.org"


def test_article_text_cannot_forge_a_slot(digest: Digest, branding: Branding) -> None:
    composed = compose_digest(digest, "sl", branding)
    forged = f"@@{'0' * 16}-unsubscribe_url_text@@"
    digest = replace(digest, items=[replace(digest.items[0], summary=forged)])
    data = compose_digest(digest, "sl", branding).template.fill(recipient(), now=NOW)
    assert forged.encode() in data
    assert composed.slots.nonce not in forged


def test_english_edition(digest: Digest, branding: Branding) -> None:
    composed = compose_digest(digest, "en", branding)
    message = parse(composed.template.fill(recipient(), now=NOW))
    text, html = parts(message)
    assert message["Subject"] == "Tedenske novice, 3–9 March 2025"
    assert "Hello, Ana Žagar!" in text and "Read more: https://" in text
    assert "7\u00a0March 2025" in html and 'lang="en"' in html
    assert "Unsubscribe: https://novice.example.org/unsubscribe/tok.en-1_x" in text


@pytest.mark.parametrize(
    ("count", "phrase"),
    [
        (1, "1 članek"),
        (2, "2 članka"),
        (3, "3 članki"),
        (4, "4 članki"),
        (5, "5 člankov"),
        (101, "101 članek"),
        (102, "102 članka"),
    ],
)
def test_slovenian_counts_use_all_four_plural_forms(
    digest: Digest, branding: Branding, count: int, phrase: str
) -> None:
    composed = compose_digest(replace(digest, items=make_items(count)), "sl", branding)
    assert f"V tej izdaji: {phrase}\n" in composed.text


@pytest.mark.parametrize(
    ("start", "end", "language", "label"),
    [
        ((2025, 3, 3), (2025, 3, 9), "sl", "3.–9. marec 2025"),
        ((2025, 2, 24), (2025, 3, 2), "sl", "24. februar – 2. marec 2025"),
        ((2024, 12, 30), (2025, 1, 5), "sl", "30. december 2024 – 5. januar 2025"),
        ((2025, 3, 1), (2025, 3, 31), "en", "1–31 March 2025"),
        ((2025, 3, 7), (2025, 3, 7), "sl", "7. marec 2025"),
    ],
)
def test_period_labels_read_as_people_write_them(start, end, language, label) -> None:
    from datetime import date

    assert format_period(date(*start), date(*end), language) == label


def test_test_copy_is_marked(digest: Digest, branding: Branding) -> None:
    composed = compose_digest(replace(digest, is_test=True), "sl", branding)
    assert composed.subject == "[POSKUS] Tedenske novice, 3.–9. marec 2025"
    assert "POSKUSNI IZVOD" in composed.html and "POSKUSNI IZVOD" in composed.text
    english = compose_digest(replace(digest, is_test=True), "en", branding)
    assert english.subject == "[TEST] Tedenske novice, 3–9 March 2025"


def test_public_copy_has_no_personal_parts(digest: Digest, branding: Branding) -> None:
    composed = compose_digest(digest, "sl", branding)
    public = composed.public_html("https://novice.example.org/odjava", "https://x.org/nastavitve")
    assert "@@" not in public
    assert "Pozdravljeni!" in public


def test_message_survives_downgrade_to_quoted_printable(digest: Digest, branding: Branding) -> None:
    data = compose_digest(digest, "sl", branding).template.fill(recipient(), now=NOW)
    seven_bit = downgrade_to_7bit(data)
    assert all(byte < 128 for byte in seven_bit)
    assert parts(parse(seven_bit)) == parts(parse(data))
    assert parse(seven_bit)["Subject"] == parse(data)["Subject"]


def test_logo_and_colour_come_from_settings(digest: Digest, branding: Branding) -> None:
    styled = replace(
        branding, brand_colour="#aa0000", logo_url="https://novice.example.org/static/logo.png"
    )
    html = compose_digest(digest, "sl", styled).html
    document = lxml_html.fromstring(html)
    [logo] = document.xpath("//img[@class='logo']")
    assert logo.get("src") == "https://novice.example.org/static/logo.png"
    assert logo.get("alt") == "Mestna občina Novo mesto"
    assert (logo.get("width"), logo.get("height")) == ("96", "48")
    masthead = document.xpath("//td[contains(@class, 'masthead')]")[0].get("style")
    assert "#a00" in masthead.lower()  # premailer writes #aa0000 in its short form
    assert "1b4f7a" not in html.lower()


def list_id_of(data: bytes) -> tuple[str, str]:
    """(phrase, list id) of the List-Id header, read the way RFC 2919 and RFC 2047 say."""
    head = data.split(b"\r\n\r\n")[0].decode("ascii").replace("\r\n ", " ")
    line = next(line for line in head.split("\r\n") if line.startswith("List-Id:"))
    found = re.fullmatch(r'List-Id: (?P<phrase>"(?:[^"\\]|\\.)*"|[^"<>]*?) <(?P<id>[^<>"]+)>', line)
    assert found, line
    phrase = found["phrase"]
    if phrase.startswith('"'):
        return re.sub(r"\\(.)", r"\1", phrase[1:-1]), found["id"]
    return str(make_header(decode_header(phrase))), found["id"]


@pytest.mark.parametrize(
    "name",
    ["Tedenske novice", 'Novice <b>"Mestna"</b> \\ konec', 'Novice <script>, občina "Novo mesto"'],
)
def test_list_id_carries_the_list_name_as_a_phrase_never_as_markup(
    digest: Digest, branding: Branding, name: str
) -> None:
    """RFC 2919: ``List-Id: phrase <id>``; a ``<`` in the name must not read as another id."""
    composed = compose_digest(replace(digest, list_name=name), "sl", branding)
    data = composed.template.fill(recipient(), now=NOW)
    assert list_id_of(data) == (name, "tedenske-novice.novomesto.example.org")
    assert not parse(data).defects
