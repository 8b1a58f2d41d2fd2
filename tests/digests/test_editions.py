"""Editions: one per (list, period), approved once, sent once, resumed, previewed as frozen.

The workflow (:func:`send_or_resume`) is what every shell calls; these tests read its events
as the CLI, the admin and the API do, against a real SMTP server and real databases.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from publisher.articles.drafts import ArticleDraft
from publisher.articles.store import save_draft
from publisher.db import session_scope
from publisher.delivery.runner import Senders
from publisher.digests import workflow
from publisher.digests.editions import (
    EditionState,
    NothingToSend,
    approve,
    find_edition,
    plan,
)
from publisher.digests.models import Edition
from publisher.digests.periods import parse_period
from publisher.digests.preview import preview
from publisher.subscribers.lists import get_list
from tests.delivery.sending_support import (
    LIST,
    LJUBLJANA,
    PERIOD,
    cli_env,
    settings_for,
    start_cli,
    stock,
)


def events_of(engine: Engine, settings, senders: Senders | None, **options) -> list:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        mailing_list = get_list(session, LIST)
    return list(
        workflow.send_or_resume(
            engine, settings, senders, mailing_list, parse_period(PERIOD), by="test", **options
        )
    )


def kinds(events: list) -> list[str]:  # type: ignore[type-arg]
    return [type(event).__name__ for event in events if not isinstance(event, workflow.Progress)]


def test_send_or_resume_approves_once_sends_to_everyone_then_has_nothing_to_do(
    engine: Engine, database_url: str, smtp
) -> None:
    addresses = stock(engine, 30)
    settings = settings_for(database_url, smtp.port)
    senders = Senders(engine, settings)
    first = events_of(engine, settings, senders, wait=True)
    assert kinds(first) == ["Planned", "Approved", "Started", "Finished"]
    finished = first[-1]
    assert finished.report.state is EditionState.sent and not finished.stopped
    assert finished.report.done == finished.report.total == 30
    progress = [event for event in first if isinstance(event, workflow.Progress)]
    assert progress and progress[-1].done == 30

    again = events_of(engine, settings, senders, wait=True)
    assert kinds(again) == ["Planned", "AlreadyFinished"]
    assert smtp.handler.per_recipient() == Counter({address: 1 for address in addresses})


def test_an_approved_edition_nobody_sends_is_resumed_not_approved_again(
    engine: Engine, database_url: str, smtp
) -> None:
    stock(engine, 5)
    settings = settings_for(database_url, smtp.port)
    queued = events_of(engine, settings, None, start=False)
    assert kinds(queued) == ["Planned", "Approved"]
    assert queued[-1].report.state is EditionState.sending and queued[-1].report.waiting == 5
    assert smtp.handler.received == []

    resumed = events_of(engine, settings, Senders(engine, settings), wait=True)
    assert kinds(resumed) == ["Planned", "Resuming", "Started", "Finished"]
    assert resumed[-1].report.state is EditionState.sent
    assert len(smtp.handler.per_recipient()) == 5


def test_dry_run_composes_every_language_and_creates_nothing(
    engine: Engine, database_url: str, smtp
) -> None:
    stock(engine, 3)
    settings = settings_for(database_url, smtp.port)
    events = events_of(engine, settings, Senders(engine, settings), dry_run=True)
    assert kinds(events) == ["Planned", "Composed", "Composed"]
    assert {event.preview.language for event in events[1:]} == {"sl", "en"}
    with Session(engine) as session:
        assert session.exec(select(Edition)).all() == []
    assert smtp.handler.received == []


def test_a_declined_confirmation_creates_nothing(engine: Engine, database_url: str, smtp) -> None:
    stock(engine, 3)
    settings = settings_for(database_url, smtp.port)
    asked: list[int] = []

    def confirm(planned) -> bool:  # type: ignore[no-untyped-def]
        asked.append(planned.recipients)
        return False

    events = events_of(engine, settings, Senders(engine, settings), confirm=confirm)
    assert kinds(events) == ["Planned", "Declined"] and asked == [3]
    with Session(engine) as session:
        assert session.exec(select(Edition)).all() == []


def test_the_preview_of_an_approved_edition_is_what_was_frozen(
    engine: Engine, database_url: str, smtp
) -> None:
    stock(engine, 2)
    settings = settings_for(database_url, smtp.port)
    events_of(engine, settings, None, start=False)  # approved, frozen
    with session_scope(engine) as session:  # news published afterwards, in the same week
        save_draft(
            session,
            ArticleDraft(
                external_id="test:late",
                title="Pozna novica o Krki",
                published_at=parse_period(PERIOD).bounds(LJUBLJANA)[0].replace(hour=20),
                body_html="<p>Pozno.</p>",
                body_text="Pozno.",
                summary="Pozno.",
            ),
        )
    with Session(engine) as session:
        planned = plan(session, settings, get_list(session, LIST), parse_period(PERIOD))
        shown = preview(session, settings, planned, "sl")
    assert shown.frozen
    assert "Novica 0: obnova ceste" in shown.html
    assert "Pozna novica" not in shown.html and "Pozna novica" not in shown.text


def test_week_without_articles_makes_no_edition_and_sends_nothing(
    engine: Engine, database_url: str, smtp
) -> None:
    stock(engine, 3)
    settings = settings_for(database_url, smtp.port)
    with Session(engine) as session:
        mailing_list = get_list(session, LIST)
        with pytest.raises(NothingToSend, match="no articles"):
            approve(session, settings, mailing_list, parse_period("2025-W30"), approved_by="t")
        session.commit()
        assert find_edition(session, mailing_list, parse_period("2025-W30")) is None
    assert smtp.handler.received == []


def test_same_week_triggered_from_three_processes_sends_once(
    engine: Engine, database_url: str, smtp, tmp_path: Path
) -> None:
    addresses = stock(engine, 60)
    env = cli_env(database_url, smtp.port)
    args = ["digest", "send", "--list", LIST, "--period", PERIOD, "--yes"]
    processes = [start_cli(*args, env=env, cwd=tmp_path) for _ in range(3)]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, err) in zip(processes, outputs, strict=True):
        sqlite_refusal = "another sender is running" in err
        assert process.returncode == 0 or sqlite_refusal, err
    with Session(engine) as session:
        assert len(session.execute(select(Edition)).scalars().all()) == 1
    assert smtp.handler.per_recipient() == Counter({address: 1 for address in addresses})
