"""Writing checked subscriber rows a batch at a time, with a handful of set-based statements.

Each batch costs the same few statements whatever its size (``INSERT ... ON CONFLICT DO
NOTHING`` on both databases; on PostgreSQL one array parameter per column), so memory stays
flat however long the file is and 100,000 rows take seconds, not minutes. Each address has one
outcome (added, updated, unchanged, or skipped because it is suppressed or unsubscribed from
the list); a later batch meeting an address again counts it as ``merged``.
"""

from __future__ import annotations

import enum
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    MetaData,
    String,
    Table,
    any_,
    bindparam,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.schema import DropTable
from sqlmodel import Session

from publisher.clock import utcnow
from publisher.db import write_lock
from publisher.subscribers.csv_rows import CheckedRow
from publisher.subscribers.models import (
    Consent,
    Source,
    Subscriber,
    SubscriberTopic,
    Subscription,
    SubscriptionStatus,
    Suppression,
    new_token_uid,
)
from publisher.topics import Topic

BATCH_SIZE = 1000
"""Rows per set of statements: large enough to amortise round trips, small enough that the
``IN (...)`` lists stay well under SQLite's and PostgreSQL's parameter limits."""

SUBSCRIBER: Table = Subscriber.__table__  # type: ignore[attr-defined]
SUBSCRIPTION: Table = Subscription.__table__  # type: ignore[attr-defined]
SUBSCRIBER_TOPIC: Table = SubscriberTopic.__table__  # type: ignore[attr-defined]
CONSENT: Table = Consent.__table__  # type: ignore[attr-defined]
SUPPRESSION: Table = Suppression.__table__  # type: ignore[attr-defined]


class RowOutcome(enum.StrEnum):
    """What one row of an import did."""

    added = "added"
    updated = "updated"
    unchanged = "unchanged"
    merged = "merged"
    suppressed = "skipped (suppressed)"
    unsubscribed = "skipped (unsubscribed)"
    rejected = "rejected"


def _seen_table(session: Session) -> Table:
    """A temporary table of the addresses this import has met (by hash), so a later row for
    one of them is known as a duplicate however far apart the rows are, without holding every
    address of the file in memory. It lives in the import's transaction only."""
    schema = "pg_temp" if session.get_bind().dialect.name == "postgresql" else "temp"
    return Table(
        "publisher_import_seen",
        MetaData(),
        Column("address_hash", String(64), primary_key=True),
        schema=schema,
    )


