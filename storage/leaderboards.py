"""Leaderboard queries: a task's main benchmark, its ranked rows, and the SOTA-over-time series.

Pure SQL, no fuzzy logic (free text -> task is `sources.task_lookup`). Every query is an
indexed lookup: benchmarks by `ix_benchmarks_task_id`, results by `ix_results_benchmark_date`,
values by the unique (result_id, metric_id) key, subtasks by `ix_tasks_parent_id`.

Rules (also in docs/leaderboards.md):

- **A task's benchmarks** are its own. A task with none of its own (a parent such as
  "Dialogue" whose leaderboards all live in subtasks) uses its direct subtasks' benchmarks,
  and if those have none either, the next level down; such benchmarks are labelled
  "Dataset (Subtask)". A task that has benchmarks of its own does not mix in its subtasks'.
- **Main benchmark**: an operator's `Preference` (`strong`, from the config) that names one of
  the task's datasets, then `Task.default_benchmark_id` when set (upstream priority), then the
  curated canonical benchmark (`sources.normalise.canonical`: ImageNet for image
  classification), else the benchmark with the most results, then the most recent result
  date, then the dataset name (A-Z). The other benchmarks are listed in that same order. A
  preferred benchmark ranks by the first preferred metric it has with a numeric value.
- **Primary metric**: `Benchmark.primary_metric_id` when set and it has at least one
  numeric value on the benchmark, else the first declared metric (`BenchmarkMetric.position`)
  with a numeric value, else the set or first declared metric (all rows then rank as
  missing). Benchmarks that declare no metric use the metrics their rows carry. (The archive
  importer sets `primary_metric_id` to the first declared metric, which in real files is
  sometimes never filled in, hence the numeric check.)
- **Ranking**: by value in the metric's direction (lower-is-better ascending; higher or
  unknown descending, and unknown is reported as `higher_is_better=None`); rows without a
  numeric value last; ties by result date (earliest first: who got there first), then model.
- **Choosing**: `dataset=` matches a benchmark's dataset case- and punctuation-insensitively
  (`taxonomy.normalise`-style), by its name, its "Parent / Sub" label or a unique leading
  part; `metric=` likewise matches a declared metric. With only `metric=`, the main
  benchmark is chosen among those that have that metric. A miss raises `LookupProblem`
  carrying the valid choices.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from sqlalchemy import Select, and_, bindparam, case, exists, func, literal, select
from sqlmodel import Session

from sotabot.storage.models import (
    Benchmark,
    BenchmarkMetric,
    Dataset,
    Metric,
    Paper,
    PaperRepo,
    Repo,
    Result,
    ResultValue,
    Task,
)

_T_obj = TypeVar("_T_obj")

SUBTASK_DEPTH = 2  # how many levels down a task without benchmarks of its own looks

_T = Task.__table__  # type: ignore[attr-defined]
_B = Benchmark.__table__  # type: ignore[attr-defined]
_D = Dataset.__table__  # type: ignore[attr-defined]
_BM = BenchmarkMetric.__table__  # type: ignore[attr-defined]
_M = Metric.__table__  # type: ignore[attr-defined]
_R = Result.__table__  # type: ignore[attr-defined]
_V = ResultValue.__table__  # type: ignore[attr-defined]
_P = Paper.__table__  # type: ignore[attr-defined]
_PR = PaperRepo.__table__  # type: ignore[attr-defined]
_REPO = Repo.__table__  # type: ignore[attr-defined]


class LookupProblem(LookupError):
    """`dataset=` or `metric=` named nothing on this task; `choices` are the valid names."""

    def __init__(self, message: str, choices: Sequence[str], kind: str = "dataset", query: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.choices = list(choices)
        self.kind = kind  # "dataset" | "metric"
        self.query = query


@dataclass(frozen=True)
class Preference:
    """The benchmark a task should open on: dataset names and metric names, most wanted first.

    Matched case- and punctuation-insensitively against the benchmark's dataset names. `strong`
    (an operator's choice) also beats `Task.default_benchmark_id`.
    """

    datasets: tuple[str, ...]
    metrics: tuple[str, ...] = ()
    strong: bool = False


Prefer = Callable[[str], "Preference | None"]
"""Task slug -> the preferred benchmark, if any."""


@dataclass
class LeaderboardRow:
    rank: int
    model: str
    value: float | None
    raw: str
    paper_title: str | None
    paper_url: str | None
    code_url: str | None
    date: date | None
    extra_data: bool
    verified: bool
    source: str


@dataclass
class BenchmarkSummary:
    benchmark_id: int
    dataset: str
    metric: str | None
    results: int


@dataclass
class Leaderboard:
    task_id: int
    task_slug: str
    task_name: str
    benchmark_id: int
    dataset: str
    metric: str | None
    metric_id: int | None
    higher_is_better: bool | None
    rows: list[LeaderboardRow]
    other_benchmarks: list[BenchmarkSummary]
    choices: list[BenchmarkChoice] = field(default_factory=list)  # every benchmark, as benchmark_choices lists them


@dataclass
class SeriesPoint:
    date: date
    value: float
    model: str
    paper_title: str | None
    is_record: bool  # beats every earlier point in the metric's direction


@dataclass
class _MetricInfo:
    id: int
    name: str
    direction: str
    has_value: bool


@dataclass
class _Bench:
    id: int
    task_id: int
    label: str
    names: tuple[str, ...]  # keys `dataset=` may match
    primary_metric_id: int | None
    results: int
    last_date: date | None
    metrics: list[_MetricInfo]

    def primary(self) -> _MetricInfo | None:
        chosen = next((m for m in self.metrics if m.id == self.primary_metric_id), None)
        if chosen is not None and chosen.has_value:
            return chosen
        with_value = next((m for m in self.metrics if m.has_value), None)
        return with_value or chosen or (self.metrics[0] if self.metrics else None)


def _key(text: str) -> str:
    """Case- and punctuation-insensitive form (same rule as sources.taxonomy.normalise)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^0-9a-z]+", " ", folded.lower()).strip()


