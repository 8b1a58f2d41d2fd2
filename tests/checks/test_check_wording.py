"""Every line ``publisher check`` can write has a Slovenian wording for the admin, and stays
English where English is asked for (the CLI prints the English)."""

from __future__ import annotations

import ast
from pathlib import Path

import publisher.checks
from publisher.checks.results import Text, in_language
from publisher.translations import translations

CHECKS = Path(publisher.checks.__file__).parent


def wordings() -> list[str]:
    """The source strings of every ``Text(...)`` in publisher/checks."""
    found = []
    for module in sorted(CHECKS.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            called = getattr(node, "func", None)
            if isinstance(node, ast.Call) and getattr(called, "id", None) == "Text" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.append(first.value)
    return found


def test_every_check_wording_has_a_slovenian_translation() -> None:
    sl = translations("sl")
    found = wordings()
    assert len(found) > 80
    untranslated = [
        source for source in found if sl.gettext(source) == source and "%" not in source
    ]
    assert untranslated == []
    missing = [source for source in found if source not in sl._catalog]  # type: ignore[attr-defined]
    assert missing == []


def test_a_wording_keeps_its_values_and_reads_english_as_a_plain_string() -> None:
    line = Text("the relay accepts %(senders)s (nothing sent)", senders="a@x.si and b@x.si")
    assert line == "the relay accepts a@x.si and b@x.si (nothing sent)"
    assert in_language(line, "en") == line
    assert in_language(line, "sl") == "posrednik sprejme a@x.si and b@x.si (nič ni bilo poslano)"
    nested = Text("not evaluated: %(problem)s", problem=Text("relay"))
    assert in_language(nested, "sl") == "ni preverjeno: posrednik"
    assert in_language("250 OK from the server", "sl") == "250 OK from the server"
