"""The state-of-the-art-over-time chart of a benchmark, as a PNG (matplotlib, Agg).

Every dated result is a dot; the best value so far is a step line that rises (or falls, for
lower-is-better metrics) at each record; the record holders are labelled, at most
MAX_LABELS of them so labels stay readable. `render_sota_chart` returns exactly the data it
handed to matplotlib (`ChartData`), so tests can check the picture's numbers without
reading pixels. The figure is built without pyplot, so charts can be drawn from any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from os import PathLike
from typing import Any, Protocol

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from sqlmodel import Session

from sotabot.sources.normalise.variants import metric_label
from sotabot.storage.leaderboards import Leaderboard, leaderboard, sota_series

MAX_LABELS = 8
MAX_NAME = 24
HIGHER = "↑ higher is better"
LOWER = "↓ lower is better"

_DOT = "#9aa5b1"
_RECORD = "#1f6feb"


class ChartError(ValueError):
    """Nothing to chart, or the file cannot be written: a one-line reason for the user."""


class Point(Protocol):
    """What a chart point needs (storage.leaderboards.SeriesPoint has it)."""

    date: date
    value: float
    model: str
    paper_title: str | None
    is_record: bool


@dataclass
class ChartLabel:
    date: date
    value: float
    text: str


@dataclass
class ChartData:
    """The numbers given to matplotlib: all results, the best-so-far steps, the labels drawn."""

    dates: list[date]
    values: list[float]
    best_dates: list[date]
    best_values: list[float]
    labels: list[ChartLabel]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    extends_to: date | None = None  # the record line is drawn on (dashed) to the last result
    meta: dict[str, Any] = field(default_factory=dict)


def short_name(name: str, limit: int = MAX_NAME) -> str:
    text = " ".join(name.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def direction_label(higher_is_better: bool | None) -> str:
    return HIGHER if higher_is_better is True else LOWER if higher_is_better is False else "direction unknown"


def _records(points: list[Point], higher_is_better: bool | None) -> list[Point]:
    """The record-setting points: the series' own flags, else recomputed in the direction."""
    if any(p.is_record for p in points) or higher_is_better is None:
        return [p for p in points if p.is_record]
    records: list[Point] = []
    for p in points:
        if not records or (p.value > records[-1].value if higher_is_better else p.value < records[-1].value):
            records.append(p)
    return records


def _pick_labels(records: list[Point]) -> list[Point]:
    """At most MAX_LABELS records, spread over time, always the first and the current one."""
    if len(records) <= MAX_LABELS:
        return list(records)
    step = (len(records) - 1) / (MAX_LABELS - 1)
    picked = sorted({round(i * step) for i in range(MAX_LABELS)})
    return [records[i] for i in picked]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def render_sota_chart(
    series: Sequence[Point],
    path: str | PathLike[str],
    *,
    title: str,
    metric: str | None,
    higher_is_better: bool | None,
) -> ChartData:
    """Draw the chart of `series` (date order not required) to `path` as a PNG."""
    points = sorted((p for p in series if p.date is not None and p.value is not None), key=lambda p: p.date)
    if not points:
        raise ChartError("no dated results with a value: nothing to chart")
    records = _records(points, higher_is_better)
    labelled = _pick_labels(records)
    metric_name = metric or "value"
    data = ChartData(
        dates=[p.date for p in points],
        values=[float(p.value) for p in points],
        best_dates=[p.date for p in records],
        best_values=[float(p.value) for p in records],
        labels=[ChartLabel(p.date, float(p.value), f"{short_name(p.model)} ({_fmt(p.value)})") for p in labelled],
        title=title or "State of the art over time",
        xlabel="Date",
        ylabel=f"{metric_name} ({direction_label(higher_is_better)})",
        extends_to=points[-1].date if records and points[-1].date > records[-1].date else None,
        meta={"lower": higher_is_better is False},
    )
    data.labels = _draw(data, path)
    return data