def _higher_is_better(direction: str) -> bool | None:
    return True if direction == "higher" else False if direction == "lower" else None


_PARENT_DATASET = _D.alias("parent_dataset")
_COUNTS = (
    select(_R.c.benchmark_id, func.count().label("n"), func.max(_R.c.result_date).label("last"))
    .where(_R.c.benchmark_id.in_(select(_B.c.id).where(_B.c.task_id.in_(bindparam("task_ids", expanding=True)))))
    .group_by(_R.c.benchmark_id)
    .subquery()
)
# `metric_id + 0` (SQLite's documented way to keep an index out of a term): values are reached
# only through the benchmark's results. Without planner statistics SQLite otherwise walked
# `ix_result_values_metric_value` over every value of the metric (130 ms instead of 0.4 ms).
_HAS_VALUE = exists(
    select(literal(1))
    .select_from(_R.join(_V, and_(_V.c.result_id == _R.c.id, _V.c.metric_id + 0 == _BM.c.metric_id)))
    .where(_R.c.benchmark_id == _BM.c.benchmark_id, _V.c.value.is_not(None))
)
# One round trip: each benchmark of the tasks with its dataset, result count, last date and
# declared metrics in order (a benchmark without metrics comes once, with NULL metric columns).
_BENCHMARKS_SQL = (
    select(
        _B.c.id, _B.c.task_id, _B.c.primary_metric_id, _D.c.name, _PARENT_DATASET.c.name.label("parent"),
        func.coalesce(_COUNTS.c.n, 0).label("n"), _COUNTS.c.last,
        _M.c.id.label("metric_id"), _M.c.name.label("metric"), _M.c.direction, _HAS_VALUE.label("has_value"),
    )
    .join(_D, _D.c.id == _B.c.dataset_id)
    .outerjoin(_PARENT_DATASET, _PARENT_DATASET.c.id == _D.c.parent_id)
    .outerjoin(_COUNTS, _COUNTS.c.benchmark_id == _B.c.id)
    .outerjoin(_BM, _BM.c.benchmark_id == _B.c.id)
    .outerjoin(_M, _M.c.id == _BM.c.metric_id)
    .where(_B.c.task_id.in_(bindparam("task_ids", expanding=True)))
    .order_by(_B.c.id, _BM.c.position, _BM.c.id)
)
_SEEN_METRICS_SQL = (
    select(_R.c.benchmark_id, _M.c.id, _M.c.name, _M.c.direction, func.count(_V.c.value).label("numeric"))
    .join(_V, _V.c.result_id == _R.c.id)
    .join(_M, _M.c.id == _V.c.metric_id + 0)  # never from the few metrics into all their values
    .where(_R.c.benchmark_id.in_(bindparam("bench_ids", expanding=True)))
    .group_by(_R.c.benchmark_id, _M.c.id, _M.c.name, _M.c.direction)
    .order_by(_R.c.benchmark_id, _M.c.name)
)
_SUBTASKS_SQL = select(_T.c.id, _T.c.name).where(_T.c.parent_id.in_(bindparam("task_ids", expanding=True)))
_TASK_SQL = select(_T.c.id, _T.c.slug, _T.c.name, _T.c.default_benchmark_id).where(_T.c.id == bindparam("task_id"))


