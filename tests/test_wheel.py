"""The package as a municipality's IT installs it: the wheel built by ``scripts/build``, put in a
fresh virtual environment the way the README's production install does (the lock file, then
the wheel with ``--no-deps``), and run from an empty folder with no source tree on the path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import feedparser
import httpx
import pytest

import publisher
from tests.web.serve_support import free_port

pytestmark = [pytest.mark.wheel, pytest.mark.xdist_group("wheel")]
"""One xdist worker takes the whole module, so the wheel is built and installed once."""

REPO = Path(__file__).resolve().parents[1]
VERSION = publisher.__version__


@dataclass
class Installed:
    """The build's artefacts and the fresh environment that has only the wheel installed."""

    dist: Path
    venv: Path
    home: Path
    """An empty working directory: the demo's database, secret and caught mail go here."""

    @property
    def wheel(self) -> Path:
        return self.dist / f"publisher-{VERSION}-py3-none-any.whl"

    def env(self, **settings: str) -> dict[str, str]:
        """The caller's environment without any PUBLISHER_ setting, PYTHONPATH or virtualenv."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PUBLISHER_") and key not in ("PYTHONPATH", "VIRTUAL_ENV")
        }
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["COLUMNS"] = "200"
        env |= {f"PUBLISHER_{key.upper()}": value for key, value in settings.items()}
        return env

    def run(self, *args: str, timeout: float = 180, **settings: str) -> str:
        """``publisher ARGS`` from the fresh environment, in the empty folder; its output."""
        done = subprocess.run(
            [str(self.venv / "bin" / "publisher"), *args],
            cwd=self.home,
            env=self.env(**settings),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
        )
        assert done.returncode == 0, f"publisher {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout


def _run(*command: str | Path, **kwargs: object) -> None:
    done = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=900, **kwargs
    )  # type: ignore[call-overload]
    assert done.returncode == 0, f"{command}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Built offline with the dev install's backend, installed as the README says."""
    root = tmp_path_factory.mktemp("wheel")
    found = Installed(dist=root / "dist", venv=root / "fresh", home=root / "empty")
    found.home.mkdir()
    _run(
        "bash", REPO / "scripts" / "build", found.dist, env=os.environ | {"PYTHON": sys.executable}
    )
    _run(sys.executable, "-m", "venv", found.venv)
    pip = found.venv / "bin" / "pip"
    clean = found.env()
    _run(pip, "install", "-q", "--require-hashes", "-r", REPO / "requirements.lock", env=clean)
    _run(pip, "install", "-q", "--no-deps", found.wheel, env=clean)
    return found


def test_the_wheel_holds_every_file_the_program_reads(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for needed in (
        "publisher/templates/web/base.html",
        "publisher/templates/web/static/site.css",
        "publisher/templates/web/mailcatcher/mailcatcher.css",
        "publisher/templates/email/digest.html",
        "publisher/templates/locale/sl/LC_MESSAGES/messages.mo",
        "publisher/templates/locale/en/LC_MESSAGES/messages.mo",
        "publisher/defaults/publisher.toml",
        "publisher/migrations/env.py",
        "publisher/migrations/script.py.mako",
        "publisher/migrations/versions/0001_articles.py",
        "publisher/samples/subscribers.csv",
        f"publisher-{VERSION}.dist-info/licenses/LICENSE",
    ):
        assert needed in names, needed
    samples = (REPO / "publisher/samples/articles").iterdir()
    assert {f"publisher/samples/articles/{path.name}" for path in samples} <= names
    assert any(name.endswith(".jpg") for name in names), "the samples' photos"
    assert not any("__pycache__" in name or name.endswith(".po") for name in names)

    metadata = zipfile.ZipFile(installed.wheel).read(f"publisher-{VERSION}.dist-info/METADATA")
    text = metadata.decode()
    assert f"Version: {VERSION}" in text
    assert "License-Expression: MIT" in text
    assert "Requires-Python: >=3.11" in text
    for classifier in ("Framework :: FastAPI", "Natural Language :: Slovenian"):
        assert f"Classifier: {classifier}" in text


def test_the_sdist_carries_the_tests_and_the_sbom_the_pinned_packages(
    installed: Installed,
) -> None:
    with tarfile.open(installed.dist / f"publisher-{VERSION}.tar.gz") as sdist:
        names = {name.partition("/")[2] for name in sdist.getnames()}
    for needed in ("tests/test_wheel.py", "templates/web/base.html", "config/publisher.toml"):
        assert needed in names, needed
    for needed in ("CHANGELOG.md", "LICENSE", "requirements.lock", "hatch_build.py"):
        assert needed in names, needed
    assert not any(name.startswith((".venv/", "node_modules/")) for name in names)

    sbom = json.loads((installed.dist / f"publisher-{VERSION}.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["name"] == "publisher"
    assert sbom["metadata"]["component"]["version"] == VERSION
    pinned = {
        line.split("==")[0].lower(): line.split("==")[1].split()[0]
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    listed = {component["name"].lower(): component["version"] for component in sbom["components"]}
    assert listed == pinned


def test_the_installed_package_runs_from_its_own_site_packages(installed: Installed) -> None:
    done = subprocess.run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import publisher; print(publisher.__file__)",
        ],
        cwd=installed.home,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    where = Path(done.stdout.strip()).resolve()
    assert where.is_relative_to(installed.venv.resolve()), where
    assert "site-packages" in where.parts
    assert installed.run("--version").strip() == f"publisher {VERSION}"
    defaults = installed.run("config", "--defaults")
    assert "feed_ttl = 15" in defaults


@contextmanager
def serving(installed: Installed) -> Iterator[str]:
    """``publisher serve`` of the fresh environment on a free port, until it answers."""
    port = free_port()
    process = subprocess.Popen(
        [str(installed.venv / "bin" / "publisher"), "serve", "--port", str(port), "--no-jobs"],
        cwd=installed.home,
        env=installed.env(base_url=f"http://127.0.0.1:{port}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        give_up = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/privacy", timeout=5)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    out = process.stdout.read() if process.stdout else b""
                    raise AssertionError(out.decode("utf-8", "replace")) from None
                assert time.monotonic() < give_up, "publisher serve did not start in 60 s"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_demo_preview_and_serve_work_from_an_empty_folder(installed: Installed) -> None:
    web_port, smtp_port = free_port(), free_port()
    settings = {"base_url": f"http://127.0.0.1:{web_port}", "smtp_port": str(smtp_port)}
    out = installed.run("demo", "--no-serve", **settings)
    assert "0 rejected" in out
    assert f"When you run `publisher serve --dev-smtp --port {web_port}`" in out
    assert (installed.home / "publisher.db").is_file()

    preview = installed.home / "preview.html"
    installed.run(
        "digest", "preview", "--list", "tedenske-novice", "--period", "2025-W12", "--out",
        str(preview), **settings,
    )  # fmt: skip
    html = preview.read_text(encoding="utf-8")
    assert "Tedenske novice" in html
    assert "marec 2025" in html  # Slovenian dates through Babel

    with serving(installed) as url, httpx.Client(base_url=url, timeout=10) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "Novo mesto" in home.text
        assert client.get("/static/site.css").status_code == 200
        subscribe = client.get("/subscribe")
        assert "Prijavite se na e-novice" in subscribe.text  # the compiled Slovenian catalog
        response = client.get("/feeds/atom.xml")
        assert response.status_code == 200
        feed = feedparser.parse(response.content)
        assert not feed.bozo
        assert len(feed.entries) >= 10
        assert feed.feed.language == "sl"
