"""``bounces fetch``: bounces read from a mailbox over IMAP, into the one handler.

The mailbox is the one the bounce domain's mail lands in (``bounce_imap_url``). Each new
message is read without marking it (``BODY.PEEK``) and handed to
:func:`~publisher.delivery.bounces.handle_message`; a bounce or complaint of ours (recorded,
a duplicate, or ignored like an out-of-office about one of our copies) is then moved to
``bounce_imap_folder``, and everything else is left exactly as it was: unread, unflagged, in
its folder, for a person to read (a scanner that deletes what it reads loses people's mail).
How far the folder was read (its UIDVALIDITY and the last UID looked at) is kept in the
database, so nothing is fetched twice, not even the messages left behind; a message that
could not be processed is reported and fetched again next time, and never stops the rest.

TLS always: ``imaps://`` speaks it from the start, ``imap://`` must offer STARTTLS or the
password is not sent. The password comes from a setting or a file, never from the URL.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from publisher.clock import utcnow
from publisher.config import Settings
from publisher.db import session_scope
from publisher.delivery.bounces.handler import handle_message
from publisher.delivery.bounces.policy import Disposition, Handled
from publisher.delivery.models import BounceMailbox
from publisher.tokens import Tokens

TIMEOUT = 60.0
"""Seconds any one exchange with the IMAP server may take."""
_FOLDER = re.compile(r"[A-Za-z0-9 ._/-]{1,200}")
_IMAP_ERRORS = (imaplib.IMAP4.error, OSError, ssl.SSLError, socket.timeout, EOFError)


class MailboxError(Exception):
    """The mailbox could not be read at all (settings, connection, login, folder)."""


@dataclass(frozen=True)
class Mailbox:
    """Where bounces are read: from ``bounce_imap_url``, without any password."""

    tls: str
    """``tls`` (imaps) or ``starttls`` (imap)."""
    host: str
    port: int
    user: str
    folder: str

    @property
    def key(self) -> str:
        """What the database remembers it by."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"

    def __str__(self) -> str:
        scheme = "imaps" if self.tls == "tls" else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def mailbox_of(settings: Settings) -> Mailbox | None:
    """The configured mailbox; ``None`` when there is none."""
    if not settings.bounce_imap_url:
        return None
    parts = urlsplit(settings.bounce_imap_url)
    tls = "tls" if parts.scheme == "imaps" else "starttls"
    folder = unquote(parts.path.strip("/")) or "INBOX"
    if not _FOLDER.fullmatch(folder):
        raise MailboxError(f"bounce_imap_url: {folder!r} is not a folder name this can read")
    if folder.lower() == settings.bounce_imap_folder.lower():
        raise MailboxError("bounce_imap_folder must be another folder than the one read")
    return Mailbox(
        tls=tls,
        host=parts.hostname or "",
        port=parts.port or (993 if tls == "tls" else 143),
        user=unquote(parts.username or ""),
        folder=folder,
    )


def mailbox_password(settings: Settings) -> str:
    """The password, from ``bounce_imap_password`` or the first line of its file."""
    if settings.bounce_imap_password is not None:
        return settings.bounce_imap_password.get_secret_value()
    path = settings.bounce_imap_password_file
    if path is None:
        raise MailboxError("set bounce_imap_password or bounce_imap_password_file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise MailboxError(
            f"bounce_imap_password_file: cannot read {path}: {exc.strerror}"
        ) from None
    if not lines or not lines[0]:
        raise MailboxError(f"bounce_imap_password_file: {path} is empty")
    return lines[0]


@dataclass(frozen=True)
class Fetched:
    """What became of one message: handled (and moved, if ours), or why not."""

    uid: int
    handled: Handled | None
    moved: bool = False
    error: str | None = None


@dataclass
class FetchRun:
    """One read of the mailbox."""

    mailbox: str
    results: list[Fetched] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for result in self.results if result.error is not None)


def fetch_bounces(
    engine: Engine, settings: Settings, *, on_message: Callable[[Fetched], None] | None = None
) -> FetchRun:
    """Read the new messages of the configured mailbox once; raises :class:`MailboxError`
    when it cannot be read at all (nothing configured, a refused login, no TLS)."""
    mailbox = mailbox_of(settings)
    if mailbox is None:
        raise MailboxError("no mailbox configured: set bounce_imap_url")
    password = mailbox_password(settings)
    run = FetchRun(str(mailbox))
    try:
        client = _connect(mailbox, settings)
    except _IMAP_ERRORS as exc:
        raise MailboxError(f"{mailbox}: cannot connect: {_words(exc)}") from None
    try:
        try:
            client.login(mailbox.user, password)
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"{mailbox}: login refused: {_words(exc)}") from None
        try:
            reader = _Reader(client, mailbox, settings)
            for result in reader.read(engine):
                run.results.append(result)
                if on_message is not None:
                    on_message(result)
        except _IMAP_ERRORS as exc:
            raise MailboxError(f"{mailbox}: {_words(exc)}") from None
    finally:
        with contextlib.suppress(_IMAP_ERRORS):
            client.logout()
    return run