def _preferred(benches: list[_Bench], preference: Preference | None) -> _Bench | None:
    """The benchmark the preference names (first dataset name that matches; most results among equals)."""
    if preference is None:
        return None
    for name in preference.datasets:
        key = _key(name)
        hits = [b for b in benches if key and any(_key(n) == key for n in b.names)]
        if hits:
            return max(hits, key=lambda b: (b.results, -b.id))
    return None


def _task_benchmarks(
    session: Session, task_id: int, default_id: int | None = None, preference: Preference | None = None
) -> list[_Bench]:
    """The benchmarks that count for the task (see the module rules), in main-benchmark order."""
    level = [task_id]
    names: dict[int, str] = {}
    for depth in range(SUBTASK_DEPTH + 1):
        benches = _benchmarks_of(session, level, names if depth else {})
        if benches or depth == SUBTASK_DEPTH:
            break
        names = {r.id: r.name for r in session.execute(_SUBTASKS_SQL, {"task_ids": level})}
        if not names:
            break
        level = list(names)
    preferred = _preferred(benches, preference)
    pref_id = preferred.id if preferred else None
    strong = bool(preference and preference.strong)
    benches.sort(
        key=lambda b: (
            b.id != pref_id if strong else False,
            b.id != default_id,
            b.id != pref_id,
            -b.results,
            -(b.last_date.toordinal() if b.last_date else 0),
            b.label.lower(),
            b.id,
        )
    )
    return benches


def _benchmarks_of(session: Session, task_ids: list[int], subtask_names: dict[int, str]) -> list[_Bench]:
    by_id: dict[int, _Bench] = {}
    for row in session.execute(_BENCHMARKS_SQL, {"task_ids": task_ids}):
        bench = by_id.get(row.id)
        if bench is None:
            label = f"{row.parent} / {row.name}" if row.parent else row.name
            names = (label, row.name) if row.parent else (row.name,)
            if row.task_id in subtask_names:
                names = (f"{label} ({subtask_names[row.task_id]})", *names)
                label = names[0]
            bench = by_id[row.id] = _Bench(
                row.id, row.task_id, label, names, row.primary_metric_id, int(row.n), row.last, []
            )
        if row.metric_id is not None:
            bench.metrics.append(_MetricInfo(row.metric_id, row.metric, row.direction, bool(row.has_value)))
    benches = list(by_id.values())
    # Benchmarks that declare nothing (or whose primary metric is undeclared): metrics seen in rows.
    missing = [
        b.id for b in benches
        if not b.metrics or (b.primary_metric_id is not None and all(m.id != b.primary_metric_id for m in b.metrics))
    ]
    if missing:
        for row in session.execute(_SEEN_METRICS_SQL, {"bench_ids": missing}):
            bench = by_id[row.benchmark_id]
            if all(m.id != row.id for m in bench.metrics):
                bench.metrics.append(_MetricInfo(row.id, row.name, row.direction, row.numeric > 0))
        for b in (by_id[i] for i in missing):
            b.metrics.sort(key=lambda m, b=b: (m.id != b.primary_metric_id, not m.has_value))
    return benches


