"""``requirements.lock`` is what deployments install: it must pin every runtime dependency that
``pyproject.toml`` names, or a wheel installed with ``--no-deps`` starts without one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def test_the_lock_file_pins_every_runtime_dependency_of_the_project() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {
        canonicalize_name(Requirement(spec).name): Requirement(spec)
        for spec in project["dependencies"]
    }
    pinned = {
        canonicalize_name(match[1]): match[2]
        for match in re.finditer(
            r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s\\;]+)",
            (REPO / "requirements.lock").read_text(encoding="utf-8"),
            re.M,
        )
    }
    missing = sorted(name for name in wanted if name not in pinned)
    assert not missing, f"not in requirements.lock (run scripts/lock): {missing}"
    outside = sorted(
        name for name, req in wanted.items() if not req.specifier.contains(pinned[name])
    )
    assert not outside, f"pinned outside pyproject's range (run scripts/lock): {outside}"
