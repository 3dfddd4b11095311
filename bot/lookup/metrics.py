"""A metric asked for by the name a task shows it under ("/sota speech recognition by WER").

The archive stores speech recognition's WER as "Percentage error" on LibriSpeech, while other
boards of the task store "WER"; answers show both as WER (`variants.metric_label`). So a metric
asked for without a dataset means the main board when that board has the quantity, not the
first board that happens to spell it so.
"""

from __future__ import annotations

from sqlmodel import Session

from sotabot.sources.normalise.variants import metric_key
from sotabot.storage.leaderboards import Prefer, leaderboard


def on_main_board(
    session: Session, task_id: int, task_slug: str, dataset: str | None, metric: str | None, prefer: Prefer | None
) -> tuple[str | None, str | None]:
    """(dataset, metric) to ask storage for: unchanged, unless a merged quantity was asked for alone
    and the task's main board has it under its own name."""
    if not metric or dataset or metric_key(metric, task_slug) == metric:
        return dataset, metric
    main = leaderboard(session, task_id, limit=0, prefer=prefer)
    names = next((c.metrics for c in main.choices if c.benchmark_id == main.benchmark_id), []) if main else []
    same = [n for _, n in names if metric_key(n, task_slug) == metric_key(metric, task_slug)]
    return (main.dataset, same[0]) if main is not None and same else (dataset, metric)
