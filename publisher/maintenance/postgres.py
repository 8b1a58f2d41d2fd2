"""PostgreSQL's own tools, ``pg_dump`` and ``pg_restore``, run on the database of a URL.

The URL's password and connection details go to the tool through the ``PG*`` environment
variables, never on its command line, where every user of the machine could read them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

_QUERY_TO_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}


class ToolError(RuntimeError):
    """A PostgreSQL tool is missing, too old, or failed; the message says which and why."""


def tool_environment(database_url: str) -> dict[str, str]:
    """The environment that points ``pg_dump``/``pg_restore`` at ``database_url``."""
    url = make_url(database_url)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    values = {
        "PGHOST": url.host,
        "PGPORT": None if url.port is None else str(url.port),
        "PGUSER": url.username,
        "PGPASSWORD": url.password if isinstance(url.password, str) else None,
        "PGDATABASE": url.database,
    }
    for key, value in url.query.items():
        if key not in _QUERY_TO_ENV:
            raise ToolError(
                f"the database URL's parameter {key!r} is not understood by the backup; "
                f"use one of {', '.join(sorted(_QUERY_TO_ENV))} or the PG* environment"
            )
        values[_QUERY_TO_ENV[key]] = value if isinstance(value, str) else value[-1]
    env.update({key: value for key, value in values.items() if value})
    return env


def find_tool(name: str, engine: Engine) -> str:
    """The path of ``pg_dump``/``pg_restore``, checked to be as new as the server.

    A ``pg_dump`` older than the server refuses to dump it (or misses what is new), so the
    check is made first and says what to install.
    """
    path = shutil.which(name)
    if path is None:
        raise ToolError(
            f"{name} is not installed: install the PostgreSQL client tools of the server's "
            "version (Debian: apt install postgresql-client)"
        )
    output = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(?:\.\d+)?", output.stdout)
    if match is None:
        raise ToolError(f"{name} --version says {output.stdout.strip()!r}, not a version")
    tool_major = int(match[1])
    with engine.connect() as connection:
        server_number = connection.execute(text("SHOW server_version_num")).scalar_one()
    server_major = int(server_number) // 10000
    if tool_major < server_major:
        raise ToolError(
            f"{name} is version {tool_major}, older than the server's {server_major}: install "
            f"the client tools of version {server_major} or newer"
        )
    return path


def dump(engine: Engine, database_url: str, target: Path) -> None:
    """The whole database in ``pg_dump``'s custom format (``-Fc``): one consistent snapshot,
    taken while the site runs."""
    tool = find_tool("pg_dump", engine)
    _run([tool, "--format=custom", "--no-password", f"--file={target}"], database_url)


def restore(engine: Engine, database_url: str, source: Path) -> None:
    """``source`` (a custom-format dump) into the empty database of ``database_url``, owned
    by the URL's user rather than by whoever owned the tables where it was made."""
    tool = find_tool("pg_restore", engine)
    database = make_url(database_url).database or ""
    _run(
        [
            tool,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={database}",
            str(source),
        ],
        database_url,
    )


def _run(command: list[str], database_url: str) -> None:
    name = Path(command[0]).name
    result = subprocess.run(
        command,
        env=tool_environment(database_url),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        said = result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}"
        raise ToolError(f"{name} failed: {said}")
