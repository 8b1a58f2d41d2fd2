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
from dataclasses import dataclass
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


ACTION_LABELS = {
    AuditAction.sign_in: "sign-in",
    AuditAction.sign_in_failed: "failed sign-in",
    AuditAction.sign_out: "sign-out",
    AuditAction.sign_out_everywhere: "sign-out everywhere",
    AuditAction.register_export: "register export",
    AuditAction.data_download: "data download",
    AuditAction.erasure: "data erasure",
    AuditAction.suppression_lifted: "address block lifted",
    AuditAction.article_published: "article published",
    AuditAction.article_withdrawn: "article withdrawn",
    AuditAction.article_created: "article written",
    AuditAction.article_edited: "article edited",
    AuditAction.article_import_taken: "imported version taken",
    AuditAction.article_photo_changed: "article photo changed",
    AuditAction.edition_approved: "edition approved",
    AuditAction.edition_send_started: "sending started",
    AuditAction.edition_paused: "sending paused",
    AuditAction.edition_resumed: "sending resumed",
    AuditAction.edition_cancelled: "sending cancelled",
    AuditAction.edition_retried: "failed recipients retried",
    AuditAction.edition_note_set: "edition note",
    AuditAction.edition_articles_chosen: "edition articles chosen",
    AuditAction.staff_added: "staff member added",
    AuditAction.staff_removed: "staff member removed",
    AuditAction.staff_password_changed: "password changed",
    AuditAction.two_factor_enabled: "two-factor sign-in turned on",
    AuditAction.two_factor_disabled: "two-factor sign-in turned off",
    AuditAction.two_factor_failed: "wrong two-factor code",
    AuditAction.two_factor_reset: "two-factor sign-in reset",
    AuditAction.recovery_codes_regenerated: "new recovery codes",
    AuditAction.recovery_code_used: "recovery code used",
    AuditAction.api_token_created: "API token created",
    AuditAction.api_token_revoked: "API token revoked",
    AuditAction.settings_changed: "settings changed",
    AuditAction.retention_purge: "expired data deleted",
}
"""Each action as people read it (English source strings of the catalogs); the CSV and the log
keep the codes."""


def describe_action(code: str, language: str) -> str:
    """An action's name in ``language`` ("odobritev izdaje"); an unknown code as it is."""
    from publisher.translations import translations

    label = ACTION_LABELS.get(AuditAction(code)) if code in AuditAction.__members__ else None
    return translations(language).gettext(label) if label else code


# The details entries are written with, worded once: each writer stores ``detail_line(SOURCE,
# **values)`` (the English line the log, the CSV, the CLI and the API keep) and the admin shows
# the same line in its language through :func:`describe_detail` (the catalogs' sources).
PAUSED = "paused"
RESUMED = "resumed"
CANCELLED = "cancelled"
ACTIVE = "active"
SENDING = "sending"
"""``active`` and ``sending``: a resume's detail from the command line of older versions."""
RETRIED = "retry"
RETRIED_NONE = "retry-none"
SENDER_RESTARTED = "sender restarted"
QUEUED_AGAIN = "%(count)s queued again"
THROTTLED = "throttled"
FACTOR_THROTTLED = "%(purpose)s: throttled"
FACTOR_WRONG = "%(purpose)s: wrong"
FACTOR_REPLAYED = "%(purpose)s: replayed"
WITH_CODE = "with code"
WITH_RECOVERY_CODE = "with recovery code"
WITH_PASSWORD = "with password"
CODES_LEFT = "%(count)s left"
SESSIONS_ENDED = "%(count)s session(s) ended"
PASSWORD_FROM_STAFF_PAGE = "from the staff page"
PASSWORD_FROM_STAFF_PAGE_FIRST = "from the staff page; none was set up"
PASSWORD_FROM_COMMAND_LINE = "from the command line"
PASSWORD_FROM_COMMAND_LINE_FIRST = "from the command line; none was set up"
EVERY_ARTICLE = "every article"
NOTE_REMOVED = "%(language)s: removed"
NOTE_SET = "%(language)s: %(count)s characters"
REVISION_TAKEN = "revision %(revision)s"
EXPORTED_TO_FILE = "status=%(status)s format=%(format)s"
EXPORTED = "status=%(status)s"
SETTINGS_CHANGE = "before=%(before)s after=%(after)s"
SUPPRESSION_LIFTED = "was=%(was)s why=%(why)s"
ARTICLE_WRITTEN = "%(slug)s (%(status)s)"

