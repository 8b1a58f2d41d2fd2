"""CSV import: encodings, separators, quoting, line-numbered errors, merging, suppression."""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, select

from publisher.subscribers.csv_batches import RowOutcome
from publisher.subscribers.csv_import import import_csv
from publisher.subscribers.csv_rows import CsvFileError, sniff_encoding
from publisher.subscribers.models import (
    Consent,
    Source,
    Subscriber,
    SubscriberTopic,
    Subscription,
    SubscriptionStatus,
)
from publisher.subscribers.privacy import erase, subscriber_data
from publisher.subscribers.subscriptions import find_subscriber, subscribe, unsubscribe

from .conftest import count_rows

WriteFile = Callable[..., Path]


def counts(report) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {outcome.value: n for outcome, n in report.counts.items() if n}


def test_a_clean_file_imports_pending_with_names_languages_and_topics(
    session: Session, write_file: WriteFile
) -> None:
    path = write_file(
        "email,name,language,topics\n"
        "ana.novak@example.org,Ana Novak,sl,promet\n"
        'Bojan.Kos@Example.ORG ,Bojan Kos,EN,"kultura, sport"\n'
        "cvetka@example.org,,,\n"
    )
    report = import_csv(session, path, "tedenske-novice")
    assert report.ok and counts(report) == {"added": 3} and report.rows == 3
    bojan = find_subscriber(session, "bojan.kos@example.org")
    assert bojan is not None
    assert (bojan.email, bojan.name, bojan.language) == ("Bojan.Kos@example.org", "Bojan Kos", "en")
    assert subscriber_data(session, "bojan.kos@example.org")["topics"] == ["kultura", "sport"]
    cvetka = find_subscriber(session, "cvetka@example.org")
    assert cvetka is not None and cvetka.language == "sl"  # the list's default
    statuses = session.exec(select(Subscription.status, Subscription.source)).all()
    assert set(statuses) == {(SubscriptionStatus.pending, Source.import_)}
    assert count_rows(session, Consent) == 0


def test_confirmed_import_records_the_staff_import_as_consent_source(
    session: Session, write_file: WriteFile
) -> None:
    path = write_file("email\nana@example.org\nbojan@example.org\n", name="clani-2025.csv")
    import_csv(session, path, "promet", confirmed=True)
    consents = session.exec(select(Consent)).all()
    assert len(consents) == 2
    assert {c.source for c in consents} == {Source.import_}
    assert all("clani-2025.csv" in c.evidence for c in consents)
    assert {s.status for s in session.exec(select(Subscription))} == {SubscriptionStatus.confirmed}


def test_bad_rows_are_reported_with_their_line_and_reason_and_the_rest_import(
    session: Session, write_file: WriteFile
) -> None:
    path = write_file(
        "email,name,language\r\n"  # line 1
        "ana@example.org,Ana,sl\r\n"  # line 2
        'bojan@example.org,"Kos,\r\nBojan",sl\r\n'  # lines 3-4: LF inside the name
        "ni-naslov,Nekdo,sl\r\n"  # line 5
        "cvetka@example.org,Cvetka,de\r\n"  # line 6
        '"david@example.org","David\rHočevar",en\r\n'  # lines 7-8: a lone CR in the name
        "\r\n"  # line 9: blank
        "eva@example.org,Eva,en,odvečno\r\n"  # line 10: one field too many
        "franc@example.org,Franc Češnik,en\r\n"  # line 11
    )
    report = import_csv(session, path, "promet")
    assert [(r.line, r.reason.split(" ")[0]) for r in report.rejections] == [
        (3, "the"),
        (5, "invalid"),
        (6, "unknown"),
        (7, "the"),
        (10, "4"),
    ]
    reasons = [r.reason for r in report.rejections]
    assert "line break" in reasons[0] and "line break" in reasons[3]
    assert "'ni-naslov'" in reasons[1] and "'de' (use sl or en)" in reasons[2]
    assert str(report.rejections[0]).startswith("line 3: ")
    assert counts(report) == {"added": 2, "rejected": 5} and not report.ok
    assert {s.email for s in session.exec(select(Subscriber))} == {
        "ana@example.org",
        "franc@example.org",
    }


