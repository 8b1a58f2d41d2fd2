"""What every browser test shares: Debian's Chromium (never a downloaded browser) and axe-core."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() or shutil.which("chromium") is None,
    reason="browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only, for a browser test that imports this fixture: the rules it shows are
    proven on both databases by the HTTP tests, and a browser run is slow enough once."""
    return f"sqlite:///{tmp_path / 'publisher.db'}"


def require_axe() -> None:
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE} (npm install axe-core; .ci/run does)")


def check_accessibility(page: Any) -> None:
    """axe-core in the page: no serious or critical violation of any rule it knows."""
    if not AXE.is_file():
        return  # each browser test file's axe test says so, once
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluate is not subject to the page's CSP
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["name"] == "axe-core" and result["passes"], "axe did not run"
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: " + "; ".join(bad)
