"""Outside text made visible, never obeyed: the one rule for the terminal and the logs.

An SMTP reply, a subject, a resident's name or a file name can hold characters a terminal
obeys rather than shows (ESC starts a colour or a title, a line break starts a new line). The
CLI shows such text through :func:`plain` and the logs write it through it, so that what the
wire sent is shown as ``\\x1b`` or ``\\x0a`` and can neither recolour a terminal nor forge a
table row or a log line.
"""

from __future__ import annotations

import re

BIDI_AND_C1 = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
UNSAFE = re.compile(f"[\x00-\x1f{BIDI_AND_C1}]")
"""Characters a terminal obeys rather than shows: C0 and C1 controls (ESC, BEL, CSI, line
breaks) and the bidirectional overrides that make text read differently from its bytes."""


def plain(value: object, *, lines: bool = False) -> str:
    """Outside text (an SMTP reply, a name, a title, a file name) with controls made visible.

    ESC becomes ``\\x1b``, a line break ``\\x0a``: what the wire sent is shown, never obeyed,
    so a relay's reply cannot recolour the terminal, set its title or forge a table row.
    ``lines=True`` keeps line breaks, for a text shown whole (an article's body).
    """
    if lines:
        return "\n".join(UNSAFE.sub(_visible, line) for line in str(value).split("\n"))
    return UNSAFE.sub(_visible, str(value))


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
