"""Where the files that ship beside the code live: templates, locale catalogs, static assets."""

from __future__ import annotations

from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
"""Email and web templates; ``templates/`` sits beside the ``publisher`` package."""
WEB_TEMPLATES_DIR = TEMPLATES_DIR / "web"
STATIC_DIR = WEB_TEMPLATES_DIR / "static"
LOCALE_DIR = TEMPLATES_DIR / "locale"
