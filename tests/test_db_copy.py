"""``publisher db copy --to postgresql://…``: a populated SQLite store (the demo's data, a
photo, a sent digest's delivery rows) found whole on PostgreSQL, photos in its database, and
new rows taking new ids there."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from publisher.articles.drafts import ArticleDraft
from publisher.articles.store import save_draft
from publisher.config import load_settings
from publisher.db import make_engine, session_scope, upgrade
from publisher.maintenance.tables import store_tables
from publisher.media.photos import WIDTHS, rendition_name
from publisher.media.store import media_store
from publisher.subscribers.models import Source
from publisher.subscribers.subscriptions import subscribe
from tests.backup_support import add_photo, cli, flat, load_previous_release, throwaway_database
from tests.conftest import TEST_SECRET
from tests.delivery.sending_support import LJUBLJANA


def rows(engine, table) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    """Every row of ``table``, in primary-key order, as the code reads it."""
    order = list(table.primary_key.columns) or list(table.columns)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(table).order_by(*order))]


@pytest.mark.postgres
def test_a_populated_sqlite_store_is_found_whole_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "site" / "publisher.db"
    database.parent.mkdir()
    load_previous_release(database)
    source_url = f"sqlite:///{database}"
    source = make_engine(source_url)
    upgrade(source)
    source_settings = load_settings(database_url=source_url)
    photo = add_photo(source, source_settings, "office-export:cistilna-akcija.txt")
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", source_url)

    with throwaway_database() as target_url:
        code, out = cli("db", "copy", "--to", target_url)
        assert code == 0, out
        target = make_engine(target_url)
        tables = store_tables(target)
        assert {"article", "subscriber", "consent", "delivery", "photo"} <= {
            table.name for table in tables
        }
        for table in tables:
            if table.name != "media_object":  # empty beside a folder store: photos below
                assert rows(target, table) == rows(source, table), table.name
            assert f"\n{table.name}\t" in out  # the count of every table is printed
        assert "every row, and 3 photo file(s) into its database" in flat(out)
        assert "PUBLISHER_SECRET_KEY" in flat(out)
        assert TEST_SECRET not in out  # where the key lives, never the key itself

        target_settings = load_settings(database_url=target_url)
        with Session(source) as reading, Session(target) as session:
            for use in WIDTHS:
                name = rendition_name(photo, use)
                copied = media_store(target_settings, session).get(name)
                original = media_store(source_settings, reading).get(name)
                assert copied is not None and original is not None
                assert copied.data == original.data

        with session_scope(target) as session:  # the sequences start past the copied ids
            save_draft(
                session,
                ArticleDraft(
                    external_id="test:after-copy",
                    title="Prva novica na PostgreSQL",
                    published_at=datetime(2025, 4, 1, 9, tzinfo=LJUBLJANA),
                    body_html="<p>Besedilo.</p>",
                    body_text="Besedilo.",
                    summary="Povzetek.",
                    topics=[],
                ),
            )
            subscribe(
                session,
                "nova.obcanka@example.org",
                "tedenske-novice",
                source=Source.staff,
                confirmed=True,
            )

        code, out = cli("db", "copy", "--to", target_url)
        assert code == 1 and "is not empty" in flat(out)
        target.dispose()
    source.dispose()


def test_db_copy_wants_a_postgresql_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source_url = f"sqlite:///{tmp_path / 'publisher.db'}"
    upgrade(make_engine(source_url))
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", source_url)
    code, out = cli("db", "copy", "--to", f"sqlite:///{tmp_path / 'other.db'}")
    assert code == 1 and "the target must be a PostgreSQL database" in flat(out)