def _summary(b: _Bench) -> BenchmarkSummary:
    primary = b.primary()
    return BenchmarkSummary(b.id, b.label, primary.name if primary else None, b.results)


def task_benchmarks(session: Session, task_id: int, prefer: Prefer | None = None) -> list[BenchmarkSummary]:
    """Every benchmark that counts for the task, main benchmark first."""
    task = session.execute(_TASK_SQL, {"task_id": task_id}).first()
    if task is None:
        return []
    preference = prefer(task.slug) if prefer else None
    return [_summary(b) for b in _task_benchmarks(session, task_id, task.default_benchmark_id, preference)]


def _match(query: str, candidates: Iterable[tuple[str, _T_obj]]) -> tuple[list[_T_obj], bool]:
    """Candidates named `query`, trying the strictest spelling first: verbatim, then any case,
    then normalised (punctuation-insensitive), then a leading run of whole words. The flag
    says whether the match was a full name (not a leading part). Duplicates are dropped."""
    items = list(candidates)
    wanted = query.strip()
    key = _key(query)
    tiers: list[tuple[Callable[[str], bool], bool]] = [
        (lambda name: name.strip() == wanted, True),
        (lambda name: name.strip().casefold() == wanted.casefold(), True),
        (lambda name: bool(key) and _key(name) == key, True),
        (lambda name: bool(key) and _key(name).startswith(key + " "), False),
    ]
    for test, exact in tiers:
        unique: list[_T_obj] = []
        for name, obj in items:
            if test(name) and all(obj is not seen for seen in unique):
                unique.append(obj)
        if unique:
            return unique, exact
    return [], False


def _preferred_metric(bench: _Bench, preference: Preference | None) -> _MetricInfo | None:
    """The first preferred metric the benchmark has with a numeric value, else its primary metric."""
    for name in preference.metrics if preference else ():
        key = _key(name)
        hit = next((m for m in bench.metrics if m.has_value and _key(m.name) == key), None)
        if hit is not None:
            return hit
    return bench.primary()


def _choose(
    benches: list[_Bench], dataset: str | None, metric: str | None, preference: Preference | None = None
) -> tuple[_Bench, _MetricInfo | None]:
    candidates = benches
    if dataset is not None and dataset.strip():
        found, exact = _match(dataset, ((name, b) for b in benches for name in b.names))
        if not found:
            raise LookupProblem(f"no dataset {dataset!r} for this task", [b.label for b in benches], "dataset", dataset)
        if len(found) > 1 and not exact:
            raise LookupProblem(f"dataset {dataset!r} is ambiguous", [b.label for b in found], "dataset", dataset)
        candidates = found  # in main-benchmark order: the first is the best choice
    if metric is None or not metric.strip():
        if candidates[0] is _preferred(benches, preference):
            return candidates[0], _preferred_metric(candidates[0], preference)
        return candidates[0], candidates[0].primary()
    for bench in candidates:
        hits, _ = _match(metric, ((m.name, m) for m in bench.metrics))
        if hits:
            return bench, hits[0]
    names = sorted({m.name for b in candidates for m in b.metrics}, key=str.lower)
    where = f" on {candidates[0].label}" if len(candidates) == 1 else " for this task"
    raise LookupProblem(f"no metric {metric!r}{where}", names, "metric", metric)


