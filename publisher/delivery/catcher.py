"""The development mail catcher: an SMTP server on loopback that keeps what it is given.

Why it exists: the demo and a developer's machine must show *real* delivery (real SMTP, the
real bytes the sender produced) without a mail server and without any chance of mailing a
resident. So the catcher accepts every recipient, delivers nothing, and stores each message
in an SQLite file (``mailcatcher.db`` by default) that a local web page reads
(``publisher.web.mailcatcher``).

It only ever listens on a loopback address: it has no authentication and shows every message
to whoever can reach it, so binding it to a public interface is refused outright.

Storage is one SQLite file in WAL mode with ``synchronous=NORMAL``: a commit per message costs
tens of microseconds (no fsync per message), so the catcher swallows thousands of messages a
second and is never the demo's bottleneck, and everything survives a restart of the catcher
(though not a power cut in the last moments, which a development tool can live with).
"""

from __future__ import annotations

import ipaddress
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from publisher.clock import utcnow

DEFAULT_STORE_PATH = Path("mailcatcher.db")
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
SERVER_NAME = "publisher-mailcatcher"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so an old link never shows another
    received_at TEXT NOT NULL,             -- ISO 8601, UTC
    mail_from TEXT NOT NULL,               -- the envelope sender (MAIL FROM)
    rcpt_to TEXT NOT NULL,                 -- the envelope recipients (RCPT TO), one a line
    size INTEGER NOT NULL,
    head BLOB NOT NULL,                    -- the header block, so the list never loads bodies
    raw BLOB NOT NULL                      -- the message exactly as received after DATA
)
"""


class CatcherError(Exception):
    """The catcher cannot start as asked; the message says why and what to do."""


def check_loopback(host: str) -> str:
    """``host`` if it is a loopback address or name, else a :class:`CatcherError`.

    The catcher stores every message unauthenticated and a page shows them all; on any
    other interface it would be an open mail sink and a privacy leak.
    """
    name = host.strip().strip("[]")
    if name.lower() in LOOPBACK_NAMES:
        return name
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None and address.is_loopback:
        return name
    raise CatcherError(
        f"the development mail catcher listens only on a loopback address (127.0.0.1, ::1 or "
        f"localhost), not {host!r}: it keeps every message unauthenticated and shows it to "
        f"anyone who can reach it. Set PUBLISHER_SMTP_HOST=127.0.0.1 (a production relay is "
        f"never a catcher)."
    )


@dataclass(frozen=True)
class CaughtSummary:
    """What the list shows for one message; read from its header block only."""

    id: int
    received_at: datetime
    mail_from: str
    rcpt_to: tuple[str, ...]
    size: int
    subject: str
    from_header: str
    to_header: str


@dataclass(frozen=True)
class CaughtMessage:
    """One message as received: the raw bytes and the SMTP envelope."""

    id: int
    received_at: datetime
    mail_from: str
    rcpt_to: tuple[str, ...]
    raw: bytes

    @property
    def header_block(self) -> str:
        """The raw header lines as sent (8-bit bytes read as UTF-8)."""
        head, _ = _split_head(self.raw)
        return head.decode("utf-8", errors="replace")

    def read(self) -> MessageView:
        return read_message(self.raw)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageView:
    """A message taken apart for display with the standard library's parser."""

    subject: str
    from_header: str
    to_header: str
    date: str
    html: str | None
    text: str | None
    attachments: list[Attachment] = field(default_factory=list)


