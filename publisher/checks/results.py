"""What one check found: a line of ``publisher check`` and of the admin's list."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass


class Status(enum.StrEnum):
    ok = "ok"
    warn = "warn"
    """Sending works, but receivers may like it less (or staff should know)."""
    fail = "fail"
    """Mail would not leave, or would land in junk folders: fix before the first send."""


class Group(enum.StrEnum):
    settings = "settings"
    smtp = "smtp"
    dns = "dns"
    web = "web"


@dataclass(frozen=True)
class Check:
    """One finding. ``detail`` may quote what a server said (a DNS record, an SMTP reply):
    it is outside text, which each shell escapes for where it shows it."""

    group: Group
    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return {key: str(value) for key, value in asdict(self).items()}


def ok(group: Group, name: str, detail: str) -> Check:
    return Check(group, name, Status.ok, detail)


def warn(group: Group, name: str, detail: str, fix: str) -> Check:
    return Check(group, name, Status.warn, detail, fix)


def fail(group: Group, name: str, detail: str, fix: str) -> Check:
    return Check(group, name, Status.fail, detail, fix)
