"""Polls: the registry of pollers, the frame each one runs in, and what it reports.

`POLLERS` is the one list of sources that can be polled: `sotabot poll NAME` and the
scheduler's jobs both come from it. Every poller's `poll(engine, config, since=None)` runs
its work inside `run_poll`, which turns an upstream or database failure into a reported
error (never an exception for the scheduler), counts the requests and records the outcome
in source_state. Every poller returns a PollReport so `sotabot poll`, the scheduler,
`sotabot status` and /metrics all read the same numbers.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from sotabot.sources.settings import SourcesSettings
from sotabot.sources.upstream.http import UpstreamError, poll_deadline
from sotabot.storage.db import analyze
from sotabot.storage.imports import import_running
from sotabot.storage.models import ERROR_CHARS, SourceState
from sotabot.storage.results import NEW_SOTA, RecordOutcome

log = logging.getLogger(__name__)

ANALYZE_AFTER_ROWS = 1000  # a poll that wrote at least this many rows refreshes the planner statistics


@dataclass
class PollReport:
    source: str
    new: int = 0
    updated: int = 0
    linked: int = 0
    unchanged: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    details: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        """Add to a named detail counter (shown by `summary` and `sotabot poll --json`)."""
        self.details[key] = self.details.get(key, 0) + n

    def count_result(self, outcome: RecordOutcome) -> None:
        """Count one `record_result` outcome: new, updated or unchanged, and its events."""
        if outcome.created:
            self.new += 1
        elif outcome.changed:
            self.updated += 1
        else:
            self.unchanged += 1
        self.add("events", len(outcome.events))
        self.add("new_sota", sum(e.kind == NEW_SOTA for e in outcome.events))

    def finish(self, engine: Engine, now: datetime | None = None) -> PollReport:
        """Record the outcome in source_state and log the summary; a database fault is logged, not raised."""
        try:
            record_outcome(engine, self.source, "; ".join(self.errors[:5]) or None, now)
        except SQLAlchemyError as exc:  # the database went away mid-poll: the scheduler must go on
            log.error("%s: outcome not recorded: %s", self.source, exc)
        log.info("%s", self.summary())
        return self

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        parts = [f"{self.source}: {self.new} new", f"{self.updated} updated", f"{self.linked} linked"]
        parts += [f"{v} {k}" for k, v in self.details.items()]
        parts.append(f"{len(self.errors)} errors")
        return ", ".join(parts)


def get_state(session: Session, source: str) -> SourceState:
    """The source's state row, created empty on first use."""
    state = session.exec(select(SourceState).where(SourceState.source == source)).first()
    if state is None:
        state = SourceState(source=source)
        session.add(state)
        session.flush()
    return state


def record_outcome(engine: Engine, source: str, error: str | None, now: datetime | None = None) -> None:
    """Store last success or last error for `source` in its own short transaction."""
    now = now or datetime.now(UTC)
    with Session(engine) as session:
        state = get_state(session, source)
        state.runs += 1
        if error:
            state.last_error_at = now
            state.last_error = error[:ERROR_CHARS]
        else:
            state.last_success_at = now
        session.add(state)
        session.commit()


class _Client(Protocol):
    requests: int

    def close(self) -> None: ...


def run_poll(
    engine: Engine,
    source: str,
    body: Callable[[PollReport], None],
    *,
    client: _Client | None = None,
    now: Callable[[], datetime] | None = None,
    record: bool = True,
    deadline: float | None = None,
) -> PollReport:
    """Run one poll's `body` in the frame every poller shares.

    `deadline`: seconds of wall-clock time for the whole run (`Poller.poll` sets the
    configured one); a poll cut off by it ends with that error recorded, shown by
    `sotabot status`, and whatever transaction it had open rolled back.

    An upstream outage or a database fault ends the poll with an error in the report (the
    scheduler must go on); the client's requests are counted and it is closed; the outcome
    is recorded under `source` unless the poller records finer-grained states itself
    (`record=False`).
    """
    report = PollReport(source)
    try:
        if deadline is None:
            body(report)
        else:
            with poll_deadline(deadline):
                body(report)
    except UpstreamError as exc:
        report.errors.append(str(exc)[:500])
        log.warning("%s: %s", source, exc)
    except SQLAlchemyError as exc:  # the database itself failed: report it, do not crash the scheduler
        report.errors.append(f"database: {exc.__class__.__name__}: {exc}"[:500])
        log.error("%s: database error: %s", source, exc)
    finally:
        if client is not None:
            report.requests = client.requests
            client.close()
    _analyze_after(engine, report)
    if record:
        return report.finish(engine, now() if now else None)
    log.info("%s", report.summary())
    return report


def _analyze_after(engine: Engine, report: PollReport) -> None:
    """A poll that wrote many rows leaves the planner's statistics fresh (a fault is logged, not raised)."""
    if report.new + report.updated + report.linked < ANALYZE_AFTER_ROWS:
        return
    try:
        analyze(engine)
    except SQLAlchemyError as exc:
        log.warning("%s: statistics not refreshed: %s", report.source, exc)


@dataclass(frozen=True)
class Poller:
    """A pollable source: its `sotabot poll` name, scheduler job id, module and interval (minutes; 0 is off)."""

    name: str
    job_id: str
    module: str
    interval_minutes: Callable[[SourcesSettings], int]
    # writes tasks, benchmarks and metrics: waits while an archive import runs (the importer
    # keeps those by name between its chunks, so a new one written meanwhile would collide)
    waits_for_imports: bool = False

    def poll(self, engine: Engine, config: SourcesSettings, since: date | None = None) -> PollReport:
        """Run the poll within `sources.http.poll_deadline_seconds` of wall-clock time.

        The module is imported on first use: a CLI start imports no client it does not need.
        """
        if self.waits_for_imports and import_running(engine):
            log.info("%s: an archive import is running; this poll is deferred to the next one", self.name)
            report = PollReport(self.name)
            report.add("deferred_by_import")
            return report
        func: Callable[..., Any] = importlib.import_module(self.module).poll
        with poll_deadline(config.sources.http.poll_deadline_seconds):
            return func(engine, config, since=since)


POLLERS: tuple[Poller, ...] = (
    Poller("arxiv", "poll:arxiv", "sotabot.sources.upstream.arxiv", lambda c: c.sources.arxiv.poll_interval_minutes),
    # claims in the papers arXiv stored: on arXiv's interval, no network of its own
    Poller("claims", "claims", "sotabot.sources.claims.store", lambda c: c.sources.arxiv.poll_interval_minutes),
    Poller(
        "huggingface", "poll:huggingface", "sotabot.sources.upstream.huggingface",
        lambda c: c.sources.huggingface.poll_interval_minutes,
    ),
    Poller(
        "github", "poll:github", "sotabot.sources.upstream.github",
        lambda c: c.sources.github.refresh_interval_minutes,
    ),
    Poller(
        "paperswithcode", "poll:paperswithcode", "sotabot.sources.upstream.paperswithcode",
        lambda c: c.sources.paperswithcode.poll_interval_minutes, waits_for_imports=True,
    ),
    Poller(
        "hf-leaderboards", "poll:hf-leaderboards", "sotabot.sources.upstream.hf_leaderboards",
        lambda c: c.sources.huggingface.leaderboards_interval_minutes, waits_for_imports=True,
    ),
)


def poller(name: str) -> Poller:
    """The poller called `name` (KeyError when there is none)."""
    for p in POLLERS:
        if p.name == name:
            return p
    raise KeyError(name)
