"""What one poll of a source reports, and how it records its outcome in source_state.

Every poller returns a PollReport so `sotabot poll`, the scheduler, `sotabot status` and
/metrics all read the same numbers; `record_outcome` keeps last success and last error per
source so a failing upstream is visible without stopping anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from storage.models import SourceState
from storage.results import NEW_SOTA, RecordOutcome

log = logging.getLogger(__name__)


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
            state.last_error = error[:2000]
        else:
            state.last_success_at = now
        session.add(state)
        session.commit()
