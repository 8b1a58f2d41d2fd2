"""Where the files that ship beside the code live: templates, catalogs, static assets, the
default settings, the migrations and the demo's samples.

An installed wheel carries ``templates/`` and ``config/publisher.toml`` inside the package
(``hatch_build.py`` maps them there); a source checkout or an editable install keeps them at
the top of the tree, beside the package, where they are edited. Both are found through
``importlib.resources``, so nothing depends on where ``site-packages`` happens to be.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(str(resources.files("publisher")))
"""The installed ``publisher`` package (a folder: wheels install unzipped)."""


def _shipped(packaged: str, source: str) -> Path:
    """``packaged`` inside the package when the wheel put it there, else the source tree's."""
    inside = PACKAGE_DIR / packaged
    return inside if inside.exists() else PACKAGE_DIR.parent / source


TEMPLATES_DIR = _shipped("templates", "templates")
"""Email and web templates, and the locale catalogs."""
WEB_TEMPLATES_DIR = TEMPLATES_DIR / "web"
EMAIL_TEMPLATES_DIR = TEMPLATES_DIR / "email"
STATIC_DIR = WEB_TEMPLATES_DIR / "static"
LOCALE_DIR = TEMPLATES_DIR / "locale"
DEFAULT_SETTINGS_FILE = _shipped("defaults/publisher.toml", "config/publisher.toml")
"""Every setting with its default, documented: the template of an installation's own file."""
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
SAMPLES_DIR = PACKAGE_DIR / "samples"
"""The demo's sample articles (with their photos), lists and residents."""

SERVING = ("WEB_TEMPLATES_DIR", "EMAIL_TEMPLATES_DIR", "STATIC_DIR", "LOCALE_DIR", "MIGRATIONS_DIR")
"""What ``serve`` and ``init`` read: the names of this module's paths, looked up when checked."""
DEMO = (*SERVING, "SAMPLES_DIR")


def missing(names: tuple[str, ...] = SERVING) -> list[Path]:
    """The folders among ``names`` that are not there: an incomplete installation, found
    before a command writes anything rather than halfway through."""
    found = globals()
    return [found[name] for name in names if not Path(found[name]).is_dir()]
