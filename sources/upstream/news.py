"""What a live sync may announce: only what is new to us, never a board's history.

The first time a live source reads a benchmark, everything on it is history: the rows are
stored as a baseline and write no event (a channel following the task would otherwise be
told about years-old results as news). The one exception is a row dated on or after the
day a channel subscribed to the task: that channel has not seen it, so it is news whether
or not the board was read before; such a row's events carry `subscribed_by` (its date), and
digests.alerts tells only the channels that subscribed by then (a channel that subscribed
later saw the row on the board). Every later sync of the benchmark announces what is new
as usual (`storage.results.record_result` decides new_result / new_sota).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from sotabot.storage.models import Result, Subscription


def is_baseline(session: Session, benchmark_id: int | None, source: str) -> bool:
    """True when `source` has never stored a result on the benchmark: its first sync is a baseline."""
    if benchmark_id is None:
        return True
    found = session.exec(
        select(Result.id).where(Result.benchmark_id == benchmark_id, Result.source == source).limit(1)
    ).first()
    return found is None


def subscribed_since(session: Session, task_slug: str) -> date | None:
    """The day the first channel subscribed to the task (None: nobody follows it)."""
    first = session.exec(
        select(func.min(Subscription.created_at)).where(Subscription.kind == "task", Subscription.target == task_slug)
    ).one()
    return first.date() if first is not None else None


def is_news(baseline: bool, result_date: date | None, since: date | None) -> bool:
    """Whether a row is announced: always after the baseline, else only when dated since a subscription."""
    if not baseline:
        return True
    return since is not None and result_date is not None and result_date >= since