def _draw(data: ChartData, path: str | PathLike[str]) -> list[ChartLabel]:
    """Draw and save; returns the labels actually placed (a label with no free spot is left out)."""
    fig = Figure(figsize=(9, 4.8), dpi=110)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.scatter(data.dates, data.values, s=14, color=_DOT, alpha=0.7, label="result", zorder=2)
    if data.best_dates:
        ax.step(data.best_dates, data.best_values, where="post", color=_RECORD, linewidth=1.8,
                label="state of the art", zorder=3)
        ax.scatter(data.best_dates, data.best_values, s=28, color=_RECORD, zorder=4)
        if data.extends_to is not None:
            ax.plot([data.best_dates[-1], data.extends_to], [data.best_values[-1]] * 2,
                    color=_RECORD, linewidth=1.2, linestyle="--", zorder=3)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_title(data.title, fontsize=11)
    ax.set_xlabel(data.xlabel)
    ax.set_ylabel(data.ylabel)
    ax.grid(True, alpha=0.3)
    ax.margins(x=0.06, y=0.22)
    ax.legend(loc="lower right" if not data.meta.get("lower") else "upper right", fontsize=8, frameon=False)
    fig.tight_layout()
    placed = _place_labels(ax, canvas.get_renderer(), data)
    try:
        fig.savefig(path, format="png")
    except OSError as exc:
        raise ChartError(f"cannot write the chart to {path}: {exc.strerror or exc}") from None
    return placed


def _place_labels(ax: Any, renderer: Any, data: ChartData) -> list[ChartLabel]:
    """Put each label on the empty side of the record line, inside the plot, overlapping no other.

    Nothing lies beyond the record line (above it when higher is better, below when lower),
    so a label tries rows stacked away from its point there, to the right of the point in the
    left half of the plot and to the left in the right half, then the other side. The first
    and the current record are always drawn, at their last tried spot if nothing is free.
    """
    sign = -1 if data.meta.get("lower") else 1
    frame = ax.get_window_extent(renderer)
    taken: list[Any] = []
    placed: list[ChartLabel] = []
    for i, label in enumerate(data.labels):
        x_pixels = ax.transData.transform((ax.xaxis.convert_units(label.date), label.value))[0]
        right_first = x_pixels < frame.x0 + frame.width / 2
        sides = (True, False) if right_first else (False, True)
        spot = None
        for row in range(6):
            for to_right in sides:
                ann = ax.annotate(
                    label.text,
                    (label.date, label.value),
                    xytext=(4 if to_right else -4, sign * (5 + 11 * row)),
                    textcoords="offset points",
                    fontsize=7,
                    ha="left" if to_right else "right",
                    va="bottom" if sign > 0 else "top",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.6},
                    zorder=3.5,
                )
                box = ann.get_window_extent(renderer)
                inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
                if inside and not any(box.overlaps(other) for other in taken):
                    spot = (ann, box)
                    break
                ann.remove()
            if spot:
                break
        must = i == 0 or i == len(data.labels) - 1
        if spot is None and must:
            ann = ax.annotate(
                label.text, (label.date, label.value), xytext=(4, sign * 5), textcoords="offset points",
                fontsize=7, ha="left", va="bottom" if sign > 0 else "top", zorder=3.5,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.6},
            )
            spot = (ann, ann.get_window_extent(renderer))
        if spot is not None:
            taken.append(spot[1])
            placed.append(label)
    return placed


def chart_for_task(
    session: Session,
    task_id: int,
    path: str | PathLike[str],
    dataset: str | None = None,
    metric: str | None = None,
) -> ChartData | None:
    """The chart of a task's leaderboard (main benchmark unless `dataset`/`metric` say otherwise).

    None when the task has no leaderboard or no dated result with a value; a `dataset` or
    `metric` that names nothing raises storage.leaderboards.LookupProblem.
    """
    board = leaderboard(session, task_id, dataset=dataset, metric=metric, limit=0)
    if board is None or board.metric_id is None:
        return None
    series = sota_series(session, board.benchmark_id, board.metric_id)
    return render_board_chart(board, series, path) if series else None


def render_board_chart(board: Leaderboard, series: Sequence[Point], path: str | PathLike[str]) -> ChartData:
    """A board's SOTA-over-time chart, titled and labelled as its answers are (chat and terminal alike)."""
    return render_sota_chart(
        series,
        path,
        title=f"{board.task_name}: state of the art on {board.dataset}",
        metric=metric_label(board.metric, board.task_slug),
        higher_is_better=board.higher_is_better,
    )
