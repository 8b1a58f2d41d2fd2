"""The logs: one line per event that matters, as text or JSON, never with a secret in it.

Domain code logs through named loggers under ``publisher`` (``publisher.digests…``,
``publisher.delivery…``, ``publisher.articles…``) and says what happened with :func:`event`:
a short message and its fields (``edition``, ``recipients`` …). :func:`configure` is called
once by every command (again by ``serve`` and ``worker``, which log at ``log_level``; the
other commands print their own report and log only warnings): one handler on the root
logger, so uvicorn's lines come out in the same format.

Whatever a line carries passes :class:`Redact` first: the settings' secret values (the secret
key, the SMTP and mailbox passwords, webhook keys, the database password) become
``********``; a resident's personal link (``/confirm/…``, ``/unsubscribe/…``,
``/preferences/…``) and ``?token=…`` lose the token; controls are made visible by the
terminal's own rule (:func:`publisher.visible.plain`), so a subject with ESC or a line break
neither colours a terminal nor forges a line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from publisher.visible import plain

if TYPE_CHECKING:
    from publisher.config import Settings

FIELDS = "publisher_fields"
"""The attribute of a log record that holds an event's fields (set by :func:`event`)."""
MASK = "********"
REDACTED = "…"
PERSONAL_LINK = re.compile(
    r"""((?:^|[\s"'(<=,;]|https?://[^/\s"'<>]+)/(?:confirm|unsubscribe|preferences)/)"""
    r"""[^/?#\s"'<>]+"""
)
"""A resident's personal link at the start of a path or a URL: its token is a key to their
subscription (``/archive/confirm/x`` is not one)."""
TOKEN_QUERY = re.compile(
    r"""([?&;](?:token|access_token|key|signature|password|secret)=)[^&#\s"'<>]+""",
    re.IGNORECASE,
)
QUIET_LEVEL = logging.WARNING
"""What one-shot commands log: their own report is on the terminal already."""
OWN_LOGGERS = ("publisher", "uvicorn")
"""The loggers whose level ``log_level`` sets; every other library's stays at WARNING."""


def event(
    logger: logging.Logger, message: str, /, level: int = logging.INFO, **fields: Any
) -> None:
    """Log one event: ``message`` says what happened, ``fields`` the facts (text: ``k=v``)."""
    logger.log(level, message, extra={FIELDS: fields}, stacklevel=2)


def redact_links(text: str) -> str:
    """``text`` with the token of every personal link and ``?token=…`` replaced by ``…``."""
    text = PERSONAL_LINK.sub(rf"\1{REDACTED}", text)
    return TOKEN_QUERY.sub(rf"\1{REDACTED}", text)


def secret_values(settings: Settings) -> tuple[str, ...]:
    """Every secret the settings hold, as it could appear in a line (longest first)."""
    found: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            secret = value.get_secret_value()
            found.add(secret)
            if name == "bounce_postmark_credentials":
                found.add(secret.partition(":")[2])  # user:password
    password = make_url(settings.database_url).password
    if password:
        found.add(str(password))
    return tuple(sorted((s for s in found if len(s) >= 4), key=len, reverse=True))


class Redact(logging.Filter):
    """Secrets masked, personal links cut, controls made visible: in the message (its
    arguments merged in) and in every field."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def clean(self, value: object) -> str:
        text = str(value)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return plain(redact_links(text))

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "publisher_redacted", False):
            return True  # a record passes each handler's filter; clean it once
        record.msg = self.clean(record.getMessage())
        record.args = None
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            setattr(record, FIELDS, {str(k): self._field(v) for k, v in fields.items()})
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = "\n".join(self.clean(line) for line in record.exc_text.splitlines())
            record.exc_info = None
        record.publisher_redacted = True
        return True

    def _field(self, value: object) -> object:
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.clean(value)


def _moment(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


_BARE = re.compile(r"[^\s\"=\\]+")


def _text_value(value: object) -> str:
    text = "" if value is None else str(value)
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class TextFormatter(logging.Formatter):
    """``2025-03-07T12:00:00.000+00:00 INFO publisher.digests: edition approved k=v``; a
    traceback follows on lines indented by four spaces, so no line of it passes for an event."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, FIELDS, None) or {}
        line = f"{_moment(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if fields:
            line += " " + " ".join(f"{key}={_text_value(v)}" for key, v in fields.items())
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if exc:
            line += "".join(f"\n    {part}" for part in exc.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``event``, the fields, and
    ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": _moment(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None) or {}
        data.update({key: value for key, value in fields.items() if key not in data})
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if exc:
            data["exception"] = exc
        return json.dumps(data, ensure_ascii=True, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is written (a test's capture, the
    terminal), never to a stream that was closed since."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # the stream is always the current sys.stderr


class PublisherHandler(StderrHandler):
    """The one handler :func:`configure` installs (found again and replaced, never doubled)."""


def configure(settings: Settings, *, service: bool = False) -> logging.Handler:
    """Log as the settings say; idempotent (a second call replaces the first's handler).

    ``service``: ``serve`` and ``worker``, which log from ``log_level``; other commands log
    warnings and errors only, since they print their own report."""
    level = logging.getLevelNamesMapping()[settings.log_level.upper()]
    handler = PublisherHandler()
    handler.setLevel(level if service else max(level, QUIET_LEVEL))
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.addFilter(Redact(secret_values(settings)))
    root = logging.getLogger()
    for existing in [h for h in root.handlers if isinstance(h, PublisherHandler)]:
        root.removeHandler(existing)
    root.addHandler(handler)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
    return handler