def _connect(mailbox: Mailbox, settings: Settings) -> imaplib.IMAP4:
    context = ssl.create_default_context()
    if settings.bounce_imap_ca_file is not None:
        context.load_verify_locations(cafile=str(settings.bounce_imap_ca_file))
    if mailbox.tls == "tls":
        return imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=context, timeout=TIMEOUT)
    client = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT)
    try:
        if "STARTTLS" not in client.capabilities:
            raise MailboxError(
                f"{mailbox}: the server offers no STARTTLS; the password is not sent in clear "
                "(use imaps:// if it speaks TLS on another port)"
            )
        client.starttls(ssl_context=context)
    except BaseException:
        client.shutdown()
        raise
    return client


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Reader:
    """One session's work: the folder selected, its new messages read and filed."""

    def __init__(self, client: imaplib.IMAP4, mailbox: Mailbox, settings: Settings) -> None:
        self.client = client
        self.mailbox = mailbox
        self.settings = settings
        self.tokens = Tokens.from_settings(settings)
        _, data = client.capability()
        self.capabilities = set(_text(data[0]).upper().split()) if data and data[0] else set()

    def read(self, engine: Engine) -> Iterator[Fetched]:
        target = self.settings.bounce_imap_folder
        self._ensure_folder(target)
        status, data = self.client.select(_quoted(self.mailbox.folder))
        if status != "OK":
            raise MailboxError(f"{self.mailbox}: cannot open the folder: {_text(data[0])}")
        uidvalidity = int(_text((self.client.response("UIDVALIDITY")[1] or [b"0"])[0]) or 0)
        last_uid = _last_uid(engine, self.mailbox, uidvalidity)
        complete = True  # every message so far looked at: the mark may move past it
        for uid in self._uids_after(last_uid):
            result = self._one(engine, uid, target)
            complete = complete and result.error is None
            if complete:
                _remember(engine, self.mailbox, uidvalidity, uid)
            yield result

    def _ensure_folder(self, name: str) -> None:
        status, data = self.client.list('""', _quoted(name))
        if status == "OK" and any(item for item in data if item):
            return
        status, data = self.client.create(_quoted(name))
        if status != "OK":
            raise MailboxError(f"{self.mailbox}: cannot create the folder {name!r}: {data!r}")

    def _uids_after(self, last_uid: int) -> list[int]:
        status, data = self.client.uid("SEARCH", None, f"UID {last_uid + 1}:*")
        if status != "OK":
            raise MailboxError(f"{self.mailbox}: search refused: {_text(data[0])}")
        found = [int(uid) for uid in _text(data[0] or b"").split() if uid.isdigit()]
        # "N:*" names the last message even when its UID is below N.
        return sorted(uid for uid in found if uid > last_uid)

    def _one(self, engine: Engine, uid: int, target: str) -> Fetched:
        try:
            size = self._size(uid)
            if size is not None and size > self.settings.bounce_max_bytes:
                handled = Handled(
                    Disposition.not_ours,
                    f"{size:,} bytes, over bounce_max_bytes: left unread where it is",
                )
                return Fetched(uid, handled)
            raw = self._body(uid)
        except _IMAP_ERRORS as exc:
            return Fetched(uid, None, error=f"could not be fetched: {_words(exc)}")
        if raw is None:
            return Fetched(uid, None, error="the server sent no body for it")
        try:
            with session_scope(engine) as session:
                handled = handle_message(
                    session, self.settings, raw, source="imap", tokens=self.tokens
                )
        except Exception as exc:  # one broken message must not stop the ones after it
            return Fetched(uid, None, error=f"could not be processed: {_words(exc)}")
        if not handled.ours:
            return Fetched(uid, handled)
        try:
            self._move(uid, target)
        except _IMAP_ERRORS as exc:
            return Fetched(uid, handled, error=f"processed, but not moved: {_words(exc)}")
        return Fetched(uid, handled, moved=True)

    def _size(self, uid: int) -> int | None:
        status, data = self.client.uid("FETCH", str(uid), "(RFC822.SIZE)")
        if status != "OK":
            return None
        for item in data:
            match = re.search(rb"RFC822\.SIZE (\d+)", item if isinstance(item, bytes) else b"")
            if match:
                return int(match[1])
        return None

    def _body(self, uid: int) -> bytes | None:
        status, data = self.client.uid("FETCH", str(uid), "(BODY.PEEK[])")
        if status != "OK":
            raise imaplib.IMAP4.error(_text(data[0]) if data else "FETCH refused")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    def _move(self, uid: int, target: str) -> None:
        if "MOVE" in self.capabilities:
            status, data = self.client.uid("MOVE", str(uid), _quoted(target))
            if status != "OK":
                raise imaplib.IMAP4.error(_text(data[0]))
            return
        # No MOVE (RFC 6851): copy, mark the original deleted, expunge just it where UIDPLUS
        # allows (a plain EXPUNGE also removes whatever else someone marked deleted).
        status, data = self.client.uid("COPY", str(uid), _quoted(target))
        if status != "OK":
            raise imaplib.IMAP4.error(_text(data[0]))
        self.client.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
        if "UIDPLUS" in self.capabilities:
            self.client.uid("EXPUNGE", str(uid))
        else:
            self.client.expunge()


def _state(session: Session, mailbox: Mailbox) -> BounceMailbox | None:
    return session.execute(
        select(BounceMailbox).where(BounceMailbox.mailbox == mailbox.key)  # type: ignore[arg-type]
    ).scalar_one_or_none()


def _last_uid(engine: Engine, mailbox: Mailbox, uidvalidity: int) -> int:
    """The last UID looked at; 0 for a folder never read, or one renumbered since."""
    with session_scope(engine) as session:
        row = _state(session, mailbox)
        return 0 if row is None or row.uidvalidity != uidvalidity else int(row.last_uid)


def _remember(engine: Engine, mailbox: Mailbox, uidvalidity: int, uid: int) -> None:
    with session_scope(engine) as session:
        row = _state(session, mailbox) or BounceMailbox(
            mailbox=mailbox.key, uidvalidity=uidvalidity, last_uid=uid
        )
        row.uidvalidity, row.last_uid, row.checked_at = uidvalidity, uid, utcnow()
        session.add(row)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _words(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