def test_unknown_topics_are_rejected_naming_the_known_ones(
    session: Session, write_file: WriteFile
) -> None:
    path = write_file("email;topics\nana@example.org;promet|gledalisce\n")
    report = import_csv(session, path, "promet")
    [rejection] = report.rejections
    assert (
        rejection.line == 2 and "gledalisce" in rejection.reason and "kultura" in rejection.reason
    )


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("cp1250", b"")],
    ids=["utf-8", "utf-8-bom", "windows-1250"],
)
def test_semicolon_files_in_each_encoding_keep_slovenian_letters(
    session: Session, write_file: WriteFile, encoding: str, prefix: bytes
) -> None:
    text = (
        "Email;Ime;Jezik\r\n"
        "helena.zagar@example.org;Helena Žagar;sl\r\n"
        "igor@example.org;Igor Škerjanc;sl\r\n"
        'jana@example.org;"Černe; Jana";en\r\n'
        "napačen naslov;Čšž;sl\r\n"
    )
    path = write_file(prefix + text.encode(encoding))
    report = import_csv(session, path, "promet")
    assert report.delimiter == ";"
    assert report.encoding == {"utf-8": "utf-8", "cp1250": "windows-1250"}[encoding] + (
        "-sig" if prefix else ""
    )
    assert counts(report) == {"added": 3, "rejected": 1}
    assert report.rejections[0].line == 5
    names = {s.name for s in session.exec(select(Subscriber))}
    assert names == {"Helena Žagar", "Igor Škerjanc", "Černe; Jana"}


@pytest.mark.parametrize(
    ("separator", "header"),
    [
        (",", "email,name,topics"),
        (";", "E-pošta;Ime in priimek;Teme"),
        ("\t", "email\tname\ttopics"),
        (";", '"email";"name";"topics"'),
    ],
)
def test_the_separator_is_read_from_the_header(
    session: Session, write_file: WriteFile, separator: str, header: str
) -> None:
    row = separator.join(["ana@example.org", '"Novak, Ana"', "promet"])
    path = write_file(f"{header}\r\n{row}\r\n")
    report = import_csv(session, path, "tedenske-novice")
    assert report.delimiter == separator
    assert report.ok and counts(report) == {"added": 1}
    ana = find_subscriber(session, "ana@example.org")
    assert ana is not None and ana.name == "Novak, Ana"
    assert subscriber_data(session, "ana@example.org")["topics"] == ["promet"]


def test_a_file_with_only_an_email_column_is_read_as_comma_separated(
    session: Session, write_file: WriteFile
) -> None:
    path = write_file("email\nana@example.org\nbojan@example.org\n")
    report = import_csv(session, path, "tedenske-novice")
    assert report.delimiter == ","
    assert counts(report) == {"added": 2}


def test_a_windows_1250_byte_far_into_the_file_is_still_detected() -> None:
    ascii_rows = b"".join(b"oseba%06d@example.org,Oseba\r\n" % n for n in range(60_000))
    late = "zadnji@example.org,Žiga Čeh\r\n".encode("cp1250")
    assert len(ascii_rows) > 1 << 20  # beyond the first chunk read
    assert sniff_encoding(io.BytesIO(b"email,name\r\n" + ascii_rows + late), "x.csv") == (
        "windows-1250"
    )


def test_duplicates_inside_the_file_are_merged_not_doubled(
    session: Session, write_file: WriteFile
) -> None:
    path = write_file(
        "email,name,language,topics\n"
        "ana@example.org,,sl,promet\n"
        "ANA@example.org ,Ana Novak,,kultura\n"
        "bojan@example.org,Bojan,sl,\n"
        "cvetka@example.org,Cvetka,sl,\n"
        " Ana@Example.org,,en,\n"  # a later batch (batch_size=2): merged against the import
    )
    report = import_csv(session, path, "promet", batch_size=2)
    assert counts(report) == {"added": 3, "merged": 2}
    assert count_rows(session, Subscriber) == 3 and count_rows(session, Subscription) == 3
    ana = find_subscriber(session, "ana@example.org")
    assert ana is not None and (ana.name, ana.language) == ("Ana Novak", "en")
    assert subscriber_data(session, "ana@example.org")["topics"] == ["kultura", "promet"]


