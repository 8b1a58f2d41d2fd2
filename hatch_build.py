"""Build hook: the wheel carries the files the program reads at run time inside the package.

The design card's top-level ``templates/`` and ``config/`` stay the one source. A wheel maps
them into the package (``force_include``), each locale catalog compiled to ``messages.mo``.
An editable install gets neither: it reads the source tree, so an edit to a template shows at
once (``publisher/resources.py`` looks in both places).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MAPPED = {
    "templates/web": "publisher/templates/web",
    "templates/email": "publisher/templates/email",
    "config/publisher.toml": "publisher/defaults/publisher.toml",
}
"""Source path (from the project's root) -> its place in the wheel; resources.py reads these."""
CATALOGS = "templates/locale"
PACKAGED_CATALOGS = "publisher/templates/locale"
"""Only the compiled ``.mo`` files go here: one catalog file per language in either place."""


class PackageResources(BuildHookInterface):  # type: ignore[type-arg]
    """Maps templates/ and the default settings into the wheel; compiles the catalogs."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        root = Path(self.root)
        for source, target in MAPPED.items():
            build_data["force_include"][str(root / source)] = target
        self._compiled = Path(tempfile.mkdtemp(prefix="publisher-mo-"))
        for po in sorted((root / CATALOGS).glob("*/LC_MESSAGES/messages.po")):
            relative = po.relative_to(root / CATALOGS).with_suffix(".mo")
            mo = self._compiled / relative
            mo.parent.mkdir(parents=True)
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=relative.parts[0])
            with mo.open("wb") as handle:
                write_mo(handle, catalog)
            build_data["force_include"][str(mo)] = f"{PACKAGED_CATALOGS}/{relative.as_posix()}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        compiled = getattr(self, "_compiled", None)
        if compiled is not None:
            shutil.rmtree(compiled, ignore_errors=True)
