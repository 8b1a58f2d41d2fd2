"""Start-up cost of the command: wall time and peak memory of ``publisher --help``.

Runs each command below in a fresh child process (output discarded), several times after one
warm-up run, and prints the median and fastest wall time and the peak resident memory of the
child (its own ``ru_maxrss``, from ``os.wait4``), with the ratios to ``python -c "import
typer"`` measured in the same run. Goal: both ``--help`` commands well under 0.3 s.

The other rows say where the rest goes: a one-command Typer app's ``--help`` is the floor the
CLI framework sets by itself, and ``import publisher.delivery.worker`` is what every
``publisher worker`` process carries before it sends a message.

    python bench/startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ONE_COMMAND_APP = """
import typer
app = typer.Typer()
@app.command()
def hello(name: str = "svet") -> None:
    print(name)
app(["--help"])
"""


@dataclass
class Figures:
    label: str
    seconds: list[float]
    peak_kib: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def publisher_command() -> list[str]:
    """The installed ``publisher`` script beside this Python, else ``python -m publisher``."""
    script = Path(sys.executable).with_name("publisher")
    return [str(script)] if script.exists() else [sys.executable, "-m", "publisher"]


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one child process; fails loudly if the child does."""
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited with {child.returncode}:\n{stderr}")
    return elapsed, usage.ru_maxrss  # KiB on Linux


def measure(label: str, argv: list[str], runs: int, cwd: Path, env: dict[str, str]) -> Figures:
    run_once(argv, cwd, env)  # warm-up: byte-code caches and the page cache
    samples = [run_once(argv, cwd, env) for _ in range(runs)]
    return Figures(label, [s for s, _ in samples], max(kib for _, kib in samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per command")
    args = parser.parse_args()

    publisher = publisher_command()
    commands = [
        ('python -c "import typer"', [sys.executable, "-c", "import typer"]),
        ("one-command Typer app --help", [sys.executable, "-c", ONE_COMMAND_APP]),
        ("publisher --help", [*publisher, "--help"]),
        ("publisher digest --help", [*publisher, "digest", "--help"]),
        (
            'python -c "import publisher.delivery.worker"',
            [sys.executable, "-c", "import publisher.delivery.worker"],
        ),
    ]
    # No settings file and no PUBLISHER_* variables: --help must not need them.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PUBLISHER_")}
    with tempfile.TemporaryDirectory(prefix="publisher-startup-") as folder:
        results = [measure(label, argv, args.runs, Path(folder), env) for label, argv in commands]

    baseline = results[0]
    print(f"Start-up, {args.runs} runs each after one warm-up (Python {sys.version.split()[0]})")
    print(
        f"{'command':<46} {'median':>8} {'fastest':>8} {'peak RSS':>9} "
        f"{'time/typer':>11} {'RSS/typer':>10}"
    )
    for figures in results:
        print(
            f"{figures.label:<46} {figures.median * 1000:>6.0f}ms"
            f" {min(figures.seconds) * 1000:>6.0f}ms {figures.peak_kib / 1024:>7.1f}MB"
            f" {figures.median / baseline.median:>10.1f}x"
            f" {figures.peak_kib / baseline.peak_kib:>9.1f}x"
        )
    for figures in results[2:4]:
        verdict = "meets" if figures.median < 0.3 else "misses"
        print(f"{figures.label}: {verdict} the goal (median under 300 ms)")


if __name__ == "__main__":
    main()