def leaderboard(
    session: Session,
    task_id: int,
    dataset: str | None = None,
    metric: str | None = None,
    limit: int = 10,
    prefer: Prefer | None = None,
) -> Leaderboard | None:
    """The ranked leaderboard of a task; None if the task does not exist or has no benchmark.

    `prefer(task_slug)` names the benchmark the task should open on (the curated canonical one).
    Raises LookupProblem when `dataset` or `metric` names nothing on this task.
    """
    task = session.execute(_TASK_SQL, {"task_id": task_id}).first()
    if task is None:
        return None
    preference = prefer(task.slug) if prefer else None
    benches = _task_benchmarks(session, task_id, task.default_benchmark_id, preference)
    if not benches:
        return None
    bench, chosen = _choose(benches, dataset, metric, preference)
    direction = chosen.direction if chosen else "unknown"
    rows = _ranked_rows(session, bench.id, chosen.id if chosen else None, direction, max(0, limit))
    return Leaderboard(
        task_id=task.id,
        task_slug=task.slug,
        task_name=task.name,
        benchmark_id=bench.id,
        dataset=bench.label,
        metric=chosen.name if chosen else None,
        metric_id=chosen.id if chosen else None,
        higher_is_better=_higher_is_better(direction),
        rows=rows,
        other_benchmarks=[_summary(b) for b in benches if b is not bench],
        choices=[_choice(b) for b in benches],
    )


def _rows_sql(lower: bool) -> Select:  # type: ignore[type-arg]
    """The ranked rows of one benchmark on one metric: an index walk of the benchmark's results."""
    return (
        select(
            _R.c.model, _V.c.value, _V.c.raw, _R.c.paper_title, _R.c.paper_url, _R.c.code_url,
            _R.c.result_date, _R.c.extra_data, _R.c.verified, _R.c.source, _R.c.paper_id,
            _P.c.title.label("p_title"), _P.c.arxiv_id, _P.c.url.label("p_url"),
        )
        .select_from(_R)
        .outerjoin(_V, and_(_V.c.result_id == _R.c.id, _V.c.metric_id == bindparam("metric_id")))
        .outerjoin(_P, _P.c.id == _R.c.paper_id)
        .where(_R.c.benchmark_id == bindparam("benchmark_id"))
        .order_by(
            case((_V.c.value.is_(None), 1), else_=0),
            _V.c.value.asc() if lower else _V.c.value.desc(),
            case((_R.c.result_date.is_(None), 1), else_=0),
            _R.c.result_date,
            _R.c.model,
            _R.c.id,
        )
        .limit(bindparam("limit"))
    )


_ROWS_SQL = {True: _rows_sql(lower=True), False: _rows_sql(lower=False)}
_CODE_SQL = (
    select(_PR.c.paper_id, _REPO.c.url)
    .join(_REPO, _REPO.c.id == _PR.c.repo_id)
    .where(_PR.c.paper_id.in_(bindparam("paper_ids", expanding=True)), _REPO.c.deleted.is_(False))
    .order_by(_PR.c.paper_id, _PR.c.official.desc(), func.coalesce(_REPO.c.stars, -1).desc(), _REPO.c.id)
)


def _ranked_rows(
    session: Session, benchmark_id: int, metric_id: int | None, direction: str, limit: int
) -> list[LeaderboardRow]:
    params = {"metric_id": metric_id, "benchmark_id": benchmark_id, "limit": limit}
    found = session.execute(_ROWS_SQL[direction == "lower"], params).all()
    code = _code_urls(session, {r.paper_id for r in found if r.paper_id is not None and not r.code_url})
    out: list[LeaderboardRow] = []
    for rank, r in enumerate(found, start=1):
        paper_url = r.paper_url or r.p_url or (f"https://arxiv.org/abs/{r.arxiv_id}" if r.arxiv_id else None)
        out.append(
            LeaderboardRow(
                rank=rank,
                model=r.model,
                value=r.value,
                raw=r.raw if r.raw is not None else "",
                paper_title=r.paper_title or r.p_title or None,
                paper_url=paper_url or None,
                code_url=r.code_url or code.get(r.paper_id),
                date=r.result_date,
                extra_data=bool(r.extra_data),
                verified=bool(r.verified),
                source=r.source,
            )
        )
    return out


