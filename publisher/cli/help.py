"""How ``--help`` reads: placeholders in capitals, no Python type names, paragraphs that rewrap.

Typer (0.2x) shows each parameter's Python type as its placeholder (``--topic <list[str]>``,
``--json <bool>``, even ``--help <bool>``) and keeps every line break of a docstring. Here the
command tree is given classes that show a flag with no placeholder, an option with its
``metavar`` (else its long name in capitals: ``--list LIST``) and an argument by its name alone
(``PATH...``), and help texts are read as Markdown, so that a paragraph rewraps to the
terminal and ``code`` stands out. Typer builds these objects itself and has no hook for how
a parameter is shown, so :func:`tidy` recasts the finished tree once, in the root's
constructor; nothing about parsing changes.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


class Option(TyperOption):
    """An option shown as ``--list LIST``; a flag as itself."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        longest = max(self.opts, key=len).lstrip("-")  # --name-en: NAME-EN
        placeholder = self.metavar or longest.upper()
        return placeholder if self.nargs == 1 else f"{placeholder}..."


class Argument(TyperArgument):
    """An argument shown by its name in capitals (``PATH...``), its type left out."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    @property
    def display_name_raw(self) -> str:
        return self.metavar or (self.name or "value").upper()

    def _rich_display_name(self) -> str:
        return self.display_name_raw + ("..." if self.nargs != 1 else "")

    def _usage_display_name(self) -> str:
        name = self._rich_display_name()
        return name if self.required else f"[{name}]"


def _recast(param: Any) -> None:
    if type(param) is TyperOption:
        param.__class__ = Option
    elif type(param) is TyperArgument:
        param.__class__ = Argument


class Command(TyperCommand):
    """A command whose parameters, ``--help`` included, are shown as above."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:
            _recast(param)
        return params


class Group(TyperGroup):
    """The root ``publisher`` group: recasts the whole tree below it when it is built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tidy(self)

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:
            _recast(param)
        return params


def tidy(command: Any) -> None:
    """Give ``command`` and everything below it the classes above and Markdown help."""
    if type(command) is TyperCommand:
        command.__class__ = Command
    elif type(command) is TyperGroup:
        command.__class__ = Group
    command.rich_markup_mode = "markdown"
    for param in command.params:
        _recast(param)
    for sub in getattr(command, "commands", {}).values():
        tidy(sub)