class MailStore:
    """Every caught message in one SQLite file, shared by the SMTP thread and the web page.

    One connection guarded by a lock: the SMTP server writes from its own thread while the
    page reads from uvicorn's, and SQLite serialises writers anyway.
    """

    def __init__(self, path: Path | str = DEFAULT_STORE_PATH) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise CatcherError(f"cannot open the mail catcher's store {self.path}: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> MailStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._db.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    def add(
        self,
        mail_from: str,
        rcpt_to: Sequence[str],
        raw: bytes,
        received_at: datetime | None = None,
    ) -> int:
        """Keep one message; returns its id (ids only grow, even after :meth:`clear`)."""
        moment = (received_at or utcnow()).astimezone(UTC)
        head, _ = _split_head(raw)
        with self._cursor() as cursor:
            cursor.execute(
                "INSERT INTO message (received_at, mail_from, rcpt_to, size, head, raw)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (moment.isoformat(), mail_from, "\n".join(rcpt_to), len(raw), head, raw),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def count(self, recipient: str | None = None) -> int:
        where, params = _recipient_filter(recipient)
        with self._cursor() as cursor:
            (total,) = cursor.execute(f"SELECT count(*) FROM message {where}", params).fetchone()
        return int(total)

    def list(
        self, *, limit: int = 50, offset: int = 0, recipient: str | None = None
    ) -> list[CaughtSummary]:
        """Newest first; ``recipient`` matches any part of an envelope recipient."""
        where, params = _recipient_filter(recipient)
        with self._cursor() as cursor:
            rows = cursor.execute(
                "SELECT id, received_at, mail_from, rcpt_to, size, head FROM message"
                f" {where} ORDER BY id DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [_summary(*row) for row in rows]

    def get(self, message_id: int) -> CaughtMessage | None:
        with self._cursor() as cursor:
            row = cursor.execute(
                "SELECT id, received_at, mail_from, rcpt_to, raw FROM message WHERE id = ?",
                (message_id,),
            ).fetchone()
        if row is None:
            return None
        id_, received_at, mail_from, rcpt_to, raw = row
        return CaughtMessage(
            id=id_,
            received_at=datetime.fromisoformat(received_at),
            mail_from=mail_from,
            rcpt_to=_recipients(rcpt_to),
            raw=bytes(raw),
        )

    def clear(self) -> int:
        """Forget every message; returns how many there were."""
        with self._cursor() as cursor:
            cursor.execute("DELETE FROM message")
            return cursor.rowcount


def _recipient_filter(recipient: str | None) -> tuple[str, tuple[str, ...]]:
    term = (recipient or "").strip()
    if not term:
        return "", ()
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "WHERE rcpt_to LIKE ? ESCAPE '\\'", (f"%{escaped}%",)


def _recipients(stored: str) -> tuple[str, ...]:
    return tuple(stored.split("\n")) if stored else ()


def _split_head(raw: bytes) -> tuple[bytes, bytes]:
    """Header block and body, at the first empty line (CRLF or bare LF)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(separator)
        if found:
            return head + separator[: len(separator) // 2], body
    return raw, b""


_header_parser = BytesHeaderParser(policy=policy.default)


def _summary(
    id_: int, received_at: str, mail_from: str, rcpt_to: str, size: int, head: bytes
) -> CaughtSummary:
    headers = _header_parser.parsebytes(bytes(head))
    return CaughtSummary(
        id=id_,
        received_at=datetime.fromisoformat(received_at),
        mail_from=mail_from,
        rcpt_to=_recipients(rcpt_to),
        size=size,
        subject=_header(headers, "Subject"),
        from_header=_header(headers, "From"),
        to_header=_header(headers, "To"),
    )


def _header(message: Any, name: str) -> str:
    """A header's decoded value, or its raw text if it is too broken to decode."""
    try:
        value = message.get(name)
    except Exception:  # a malformed header must not hide the whole message
        raw = [value for key, value in message.raw_items() if key.lower() == name.lower()]
        return str(raw[0]) if raw else ""
    return "" if value is None else str(value)


def read_message(raw: bytes) -> MessageView:
    """Subject, addresses, the HTML and text bodies and the attachments' names, for display."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    attachments = [
        Attachment(
            filename=part.get_filename() or "(brez imena)",
            content_type=part.get_content_type(),
            size=len(part.get_payload(decode=True) or b""),
        )
        for part in message.iter_attachments()
    ]
    return MessageView(
        subject=_header(message, "Subject"),
        from_header=_header(message, "From"),
        to_header=_header(message, "To"),
        date=_header(message, "Date"),
        html=_body_text(message, "html"),
        text=_body_text(message, "plain"),
        attachments=attachments,
    )


def _body_text(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        content = str(part.get_content())
    except (LookupError, ValueError):  # unknown charset or broken encoding: show what we can
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            return None
        content = payload.decode("utf-8", errors="replace")
    return content.replace("\r\n", "\n")


class CatchingHandler:
    """aiosmtpd handler: every recipient accepted, every message stored, nothing delivered."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content if isinstance(envelope.content, bytes) else b""
        message_id = self.store.add(envelope.mail_from or "", list(envelope.rcpt_tos), raw)
        return f"250 OK: caught as message {message_id}, not delivered"


class MailCatcher:
    """The SMTP side: aiosmtpd in its own thread, loopback only, 8BITMIME and SMTPUTF8."""

    def __init__(self, store: MailStore, host: str = "127.0.0.1", port: int = 8025) -> None:
        self.store = store
        self.host = check_loopback(host)
        self.port = port
        self._controller = Controller(
            CatchingHandler(store),
            hostname=self.host,
            port=port,
            server_hostname=SERVER_NAME,  # else aiosmtpd asks DNS for the machine's FQDN
            ident="publisher development mail catcher",
            enable_SMTPUTF8=True,  # 8BITMIME is on whenever decode_data is off (the default)
        )
        self._running = False

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def start(self) -> None:
        try:
            self._controller.start()
        except OSError as exc:
            self._controller.stop(no_assert=True)
            raise CatcherError(
                f"the mail catcher cannot listen on {self.address}: {exc.strerror or exc}. "
                "Is another catcher already running? Choose another port (--smtp-port or "
                "PUBLISHER_SMTP_PORT)."
            ) from None
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._controller.stop()
            self._running = False

    def __enter__(self) -> MailCatcher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
