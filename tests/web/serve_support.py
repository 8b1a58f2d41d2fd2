"""``publisher serve`` as a subprocess on a free port: the real command, its real uvicorn."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests.conftest import TEST_SECRET


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        """Everything the server printed (its access log included), once it has stopped."""
        self.process.terminate()
        out, _ = self.process.communicate(timeout=10)
        return out.decode("utf-8", "replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def publisher_serve(database_url: str, *args: str, **settings: str) -> Iterator[Served]:
    """``publisher serve --port P ARGS`` with only the settings given (``PUBLISHER_<KEY>``),
    the test secret and the database; waits (bounded) until it answers."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PUBLISHER_")}
    env |= {
        "PUBLISHER_DATABASE_URL": database_url,
        "PUBLISHER_BASE_URL": f"http://127.0.0.1:{port}",
        "PUBLISHER_SECRET_KEY": TEST_SECRET,
    }
    env |= {f"PUBLISHER_{key.upper()}": value for key, value in settings.items()}
    process = subprocess.Popen(
        [sys.executable, "-m", "publisher", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        give_up = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{served.url}/privacy", timeout=5)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise AssertionError(served.output()) from None
                assert time.monotonic() < give_up, "publisher serve did not start in 60 s"
                time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
