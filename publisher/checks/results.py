"""What one check found: a line of ``publisher check`` and of the admin's list."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
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


class Text(str):
    """A check's wording: the English line (what ``publisher check`` prints and tests read),
    which also remembers its source string and values, so a page can show it in its own
    language through the catalogs (``in_language``). Values are outside text (a DNS record,
    an SMTP reply) and stay as they came."""

    source: str
    values: Mapping[str, object]

    def __new__(cls, source: str, **values: object) -> Text:
        english = source % {key: _joined(value, str) for key, value in values.items()}
        made = super().__new__(cls, english if values else source)
        made.source, made.values = source, values
        return made

    def in_language(self, language: str) -> str:
        from publisher.translations import translations

        wording = translations(language).gettext(self.source)
        if not self.values:
            return wording
        return wording % {
            key: _joined(value, lambda one: in_language(one, language))
            for key, value in self.values.items()
        }


def _joined(value: object, show: Callable[[object], object]) -> object:
    """A value as a wording shows it; a list of them (problems found) joined by "; "."""
    if isinstance(value, list):
        return "; ".join(str(show(one)) for one in value)
    return show(value)


def in_language(text: object, language: str) -> object:
    """A check's name, detail or fix (or a value in one) in ``language``: a :class:`Text`
    translated, anything else (a server's own words, a number) as it is."""
    return text.in_language(language) if isinstance(text, Text) else text


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