def _code_urls(session: Session, paper_ids: set[int]) -> dict[int, str]:
    """The best repository of each paper: official first, then most stars."""
    if not paper_ids:
        return {}
    best: dict[int, str] = {}
    for paper_id, url in session.execute(_CODE_SQL, {"paper_ids": sorted(paper_ids)}):
        best.setdefault(paper_id, url)
    return best


def _direction(session: Session, metric_id: int) -> str:
    return session.execute(select(_M.c.direction).where(_M.c.id == metric_id)).scalar() or "unknown"


def sota_series(
    session: Session, benchmark_id: int, metric_id: int, *, verified_only: bool = False
) -> list[SeriesPoint]:
    """Every dated result with a value, in date order, marking each new best (the SOTA chart)."""
    direction = _direction(session, metric_id)
    lower = direction == "lower"
    query = (
        select(_R.c.result_date, _V.c.value, _R.c.model, func.coalesce(_R.c.paper_title, _P.c.title).label("title"))
        .select_from(_R)
        .join(_V, and_(_V.c.result_id == _R.c.id, _V.c.metric_id == metric_id))
        .outerjoin(_P, _P.c.id == _R.c.paper_id)
        .where(_R.c.benchmark_id == benchmark_id, _R.c.result_date.is_not(None), _V.c.value.is_not(None))
        .order_by(_R.c.result_date, _V.c.value.asc() if lower else _V.c.value.desc(), _R.c.model, _R.c.id)
    )
    if verified_only:
        query = query.where(_R.c.verified.is_(True))
    points: list[SeriesPoint] = []
    best: float | None = None
    for day, value, model, title in session.execute(query):
        record = best is None or (value < best if lower else value > best)
        if record:
            best = value
        points.append(SeriesPoint(day, value, model, title or None, record))
    return points


def task_metrics(session: Session, task_id: int, dataset: str | None = None) -> list[str]:
    """Metric names of the task's benchmarks (only those of `dataset` when it names one), main benchmark first."""
    task = session.execute(_TASK_SQL, {"task_id": task_id}).first()
    if task is None:
        return []
    benches = _task_benchmarks(session, task_id, task.default_benchmark_id)
    if dataset and dataset.strip():
        matched, _ = _match(dataset, [(name, b) for b in benches for name in b.names])
        benches = matched or benches
    names: list[str] = []
    for bench in benches:
        for metric in sorted(bench.metrics, key=lambda m, b=bench: (m.id != b.primary_metric_id, not m.has_value)):
            if metric.name and metric.name not in names:
                names.append(metric.name)
    return names


@dataclass
class BenchmarkChoice:
    """A benchmark of a task as a menu entry: its id, label and metrics (id, name), main metric first."""

    benchmark_id: int
    dataset: str
    metrics: list[tuple[int, str]]


def benchmark_choices(session: Session, task_id: int, prefer: Prefer | None = None) -> list[BenchmarkChoice]:
    """Every benchmark that counts for the task, main benchmark first, with its metrics (for menus).

    `prefer`: the same canonical preference `leaderboard` opens the task with, so the menu lists
    the board the answer shows first and in the same order as "Other benchmarks".
    """
    task = session.execute(_TASK_SQL, {"task_id": task_id}).first()
    if task is None:
        return []
    preference = prefer(task.slug) if prefer else None
    return [_choice(bench) for bench in _task_benchmarks(session, task_id, task.default_benchmark_id, preference)]


def _choice(bench: _Bench) -> BenchmarkChoice:
    primary = bench.primary()
    metrics = sorted(bench.metrics, key=lambda m: (primary is None or m.id != primary.id, not m.has_value))
    return BenchmarkChoice(bench.id, bench.label, [(m.id, m.name) for m in metrics])
