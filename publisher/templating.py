"""The one way a Jinja2 environment is made, for web pages, admin pages and mail alike.

Each has its templates folder and one language's gettext catalog (``_``, ``ngettext``);
HTML is autoescaped. What differs is a parameter: public pages and mail refuse an undefined
name (a typo shows at once) while the admin's templates still read one as blank
(``strict=False``), and mail keeps a template's last newline (a text part ends in one).
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined, select_autoescape

from publisher.translations import translations


def template_environment(
    folder: Path,
    language: str,
    *,
    strict: bool = True,
    keep_trailing_newline: bool = False,
) -> Environment:
    """Templates from ``folder`` with ``language``'s catalog installed."""
    environment = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined if strict else Undefined,
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=keep_trailing_newline,
    )
    environment.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return environment
