"""Gettext catalogs for emails and pages: ``templates/locale/<language>/LC_MESSAGES/messages.po``.

The ``.po`` files are the one source. An installed wheel carries each compiled to ``messages.mo``
instead (``hatch_build.py``); a source checkout has no ``.mo`` to keep in step, and compiles
the ``.po`` in memory with Babel on first use. Source strings are English (the
gettext convention); Slovenian, the default language, is a full catalog with all four of its
plural forms (1 članek, 2 članka, 3 članki, 5 člankov).
"""

from __future__ import annotations

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
