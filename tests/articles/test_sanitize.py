"""Sanitising, text rendering, summaries, slugs and whitespace: what reaches readers."""

from __future__ import annotations

from publisher.articles.sanitize import (
    html_to_text,
    make_summary,
    normalise_space,
    sanitize_html,
    slugify_title,
    text_to_html,
)


def test_script_and_style_are_removed_together_with_their_content() -> None:
    cleaned = sanitize_html(
        "<p>Vabljeni</p><script>alert('x')</script><style>p{display:none}</style>"
    )
    assert cleaned == "<p>Vabljeni</p>"


def test_event_handlers_style_and_class_attributes_are_dropped() -> None:
    cleaned = sanitize_html(
        '<p style="color:red" class="lead" onclick="steal()">Besedilo</p>'
        '<img src="https://example.org/a.jpg" alt="Trg" onerror="steal()">'
    )
    assert cleaned == '<p>Besedilo</p><img src="https://example.org/a.jpg" alt="Trg">'


def test_javascript_links_lose_their_target_while_relative_mailto_and_tel_links_survive() -> None:
    cleaned = sanitize_html(
        '<a href="javascript:alert(1)">zlo</a> '
        '<a href="/novice/obnova">relativna</a> '
        '<a href="dogodki.html">sosednja</a> '
        '<a href="mailto:info@example.org">pošta</a> '
        '<a href="tel:+38673939200">telefon</a>'
    )
    assert "javascript" not in cleaned
    assert 'href="/novice/obnova"' in cleaned
    assert 'href="dogodki.html"' in cleaned
    assert 'href="mailto:info@example.org"' in cleaned
    assert 'href="tel:+38673939200"' in cleaned


def test_tables_figures_and_headings_keep_their_structure() -> None:
    source = (
        "<h2>Urnik</h2><table><caption>Odprto</caption><thead><tr>"
        '<th scope="col" colspan="2">Dan</th></tr></thead><tbody><tr>'
        '<td rowspan="2">pon</td><td>8\u201315</td></tr></tbody></table>'
        '<figure><img src="trg.jpg" alt="Trg" width="640" height="480">'
        "<figcaption>Glavni trg</figcaption></figure>"
    )
    assert sanitize_html(source) == source


def test_unknown_tags_are_unwrapped_but_their_text_is_kept() -> None:
    assert sanitize_html("<div><span>Novo</span> <h1>mesto</h1></div>") == "Novo mesto"


def test_text_to_html_escapes_markup_once_and_keeps_slovenian_quotes_literal() -> None:
    html = text_to_html(["Občina & KS <Bršljin> „Čisto mesto“ »akcija« 5 €", "Drugi"])
    assert html == (
        "<p>Občina &amp; KS &lt;Bršljin&gt; „Čisto mesto“ »akcija« 5 €</p>\n<p>Drugi</p>"
    )
    assert sanitize_html(html) == html


def test_html_to_text_separates_paragraphs_by_exactly_one_blank_line() -> None:
    text = html_to_text("<p>Prvi &amp; „drugi“</p>\n\n\n<p>Tretji</p><br><br><br><p>Četrti</p>")
    assert text.startswith("Prvi & „drugi“\n\nTretji")
    assert text.endswith("Četrti")
    assert "\n\n\n" not in text


def test_short_summary_is_the_whole_first_paragraph() -> None:
    assert make_summary("Prvi odstavek.\n\nDrugi odstavek.") == "Prvi odstavek."


def test_long_summary_is_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    words = " ".join(f"beseda{n}" for n in range(100))
    summary = make_summary(words, limit=60)
    assert len(summary) <= 60
    assert summary.endswith("…")
    kept = summary.removesuffix("…")
    assert words.startswith(kept)
    assert words[len(kept)] == " "


def test_slug_of_a_slovenian_title_is_ascii_and_readable() -> None:
    title = "Novo mesto kot prvo slovensko mesto sprejeto v združenje mest B40"
    assert slugify_title(title) == (
        "novo-mesto-kot-prvo-slovensko-mesto-sprejeto-v-zdruzenje-mest-b40"
    )
    assert slugify_title("Čiščenje Šmihela in Žabje vasi") == "ciscenje-smihela-in-zabje-vasi"


def test_long_slug_stops_at_80_characters_on_a_word_boundary() -> None:
    slug = slugify_title("Obnova " + "glavnega trga " * 20)
    assert len(slug) <= 80
    assert not slug.endswith("-")
    assert set(slug.split("-")) <= {"obnova", "glavnega", "trga"}


def test_title_without_letters_still_gets_a_slug() -> None:
    assert slugify_title("„“ !!! »«") == "clanek"


def test_normalise_space_collapses_mixed_runs_and_keeps_a_deliberate_nbsp() -> None:
    assert normalise_space("ponos nad\xa0 dejstvom") == "ponos nad dejstvom"
    assert normalise_space("dne 7.\xa0marca") == "dne 7.\xa0marca"
    assert normalise_space("\xa0 Konec odstavka.\xa0") == "Konec odstavka."
    assert normalise_space("a\tb  \n c") == "a b c"
    assert normalise_space("\xa0\xa0 ") == ""
