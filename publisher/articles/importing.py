"""Import many files, folders and feed URLs; report each one; let no bad item stop the rest."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from publisher.articles.drafts import ParsedSource, PhotoFile, Rejection, TopicRef
from publisher.articles.formats import (
    FeedFetchError,
    FetchPolicy,
    fetch_feed,
    iter_import_paths,
    parse_path,
    parse_source,
)
from publisher.articles.formats.sources import PHOTO_SUFFIXES
from publisher.articles.store import ArticleWriter, SaveOutcome
from publisher.logs import event

if TYPE_CHECKING:
    from publisher.articles.photos import PhotoIntake

log = logging.getLogger(__name__)

COMMIT_EVERY = 200
"""Sources per transaction: large imports stay fast, and a crash loses at most one batch,
which re-running the (idempotent) import restores."""


@dataclass
class SourceReport:
    """What happened to one file or feed."""

    source: str
    format: str = "unknown"
    encoding: str = "utf-8"
    outcomes: Counter[SaveOutcome] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Titles of articles staff had edited, whose new imported version was held, not applied."""
    warnings: list[Rejection] = field(default_factory=list)
    """Articles saved with a loss: a photo that could not be fetched or is not one we take
    (the article is saved without it), at the file and line, with the reason."""

    @property
    def status(self) -> str:
        """One word for the file: rejected, partly imported, or the outcome of its articles."""
        if self.rejections:
            return "partial" if self.outcomes else "rejected"
        for outcome in (SaveOutcome.imported, SaveOutcome.updated, SaveOutcome.kept_edit):
            if self.outcomes[outcome]:
                return str(outcome)
        return str(SaveOutcome.unchanged)


@dataclass
class ImportReport:
    sources: list[SourceReport] = field(default_factory=list)

    def count(self, outcome: SaveOutcome) -> int:
        return sum(report.outcomes[outcome] for report in self.sources)

    @property
    def rejections(self) -> list[Rejection]:
        return [rejection for report in self.sources for rejection in report.rejections]

    @property
    def warnings(self) -> list[Rejection]:
        return [warning for report in self.sources for warning in report.warnings]

    @property
    def ok(self) -> bool:
        return not self.rejections


def expand_sources(sources: Sequence[str]) -> list[str | Path]:
    """URLs as they are, folders as the files inside them; missing paths kept to be reported."""
    expanded: list[str | Path] = []
    for source in sources:
        if source.startswith(("http://", "https://")):
            expanded.append(source)
            continue
        path = Path(source)
        expanded.extend(iter_import_paths([path]) if path.is_dir() else [path])
    return expanded


def read_source(
    source: str | Path,
    *,
    tz: ZoneInfo,
    add_topics: Sequence[TopicRef] = (),
    add_communities: Sequence[str] = (),
    fetch_policy: FetchPolicy | None = None,
    photo_max_bytes: int | None = None,
) -> ParsedSource:
    """Parse one source; I/O problems become a rejection of that source, never an exception.

    Feed URLs are fetched under ``fetch_policy`` (by default: the public internet only).
    With ``photo_max_bytes``, an office export's photo (the image file of the same name
    beside it) is read onto its draft. Each draft gets ``add_topics`` and ``add_communities``
    after its own."""
    parsed = _read(source, tz=tz, fetch_policy=fetch_policy, photo_max_bytes=photo_max_bytes)
    for draft in parsed.drafts:
        draft.add_topics(add_topics)
        draft.add_communities(add_communities)
    return parsed


def _read(
    source: str | Path,
    *,
    tz: ZoneInfo,
    fetch_policy: FetchPolicy | None,
    photo_max_bytes: int | None,
) -> ParsedSource:
    name = str(source)
    if isinstance(source, str):
        try:
            data = fetch_feed(source, fetch_policy)
        except FeedFetchError as exc:
            return _unreadable(name, str(exc), format="feed")
        return parse_source(data, name, tz=tz)
    if not source.exists():
        return _unreadable(name, "no such file or folder")
    try:
        parsed = parse_path(source, tz=tz)
    except OSError as exc:
        return _unreadable(name, f"cannot read file: {exc.strerror or exc}")
    if photo_max_bytes is not None and parsed.format == "office-export" and parsed.drafts:
        _read_photo_beside(source, parsed, photo_max_bytes)
    return parsed