class BatchWriter:
    """Writes one batch of checked rows with a fixed number of set-based statements.

    Inserts carry ``RETURNING`` so SQLAlchemy sends them as multi-row ``INSERT ... VALUES``
    ("insertmanyvalues") instead of one statement per row, on both databases.
    """

    def __init__(
        self,
        session: Session,
        list_id: int | None,
        list_language: str,
        confirmed: bool,
        path: Path,
    ) -> None:
        assert list_id is not None
        self.session = session
        self.list_id = list_id
        self.list_language = str(list_language)
        self.confirmed = confirmed
        self.evidence = f"staff import of {path.name} with --confirmed"
        self.topics: dict[str, int] = {
            slug: tid for tid, slug in session.execute(select(Topic.id, Topic.slug))
        }
        self.postgres = session.get_bind().dialect.name == "postgresql"
        # The batches read the store (through the temporary table) before they write it.
        write_lock(session)
        self.seen = _seen_table(session)
        # SQLite runs DDL outside the transaction, so an import refused half-way (and rolled
        # back) on this connection may have left its table behind: start from none.
        session.connection().execute(DropTable(self.seen, if_exists=True))
        self.seen.create(session.connection())

    def close(self) -> None:
        self.seen.drop(self.session.connection())

    def _among(self, column: Any, values: list[Any]) -> Any:
        """``column IN (values)``; on PostgreSQL ``= ANY(array)``, one parameter not 1,000."""
        if self.postgres:
            return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
        return column.in_(values)

    def _insert_many(
        self,
        table: Table,
        columns: dict[str, list[Any]],
        constants: dict[str, Any],
        keys: list[str],
        *returning: Any,
    ) -> list[Any]:
        """Insert rows given column-wise, skipping conflicts on ``keys``, in one statement.

        PostgreSQL gets ``INSERT ... SELECT FROM unnest(array, ...)``: one parameter per
        column however many rows. SQLite gets an executemany with ``RETURNING``, which
        SQLAlchemy sends as multi-row ``VALUES`` (its "insertmanyvalues").
        """
        names = list(columns)
        if not columns[names[0]]:
            return []
        if self.postgres:
            unnested = (
                func.unnest(
                    *[
                        bindparam(None, columns[name], type_=ARRAY(table.c[name].type))
                        for name in names
                    ]
                )
                .table_valued(*names)
                .render_derived()
            )
            source = select(
                *[unnested.c[name] for name in names],
                *[
                    literal(value, type_=table.c[name].type).label(name)
                    for name, value in constants.items()
                ],
            )
            statement = postgresql.insert(table).from_select([*names, *constants], source)
            statement = statement.on_conflict_do_nothing(index_elements=keys).returning(*returning)
            return list(self.session.execute(statement).all())
        rows = [
            dict(zip(names, values, strict=True), **constants)
            for values in zip(*columns.values(), strict=True)
        ]
        statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
        return list(self.session.execute(statement.returning(*returning), rows).all())

    def write(self, batch: dict[str, CheckedRow]) -> Counter[RowOutcome]:
        """Write one batch (one row per address) and count what each row did."""
        session = self.session
        counts: Counter[RowOutcome] = Counter()
        now = utcnow()
        rows = list(batch.values())
        hashes = [r.hash for r in rows]
        met_before = set(
            session.execute(
                select(self.seen.c.address_hash).where(
                    self._among(self.seen.c.address_hash, hashes)
                )
            ).scalars()
        )
        self._insert_many(
            self.seen,
            {"address_hash": [h for h in hashes if h not in met_before]},
            {},
            ["address_hash"],
            self.seen.c.address_hash,
        )
        suppressed = set(
            session.execute(
                select(SUPPRESSION.c.address_hash).where(
                    self._among(SUPPRESSION.c.address_hash, hashes)
                )
            ).scalars()
        )
        existing = {
            key: (sid, name, language, sub_id, status)
            for key, sid, name, language, sub_id, status in session.execute(
                select(
                    SUBSCRIBER.c.email_key,
                    SUBSCRIBER.c.id,
                    SUBSCRIBER.c.name,
                    SUBSCRIBER.c.language,
                    SUBSCRIPTION.c.id,
                    SUBSCRIPTION.c.status,
                )
                .outerjoin(
                    SUBSCRIPTION,
                    (SUBSCRIPTION.c.subscriber_id == SUBSCRIBER.c.id)
                    & (SUBSCRIPTION.c.list_id == self.list_id),
                )
                .where(self._among(SUBSCRIBER.c.email_key, list(batch)))
            )
        }
        chosen: set[tuple[int, int]] = set()
        known_ids = [value[0] for value in existing.values()]
        if known_ids and any(r.topic_ids for r in rows):
            chosen = {
                (sid, tid)
                for sid, tid in session.execute(
                    select(SUBSCRIBER_TOPIC.c.subscriber_id, SUBSCRIBER_TOPIC.c.topic_id).where(
                        self._among(SUBSCRIBER_TOPIC.c.subscriber_id, known_ids)
                    )
                )
            }

        new_people: list[CheckedRow] = []
        changed_people: list[dict[str, Any]] = []
        to_confirm: list[int] = []
        live: list[CheckedRow] = []  # rows whose subscriber gets or keeps a subscription
        for row in rows:
            outcome = self._classify(
                row, existing.get(row.key), row.hash in suppressed, chosen, now,
                new_people, changed_people, to_confirm,
            )  # fmt: skip
            if outcome in (RowOutcome.added, RowOutcome.updated, RowOutcome.unchanged):
                live.append(row)
            counts[RowOutcome.merged if row.hash in met_before else outcome] += 1

        ids = dict(
            self._insert_many(
                SUBSCRIBER,
                {
                    "email": [r.email for r in new_people],
                    "email_key": [r.key for r in new_people],
                    "address_hash": [r.hash for r in new_people],
                    "name": [r.name for r in new_people],
                    "language": [r.language or self.list_language for r in new_people],
                    "token_uid": [new_token_uid() for _ in new_people],
                },
                {"created_at": now, "updated_at": now},
                ["email_key"],
                SUBSCRIBER.c.email_key,
                SUBSCRIBER.c.id,
            )
        )
        if changed_people:
            session.execute(
                update(SUBSCRIBER)
                .where(SUBSCRIBER.c.id == bindparam("b_id"))
                .values(
                    name=bindparam("b_name"),
                    language=bindparam("b_language"),
                    updated_at=bindparam("b_now", type_=SUBSCRIBER.c.updated_at.type),
                ),
                changed_people,
            )
        for key, found in existing.items():
            ids[key] = found[0]
        missing = [r.key for r in live if r.key not in ids]
        if missing:  # added meanwhile by someone else (the insert skipped them): look them up
            for key, sid in session.execute(
                select(SUBSCRIBER.c.email_key, SUBSCRIBER.c.id).where(
                    self._among(SUBSCRIBER.c.email_key, missing)
                )
            ):
                ids[key] = sid
        status = SubscriptionStatus.confirmed if self.confirmed else SubscriptionStatus.pending
        subscribed = self._insert_many(
            SUBSCRIPTION,
            {
                "subscriber_id": [
                    ids[row.key]
                    for row in live
                    if (found := existing.get(row.key)) is None or found[3] is None
                ]
            },
            {
                "list_id": self.list_id,
                "status": str(status),
                "source": str(Source.import_),
                "created_at": now,
                "updated_at": now,
                "confirmed_at": now if self.confirmed else None,
            },
            ["subscriber_id", "list_id"],
            SUBSCRIPTION.c.subscriber_id,
        )
        consenting = [sid for (sid,) in subscribed]
        if to_confirm:
            consenting += (
                session.execute(
                    update(SUBSCRIPTION)
                    .where(self._among(SUBSCRIPTION.c.id, to_confirm))
                    .values(
                        status=str(SubscriptionStatus.confirmed), confirmed_at=now, updated_at=now
                    )
                    .returning(SUBSCRIPTION.c.subscriber_id)
                )
                .scalars()
                .all()
            )
        if self.confirmed:
            self._insert_many(
                CONSENT,
                {"subscriber_id": consenting},
                {
                    "list_id": self.list_id,
                    "given_at": now,
                    "source": str(Source.import_),
                    "wording_version": "",
                    "evidence": self.evidence,
                },
                ["id"],
                CONSENT.c.id,
            )
        links = [
            (ids[row.key], tid)
            for row in live
            for tid in row.topic_ids
            if (ids[row.key], tid) not in chosen
        ]
        self._insert_many(
            SUBSCRIBER_TOPIC,
            {"subscriber_id": [sid for sid, _ in links], "topic_id": [tid for _, tid in links]},
            {},
            ["subscriber_id", "topic_id"],
            SUBSCRIBER_TOPIC.c.subscriber_id,
        )
        return counts

    def _classify(
        self,
        row: CheckedRow,
        found: tuple[int, str, str, int | None, str | None] | None,
        suppressed: bool,
        chosen: set[tuple[int, int]],
        now: datetime,
        new_people: list[CheckedRow],
        changed_people: list[dict[str, Any]],
        to_confirm: list[int],
    ) -> RowOutcome:
        """Decide what one row does, queueing its writes; staff never override a refusal."""
        if suppressed:
            return RowOutcome.suppressed
        if found is None:
            new_people.append(row)
            return RowOutcome.added
        sid, name, language, sub_id, status = found
        if status == SubscriptionStatus.unsubscribed:
            return RowOutcome.unsubscribed
        changed = False
        new_name, new_language = row.name or name, row.language or language
        if (new_name, new_language) != (name, language):
            changed_people.append(
                {"b_id": sid, "b_name": new_name, "b_language": new_language, "b_now": now}
            )
            changed = True
        if any((sid, tid) not in chosen for tid in row.topic_ids):
            changed = True
        if sub_id is None:
            return RowOutcome.added
        if self.confirmed and status == SubscriptionStatus.pending:
            to_confirm.append(sub_id)
            changed = True
        return RowOutcome.updated if changed else RowOutcome.unchanged
