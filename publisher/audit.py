"""The audit log: who did what to the register or the staff, when, and from where.

The data protection officer reads it (``/admin/audit``, or its CSV export) and so does syslog:
:func:`record` writes one ``audit_entry`` row and one ``key=value`` line to the logger
``publisher.audit``. Nothing in the program changes or deletes an entry; the admin page and
its export only read. A resident's erasure is recorded by the subscriber's number, never the
address, so that the log does not keep what the erasure removed.
"""

import getpass
import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String, func, select
from sqlmodel import Field, Session, SQLModel

from publisher.clock import utcnow
from publisher.db import UTCDateTime

log = logging.getLogger("publisher.audit")

RESIDENT = "resident"
"""The actor of what a resident does through their own link (a data download, an erasure)."""


class AuditAction(StrEnum):
    sign_in = "sign_in"
    sign_in_failed = "sign_in_failed"
    sign_out = "sign_out"
    sign_out_everywhere = "sign_out_everywhere"
    register_export = "register_export"
    data_download = "data_download"
    erasure = "erasure"
    suppression_lifted = "suppression_lifted"
    article_published = "article_published"
    article_withdrawn = "article_withdrawn"
    article_created = "article_created"
    """Staff wrote a new article in the admin."""
    article_edited = "article_edited"
    """Staff changed an article (``detail``: which fields)."""
    article_import_taken = "article_import_taken"
    """Staff took an import's held version of an article they had edited."""
    article_photo_changed = "article_photo_changed"
    """Staff gave an article a photo, changed its texts or took it away."""
    edition_approved = "edition_approved"
    edition_send_started = "edition_send_started"
    edition_paused = "edition_paused"
    edition_resumed = "edition_resumed"
    edition_cancelled = "edition_cancelled"
    edition_retried = "edition_retried"
    edition_note_set = "edition_note_set"
    """An editor's note of a draft edition set or removed (``sl: 312 characters``)."""
    edition_articles_chosen = "edition_articles_chosen"
    """A draft edition's articles and their order chosen (ids in order), or reset to all."""
    staff_added = "staff_added"
    staff_removed = "staff_removed"
    staff_password_changed = "staff_password_changed"
    two_factor_enabled = "two_factor_enabled"
    two_factor_disabled = "two_factor_disabled"
    two_factor_failed = "two_factor_failed"
    two_factor_reset = "two_factor_reset"
    recovery_codes_regenerated = "recovery_codes_regenerated"
    recovery_code_used = "recovery_code_used"
    api_token_created = "api_token_created"
    api_token_revoked = "api_token_revoked"
    settings_changed = "settings_changed"
    """A list or a topic created or changed (``before=… after=…``)."""
    retention_purge = "retention_purge"
    """Expired personal data deleted or anonymised (``detail``: the counts per kind)."""


EDITION_CONTROLS = {
    "pause": AuditAction.edition_paused,
    "resume": AuditAction.edition_resumed,
    "cancel": AuditAction.edition_cancelled,
    "retry": AuditAction.edition_retried,
}
"""The action recorded for each control of a sending edition, the admin's and the CLI's."""


class AuditEntry(SQLModel, table=True):
    """One recorded action; rows are only ever inserted."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    actor: str = Field(sa_column=Column(String(320), nullable=False, index=True))
    client: str = Field(default="", sa_column=Column(String(45), nullable=False))
    action: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    subject: str = Field(default="", sa_column=Column(String(500), nullable=False))
    detail: str = Field(default="", sa_column=Column(String(2000), nullable=False))


def api_actor(token_name: str) -> str:
    """Who acts through the CMS API: the token, by the name staff gave it."""
    return f"API token {token_name}"


def command_line_actor() -> str:
    """Who runs a CLI command: the operating-system user, as the send records already say."""
    return f"{getpass.getuser()} (command line)"


_NEEDS_QUOTES = re.compile(r'[\s"\\=]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _log_value(value: str) -> str:
    """A value for one syslog line: controls as ``\\xNN`` (no forged lines), quoted if needed."""
    text = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", value.replace("\\", "\\\\"))
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + text.replace('"', '\\"') + '"'


def settings_change(before: Mapping[str, object] | None, after: Mapping[str, object]) -> str:
    """The ``detail`` of a ``settings_changed`` entry: what changed, as JSON before and after
    (``before=null`` for something new); only the fields that differ."""
    if before is None:
        return f"before=null after={_json(dict(after))}"
    changed = [key for key in after if before.get(key) != after[key]]
    return (
        f"before={_json({key: before.get(key) for key in changed})} "
        f"after={_json({key: after[key] for key in changed})}"
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(
    session: Session,
    action: AuditAction,
    *,
    actor: str,
    client: str | None = None,
    subject: object = "",
    detail: object = "",
) -> AuditEntry:
    """Record ``action`` in the caller's transaction and write it to the log as one line."""
    entry = AuditEntry(
        actor=actor[:320],
        client=(client or "")[:45],
        action=action.value,
        subject=str(subject)[:500],
        detail=str(detail)[:2000],
    )
    session.add(entry)
    session.flush()
    fields = {
        "action": entry.action,
        "actor": entry.actor,
        "client": entry.client,
        "subject": entry.subject,
        "detail": entry.detail,
    }
    log.info("audit %s", " ".join(f"{key}={_log_value(value)}" for key, value in fields.items()))
    return entry


def entries(
    session: Session,
    *,
    action: AuditAction | None = None,
    actor: str = "",
    offset: int = 0,
    limit: int | None = 50,
) -> tuple[Sequence[AuditEntry], int]:
    """Entries newest first, of one action and/or an actor containing ``actor``; and the count."""
    query = select(AuditEntry)
    counted = select(func.count()).select_from(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action.value)  # type: ignore[arg-type]
        counted = counted.where(AuditEntry.action == action.value)  # type: ignore[arg-type]
    if actor:
        pattern = (
            "%" + actor.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        matches = func.lower(AuditEntry.actor).like(pattern, escape="\\")
        query = query.where(matches)
        counted = counted.where(matches)
    query = query.order_by(AuditEntry.id.desc()).offset(offset)  # type: ignore[union-attr]
    if limit is not None:
        query = query.limit(limit)
    total = session.execute(counted).scalar_one()
    return session.execute(query).scalars().all(), total