def _read_photo_beside(path: Path, parsed: ParsedSource, max_bytes: int) -> None:
    """``novica.jpg`` (``.jpeg``, ``.png``, ``.webp``, ``.heic``) beside ``novica.txt``, read
    onto the draft (a little past ``max_bytes`` at most, so a huge file is refused unread);
    one that cannot be read is a warning, never the article's loss."""
    try:
        siblings = sorted(
            child
            for child in path.parent.iterdir()
            if child.stem == path.stem and child.suffix.lower() in PHOTO_SUFFIXES
        )
    except OSError:
        return
    if not siblings:
        return
    photo = siblings[0]
    try:
        with photo.open("rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as exc:
        draft = parsed.drafts[0]
        reason = f"saved without its photo {photo}: cannot read it: {exc.strerror or exc}"
        parsed.warnings.append(Rejection(parsed.source, draft.line, reason))
        return
    parsed.drafts[0].photo = PhotoFile(str(photo), data)


def _unreadable(name: str, reason: str, format: str = "unknown") -> ParsedSource:
    return ParsedSource(name, format, rejections=[Rejection(name, None, reason)])


def import_sources(
    engine: Engine,
    sources: Sequence[str],
    *,
    tz: ZoneInfo,
    add_topics: Sequence[TopicRef] = (),
    add_communities: Sequence[str] = (),
    on_source_done: Callable[[SourceReport, int, int], None] | None = None,
    fetch_policy: FetchPolicy | None = None,
    photos: PhotoIntake | None = None,
    overwrite: bool = False,
) -> ImportReport:
    """Import every source and return a report; ``on_source_done(report, done, total)`` drives
    progress display in the CLI or the web; ``fetch_policy`` bounds feed URL downloads;
    with ``photos``, the photos articles bring are stored (a file beside an office export,
    a JSON ``image_url``). Every article is filed under ``add_topics`` (``articles import
    --topic``) as well as under the topics its source gives it, and concerns
    ``add_communities`` (``--community``) beside its own; an article naming a community that
    does not exist is refused at its file and line, the others are stored.

    An article staff have edited keeps their edit (outcome ``kept_edit``, the import's version
    held for them to take in the admin) unless ``overwrite``, which takes the imported one."""
    items = expand_sources(sources)
    report = ImportReport()
    done = 0
    with Session(engine, expire_on_commit=False) as session:
        writer = ArticleWriter(session, photos, overwrite=overwrite)
        photo_max_bytes = photos.settings.photo_max_bytes if photos is not None else None
        for batch_start in range(0, len(items), COMMIT_EVERY):
            batch = items[batch_start : batch_start + COMMIT_EVERY]
            parsed_batch = [
                read_source(
                    item,
                    tz=tz,
                    add_topics=add_topics,
                    add_communities=add_communities,
                    fetch_policy=fetch_policy,
                    photo_max_bytes=photo_max_bytes,
                )
                for item in batch
            ]
            for parsed in parsed_batch:
                _refuse_unknown_communities(writer, parsed)
            drafts = [draft for parsed in parsed_batch for draft in parsed.drafts]
            outcomes = iter(writer.save_all(drafts))
            warnings, writer.warnings = writer.warnings, []
            for parsed in parsed_batch:
                source_report = _report(parsed, [next(outcomes) for _ in parsed.drafts])
                source_report.warnings += [w for w in warnings if w.source == parsed.source]
                report.sources.append(source_report)
                done += 1
                if on_source_done is not None:
                    on_source_done(source_report, done, len(items))
            session.commit()
    event(
        log,
        "import finished",
        sources=len(report.sources),
        **{str(outcome): report.count(outcome) for outcome in SaveOutcome},
        rejected=len(report.rejections),
        warnings=len(report.warnings),
    )
    return report


def _refuse_unknown_communities(writer: ArticleWriter, parsed: ParsedSource) -> None:
    """Move the drafts that name a community nobody made into the source's rejections."""
    kept = []
    for draft in parsed.drafts:
        problem = writer.community_problem(draft)
        if problem is None:
            kept.append(draft)
        else:
            parsed.rejections.append(Rejection(draft.source or parsed.source, draft.line, problem))
    parsed.drafts = kept


def _report(parsed: ParsedSource, outcomes: list[SaveOutcome | SQLAlchemyError]) -> SourceReport:
    result = SourceReport(
        source=parsed.source,
        format=parsed.format,
        encoding=parsed.encoding,
        rejections=list(parsed.rejections),
        warnings=list(parsed.warnings),
    )
    for draft, outcome in zip(parsed.drafts, outcomes, strict=True):
        if isinstance(outcome, SQLAlchemyError):
            # Staff read the reason; the database's own words go to the log.
            log.error("article %r from %s not stored: %s", draft.title, parsed.source, outcome)
            reason = "could not be stored: the database refused it (the server log has the details)"
            result.rejections.append(Rejection(draft.source or parsed.source, draft.line, reason))
            continue
        result.outcomes[outcome] += 1
        if outcome is SaveOutcome.kept_edit:
            result.kept.append(draft.title)
        elif outcome is not SaveOutcome.unchanged:
            result.titles.append(draft.title)
    return result
