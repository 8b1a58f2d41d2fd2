"""The archive reads an edition back out of the digest as stored: every article, the note and
the photos, and none of the mail-only parts or styles."""

from __future__ import annotations

from dataclasses import replace

from publisher.mail.compose import Branding, Digest, compose_digest
from publisher.mail.public_copy import CopiedPhoto, read_public_copy

UNSUBSCRIBE = "https://novice.example.org/unsubscribe"
PREFERENCES = "https://novice.example.org/unsubscribe#preferences"


def public_copy_of(digest: Digest, branding: Branding, language: str = "sl") -> str:
    return compose_digest(digest, language, branding).public_html(UNSUBSCRIBE, PREFERENCES)


def test_every_article_comes_back_with_its_link_date_summary_photo_and_topics(
    digest: Digest, branding: Branding
) -> None:
    copy = read_public_copy(public_copy_of(digest, branding))
    assert [a.title for a in copy.articles] == [item.title for item in digest.items]
    first, second = copy.articles
    assert first.url == "https://novice.example.org/articles/obnova-glavnega-trga"
    assert first.date_label == "7. marec 2025"
    assert first.summary == "Gradbinci bodo v drugi fazi uredili južni del trga & pločnike."
    assert first.photo == CopiedPhoto(
        "https://novice.example.org/media/trg-1200.jpg", 552, 368, "Gradbinci na Glavnem trgu"
    )
    assert first.caption == "Glavni trg med prvo fazo del"
    assert first.topics == "Promet, Občina"
    assert second.title == 'Knjižnica vabi: <script>alert("x")</script> „Noč knjige“'  # text
    assert second.photo is None and second.caption == ""


def test_the_editors_note_keeps_its_paragraphs_and_lines(
    digest: Digest, branding: Branding
) -> None:
    noted = replace(digest, notes={"sl": "Spoštovani,\nto je prva vrstica.\n\nDrugi odstavek."})
    copy = read_public_copy(public_copy_of(noted, branding))
    assert copy.note == [["Spoštovani,", "to je prva vrstica."], ["Drugi odstavek."]]
    assert read_public_copy(public_copy_of(noted, branding, "en")).note == []


def test_mail_only_parts_stay_behind(digest: Digest, branding: Branding) -> None:
    test_copy = replace(digest, is_test=True)
    copy = read_public_copy(public_copy_of(test_copy, branding))
    said = repr(copy)
    mail_only_parts = (
        "Odprite v brskalniku",
        "Pozdravljeni",
        "POSKUSNI IZVOD",
        "Odjava",
        UNSUBSCRIBE,
    )
    for mail_only in mail_only_parts:
        assert mail_only not in said
    assert len(copy.articles) == len(digest.items)


def test_only_web_addresses_and_sane_sizes_come_out() -> None:
    hostile = """<table><tr><td class="article">
      <h2 class="article-title"><a href="javascript:alert(1)">Naslov</a></h2>
      <img class="photo" src="data:image/png;base64,AAAA" width="552" height="300" alt="">
      <p class="summary">Povzetek.</p></td></tr>
      <tr><td class="article"><h2 class="article-title"><a href="https://a.example/x">Drugi</a></h2>
      <img class="photo" src="https://a.example/p.jpg" width="99999" height="1" alt=""></td></tr>
    </table>"""
    first, second = read_public_copy(hostile).articles
    assert first.url == "" and first.photo is None and first.summary == "Povzetek."
    assert second.url == "https://a.example/x" and second.photo is None


def test_a_document_without_the_marked_parts_reads_as_empty() -> None:
    assert read_public_copy("<p>Staro sporočilo</p>").empty
    assert read_public_copy("").empty