DETAIL_WORDINGS = (
    PAUSED,
    RESUMED,
    CANCELLED,
    ACTIVE,
    SENDING,
    RETRIED,
    RETRIED_NONE,
    SENDER_RESTARTED,
    QUEUED_AGAIN,
    THROTTLED,
    FACTOR_THROTTLED,
    FACTOR_WRONG,
    FACTOR_REPLAYED,
    WITH_CODE,
    WITH_RECOVERY_CODE,
    WITH_PASSWORD,
    CODES_LEFT,
    SESSIONS_ENDED,
    PASSWORD_FROM_STAFF_PAGE,
    PASSWORD_FROM_STAFF_PAGE_FIRST,
    PASSWORD_FROM_COMMAND_LINE,
    PASSWORD_FROM_COMMAND_LINE_FIRST,
    EVERY_ARTICLE,
    NOTE_REMOVED,
    NOTE_SET,
    REVISION_TAKEN,
    EXPORTED_TO_FILE,  # before EXPORTED, which would read its format as part of the status
    EXPORTED,
    SETTINGS_CHANGE,
    SUPPRESSION_LIFTED,
    ARTICLE_WRITTEN,
)
"""Every detail wording, in the order the admin tries them on a stored line."""

SIGN_IN = "sign-in"
SET_UP = "set-up"
NEW_CODES = "new recovery codes"
TURNING_OFF = "turning off"
EVERY_STATUS = "all"
DETAIL_VALUES = (
    SIGN_IN,
    SET_UP,
    NEW_CODES,
    TURNING_OFF,
    EVERY_STATUS,
    "confirmed",
    "pending",
    "unsubscribed",
    "hard_bounce",
    "soft_bounce",
    "complaint",
    "draft",
    "scheduled",
    "published",
    "withdrawn",
)
"""The program's own words that go into a detail as values (what a second factor was typed
for, the status exported, the block lifted, a new article's state): the admin translates them."""

CONTROL_DETAILS = {"pause": PAUSED, "resume": RESUMED, "cancel": CANCELLED}
"""The detail of a pause, resume or cancel of a sending edition, the admin's and the CLI's."""


def detail_line(source: str, **values: object) -> str:
    """The stored (English) detail: one of :data:`DETAIL_WORDINGS` with its values."""
    return source % values if values else source


def describe_detail(detail: str, language: str) -> str:
    """An entry's detail in ``language``; a detail of no known wording (the chosen articles'
    ids, the counts of a purge, a line of an older version) as it is."""
    from publisher.translations import stored_line_in

    return stored_line_in(detail, DETAIL_WORDINGS, language, DETAIL_VALUES)


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


_API_PREFIX = "API token "
_COMMAND_LINE_SUFFIX = " (command line)"
_ADMIN_SUFFIX = " (admin)"
_SCHEDULE_PREFIX = "schedule"


def api_actor(token_name: str) -> str:
    """Who acts through the CMS API: the token, by the name staff gave it."""
    return f"{_API_PREFIX}{token_name}"


def command_line_actor() -> str:
    """Who runs a CLI command: the operating-system user, as the send records already say."""
    return f"{getpass.getuser()}{_COMMAND_LINE_SUFFIX}"


def admin_actor(email: str) -> str:
    """Who approves or starts a send in the admin: the staff member's address, marked as such
    (the audit log's sign-ins and changes name the address alone)."""
    return f"{email}{_ADMIN_SUFFIX}"


class ActorKind(StrEnum):
    staff = "staff"
    command_line = "command_line"
    api_token = "api_token"
    schedule = "schedule"
    system = "system"
    resident = "resident"
    other = "other"
    """Anything else recorded: what was typed at a failed sign-in, an import's source."""


@dataclass(frozen=True)
class Actor:
    """Who a stored actor text names: ``name`` is the address, the OS user, the token's name,
    the schedule entry or the program, as recorded."""

    kind: ActorKind
    name: str