def test_addresses_already_in_the_store_are_updated_or_left_unchanged(
    session: Session, write_file: WriteFile
) -> None:
    subscribe(session, "ana@example.org", "promet", source=Source.web, name="Ana")
    subscribe(session, "bojan@example.org", "promet", source=Source.web, name="Bojan")
    subscribe(session, "cvetka@example.org", "tedenske-novice", source=Source.web)
    path = write_file(
        "email,name\nana@example.org,Ana Novak\nBOJAN@example.org,Bojan\ncvetka@example.org,\n"
    )
    report = import_csv(session, path, "promet")
    assert counts(report) == {"updated": 1, "unchanged": 1, "added": 1}
    assert count_rows(session, Subscriber) == 3
    again = import_csv(session, path, "promet", confirmed=True)
    # pending → confirmed is an update for all three; the consent says it was this import.
    assert counts(again) == {"updated": 3}
    assert count_rows(session, Consent) == 3


def test_suppression_survives_reimport_and_unsubscribed_addresses_stay_out(
    session: Session, write_file: WriteFile
) -> None:
    path = write_file(
        "email,name\n"
        "ana@example.org,Ana\n"
        "bojan@example.org,Bojan\n"
        "cvetka@example.org,Cvetka\n"
        "david@example.org,David\n"
    )
    assert counts(import_csv(session, path, "promet", confirmed=True)) == {"added": 4}
    erase(session, "ana@example.org")  # GDPR erasure: only the hash is left
    unsubscribe(session, "BOJAN@example.org")  # everywhere: suppressed
    unsubscribe(session, "cvetka@example.org", "promet")  # this list only
    session.commit()

    report = import_csv(session, path, "promet", confirmed=True)
    assert counts(report) == {
        "skipped (suppressed)": 2,
        "skipped (unsubscribed)": 1,
        "unchanged": 1,
    }
    assert find_subscriber(session, "ana@example.org") is None
    data = {
        email: subscriber_data(session, email)["subscriptions"][0]["status"]
        for email in ("bojan@example.org", "cvetka@example.org", "david@example.org")
    }
    assert data == {
        "bojan@example.org": "unsubscribed",
        "cvetka@example.org": "unsubscribed",
        "david@example.org": "confirmed",
    }
    # Another list: the erased and the globally unsubscribed stay out, Cvetka may join it.
    other = import_csv(session, path, "tedenske-novice", confirmed=True)
    assert counts(other) == {"skipped (suppressed)": 2, "added": 2}


def test_a_dry_run_counts_the_same_and_saves_nothing(
    session: Session, write_file: WriteFile
) -> None:
    path = write_file("email\nana@example.org\nana@example.org\nbad\n")
    report = import_csv(session, path, "promet")
    session.rollback()
    assert counts(report) == {"added": 1, "merged": 1, "rejected": 1}
    assert count_rows(session, Subscriber) == 0 and count_rows(session, SubscriberTopic) == 0


def test_a_file_without_an_email_column_is_refused_as_a_whole(
    session: Session, write_file: WriteFile
) -> None:
    with pytest.raises(CsvFileError, match="include 'email'"):
        import_csv(session, write_file("ime,priimek\nAna,Novak\n"), "promet")
    with pytest.raises(CsvFileError, match="empty"):
        import_csv(session, write_file(""), "promet")


def test_unknown_columns_are_reported_and_export_columns_ignored(
    session: Session, write_file: WriteFile
) -> None:
    path = write_file("email,status,telefon\nana@example.org,confirmed,041 123 456\n")
    report = import_csv(session, path, "promet")
    assert report.ignored_columns == ["telefon"] and counts(report) == {"added": 1}
    [subscription] = session.exec(select(Subscription)).all()
    assert subscription.status == SubscriptionStatus.pending  # a status column grants nothing


def test_progress_is_reported_per_batch_up_to_the_file_size(
    session: Session, write_file: WriteFile
) -> None:
    path = write_file("email\n" + "".join(f"oseba{n}@example.org\n" for n in range(25)))
    seen: list[tuple[int, int, int]] = []
    import_csv(session, path, "promet", batch_size=10, on_progress=lambda *a: seen.append(a))
    assert [rows for rows, _, _ in seen] == [10, 20, 25]
    assert seen[-1][1] == seen[-1][2] == path.stat().st_size
    assert RowOutcome.added.value == "added"
