"""What staff write in the admin's editor: Markdown, made into the store's HTML and back.

CommonMark (paragraphs, ``##`` subheadings, **bold**, *italic*, lists, links) through
markdown-it-py with raw HTML turned off, so ``<script>`` typed in the editor is shown as text;
the HTML it makes then passes the same sanitiser as every import
(:func:`publisher.articles.sanitize.sanitized_body`), which drops ``javascript:`` links.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdownify import markdownify

from publisher.articles.sanitize import sanitized_body

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def markdown_to_html(text: str) -> str:
    """Unsanitised HTML for ``text``; a ``#`` heading becomes ``h2`` (the page title is h1)."""
    tokens = _PARSER.parse(text)
    for token in tokens:
        if token.type in {"heading_open", "heading_close"} and token.tag == "h1":
            token.tag = "h2"
    rendered: str = _PARSER.renderer.render(tokens, _PARSER.options, {})
    return rendered


def render_markdown(text: str) -> tuple[str, str]:
    """The body the store keeps for Markdown ``text``: sanitised HTML and its plain text."""
    return sanitized_body(markdown_to_html(text))


def html_to_markdown(html: str) -> str:
    """Markdown for an imported article's HTML, to prefill the editor the first time."""
    text: str = markdownify(html, heading_style="ATX", bullets="-", strong_em_symbol="*")
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out)
