"""Gettext catalogs for emails and pages: ``templates/locale/<language>/LC_MESSAGES/messages.po``.

The ``.po`` files are the one source. An installed wheel carries each compiled to ``messages.mo``
instead (``hatch_build.py``); a source checkout has no ``.mo`` to keep in step, and compiles
the ``.po`` in memory with Babel on first use. Source strings are English (the
gettext convention); Slovenian, the default language, is a full catalog with all four of its
plural forms (1 članek, 2 članka, 3 članki, 5 člankov).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from publisher.i18n import LANGUAGES
from publisher.resources import LOCALE_DIR


@cache
def translations(language: str) -> NullTranslations:
    """The catalog of ``language``; unknown languages fall back to the English source strings."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    compiled_file, path = folder / "messages.mo", folder / "messages.po"
    if language not in LANGUAGES:
        return NullTranslations()
    if compiled_file.is_file():
        with compiled_file.open("rb") as handle:
            return Translations(fp=handle)
    if not path.is_file():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


_VALUE = re.compile(r"%\((\w+)\)s|%%")


@cache
def _pattern(source: str) -> re.Pattern[str]:
    """``source`` as a pattern that reads its values back out of a line it made."""
    parts, at = [], 0
    for found in _VALUE.finditer(source):
        parts.append(re.escape(source[at : found.start()]))
        name = found.group(1)
        parts.append(f"(?P<{name}>.+?)" if name else "%")
        at = found.end()
    parts.append(re.escape(source[at:]))
    return re.compile("".join(parts), re.S)


def stored_line_in(
    line: str, sources: Sequence[str], language: str, value_sources: Sequence[str] = ()
) -> str:
    """A line stored in English (a paused send's reason, an audit entry's detail), made as
    ``source % values`` from one of ``sources``, in ``language``: its source through the
    catalogs, its values (a server's reply, a count) as they came, except a value that is one
    of ``value_sources`` (the program's own word, "sign-in"), translated too. A line made from
    none of them (older, or outside words) is shown as it is.

    The English line stays what is stored, logged and printed by the CLI and the API; pages
    in another language read it back through the same sources, so there is one wording."""
    for source in sources:
        found = _pattern(source).fullmatch(line)
        if found is not None:
            gettext = translations(language).gettext
            values = {
                key: gettext(value) if value in value_sources else value
                for key, value in found.groupdict().items()
            }
            return gettext(source) % values
    return line