SYSTEM_ACTORS = {
    "resumed by the server": "the system, resuming after a restart",
    "publisher worker": "the system, a sending worker",
    "publisher demo": "the system, the demo",
}
"""What the program itself records as who started a send, and how the admin words each
(English source strings of the catalogs)."""


def parse_actor(text: str) -> Actor:
    """What kind of actor a recorded text is; the stored text stays as it was (the CSV, the log
    and the audit filter read it), only its rendering changes."""
    if text.endswith(_COMMAND_LINE_SUFFIX):
        return Actor(ActorKind.command_line, text.removesuffix(_COMMAND_LINE_SUFFIX))
    if text.startswith(_API_PREFIX):
        return Actor(ActorKind.api_token, text.removeprefix(_API_PREFIX))
    if text == _SCHEDULE_PREFIX or text.startswith(_SCHEDULE_PREFIX + " ("):
        return Actor(ActorKind.schedule, text.removeprefix(_SCHEDULE_PREFIX).strip(" ()"))
    if text in SYSTEM_ACTORS:
        return Actor(ActorKind.system, text)
    if text == RESIDENT:
        return Actor(ActorKind.resident, text)
    address = text.removesuffix(_ADMIN_SUFFIX)
    if "@" in address and " " not in address:
        return Actor(ActorKind.staff, address.lower())
    return Actor(ActorKind.other, text)


def describe_actor(text: str, language: str, staff_names: Mapping[str, str]) -> str:
    """A recorded actor as staff read it in ``language``: a staff member by name (their address
    where they have none), "ukazna vrstica, uporabnik root", "žeton API »cms«", "samodejno po
    urniku", the system, the resident. ``staff_names`` maps lower-cased addresses to names."""
    from publisher.translations import translations

    actor = parse_actor(text)
    gettext = translations(language).gettext
    if actor.kind is ActorKind.staff:
        return staff_names.get(actor.name) or actor.name
    if actor.kind is ActorKind.command_line:
        return gettext("command line, user %(user)s") % {"user": actor.name}
    if actor.kind is ActorKind.api_token:
        return gettext("API token “%(name)s”") % {"name": actor.name}
    if actor.kind is ActorKind.schedule:
        return gettext("automatically, on schedule")
    if actor.kind is ActorKind.system:
        return gettext(SYSTEM_ACTORS[actor.name])
    if actor.kind is ActorKind.resident:
        return gettext("the subscriber, through their own link")
    return text


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
        return detail_line(SETTINGS_CHANGE, before="null", after=_json(dict(after)))
    changed = [key for key in after if before.get(key) != after[key]]
    return detail_line(
        SETTINGS_CHANGE,
        before=_json({key: before.get(key) for key in changed}),
        after=_json({key: after[key] for key in changed}),
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


def edition_subject(edition_id: int | None) -> str:
    """The ``subject`` of an entry about one edition (its controls, its approval by the API)."""
    return f"edition {edition_id}"


def last_control(session: Session, edition_id: int) -> AuditEntry | None:
    """The latest pause, resume, cancel or retry of an edition: who, when (for its page)."""
    codes = [action.value for action in EDITION_CONTROLS.values()]
    query = (
        select(AuditEntry)
        .where(AuditEntry.subject == edition_subject(edition_id))  # type: ignore[arg-type]
        .where(AuditEntry.action.in_(codes))  # type: ignore[attr-defined]
        .order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )
    return session.execute(query).scalars().first()


_CONTROLLED = {**CONTROL_DETAILS, "retry": "retried"}
"""Each control as a past participle, for the reason a person gave a job ("paused by …")."""


def control_reason(action: str, actor: str) -> str:
    """A paused or cancelled send's reason when a person paused or cancelled it: "cancelled by
    root (command line)", the same from the CLI, the admin and the API."""
    return f"{_CONTROLLED[action]} by {actor}"


def set_by_person(reason: str) -> bool:
    """Whether a send's state reason is a person's control (:func:`control_reason`, the CLI's
    "paused by root (command line)") rather than the program's own (the circuit breaker)."""
    _, by, actor = reason.rpartition(" by ")
    return bool(by) and parse_actor(actor).kind in PEOPLE


PEOPLE = {ActorKind.staff, ActorKind.command_line, ActorKind.api_token}
"""The actors who are people (or their tools), not the program."""
