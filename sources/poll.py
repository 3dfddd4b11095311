"""What one poll of a source reports, and how it records its outcome in source_state.

Every poller returns a PollReport so `sotabot poll`, the scheduler, `sotabot status` and
/metrics all read the same numbers; `record_outcome` keeps last success and last error per
source so a failing upstream is visible without stopping anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.models import SourceState


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
