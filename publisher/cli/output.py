"""How every listing reaches the user: a table on a terminal, whole values anywhere else.

A Rich table fits itself to the terminal by cutting cells ("tedenske-n…"); that suits eyes but
not a pipe, a file or a CI log, where the cut part is simply lost. Off a terminal each row is
therefore one line of tab-separated cells under a header line, as ``gh`` and ``kubectl`` print
when piped, and the table's title and the notes after it go to standard error, so that
``| cut -f1`` or ``| grep`` see rows only. ``--json`` gives the same records whole, for scripts.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from publisher.cli.context import console, dumps, err_console

JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print a JSON array of objects (dates in ISO 8601), for scripts.",
    ),
]
"""The ``--json`` option of every listing command, worded once."""


def _plain(cell: RenderableType) -> str:
    """A cell's text without Rich markup, on one line (a tab or newline would split the row)."""
    if isinstance(cell, Text):
        text = cell.plain
    elif isinstance(cell, str):
        text = Text.from_markup(cell).plain
    else:
        text = str(cell)
    return " ".join(text.replace("\t", " ").splitlines())


def print_table(table: Table, out: Console = console) -> None:
    """Print ``table``: drawn on a terminal, as header and tab-separated rows otherwise."""
    if out.is_terminal:
        out.print(table)
        return
    if table.title:
        print_note(_plain(table.title), out)
    columns = table.columns
    lines = ["\t".join(_plain(column.header) for column in columns)]
    lines.extend(
        "\t".join(_plain(cell) for cell in row)
        for row in zip(*(column.cells for column in columns), strict=True)
    )
    out.file.write("\n".join(lines) + "\n")
    out.file.flush()


def print_note(text: str, out: Console = console) -> None:
    """A line about a listing (a count, a hint): beside the table on a terminal, on standard
    error otherwise, so that what is piped on holds only the rows."""
    (out if out.is_terminal else err_console).print(text)


def print_json(data: object) -> None:
    """``data`` as ``--json`` prints it: UTF-8, indented, one document on standard output."""
    sys.stdout.write(dumps(data) + "\n")
