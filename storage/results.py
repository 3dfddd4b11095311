"""The one write path for live results: upserts in batches, and the events they mean.

Every live source (the Papers with Code API, Hugging Face leaderboards, claims from
abstracts) stores results through `record_results` (many rows) or `record_result` (one, a
batch of one), so "is this new?", "is this a new state of the art?" and "did we already say
so?" have one answer. Events are deduplicated by (kind, dedupe_key): running the same sync
twice writes no second event (storage.events; its names are re-exported here).

Concurrent writers are expected to be serialised by the scheduler (one process runs the
polls); if two ever race, the unique keys make the loser's transaction fail, never duplicate.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import event, func, insert, tuple_
from sqlalchemy.orm import Session as SASession
from sqlmodel import Session, col, select

from sotabot.storage.db import chunks
from sotabot.storage.events import EVENT_KINDS as EVENT_KINDS
from sotabot.storage.events import NEW_PAPER_WITH_CODE as NEW_PAPER_WITH_CODE
from sotabot.storage.events import NEW_RESULT, NEW_SOTA
from sotabot.storage.events import emit_event as emit_event
from sotabot.storage.events import list_events as list_events
from sotabot.storage.events import paper_got_code as paper_got_code
from sotabot.storage.models import (
    EVENT_KEY_CHARS,
    Benchmark,
    BenchmarkMetric,
    Dataset,
    Metric,
    Result,
    ResultEvent,
    ResultValue,
    Task,
    utcnow,
)

CLAIM_SOURCE = "claim"

# Column sizes (PostgreSQL enforces them; SQLite does not): values are cut, never rejected.
_MAX_MODEL = 500
_MAX_KEY = 1000
_MAX_URL = 1000
_MAX_RAW = 500
_MAX_EXTERNAL = 100

# Fields that belong to the source that wrote the row: another source never fills them in.
_SOURCE_OWN_FIELDS = frozenset({"evidence", "external_id"})

Values = Mapping[int, tuple[float | None, str]]


@dataclass
class RecordOutcome:
    """What `record_result` did: the row, whether it is new or changed, and events written."""

    result_id: int
    created: bool
    changed: bool
    events: list[ResultEvent] = field(default_factory=list)


def _cut(text: str | None, size: int) -> str | None:
    return None if text is None else text[:size]


def _same_value(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


def _result_key(model: str, paper_key: str) -> str:
    """A short stable digest of the natural key (model and paper_key can be 1,500 chars)."""
    return hashlib.sha1(f"{model}\x00{paper_key}".encode()).hexdigest()[:20]


@dataclass
class _Best:
    """The best verified value on one benchmark metric, and whose it is."""

    value: float
    model: str
    raw: str
    paper_title: str | None
    result_date: date | None

    def payload(self) -> dict:
        return {
            "model": self.model,
            "value": self.value,
            "raw": self.raw,
            "paper_title": self.paper_title,
            "result_date": self.result_date.isoformat() if self.result_date else None,
        }


@dataclass
class _BenchInfo:
    """What record_result needs about a benchmark, loaded once per session transaction."""

    benchmark: Benchmark
    context: dict
    declared: dict[int, int]  # metric id -> position
    best: dict[int, _Best | None] = field(default_factory=dict)  # metric id -> best (absent: not loaded)


_CACHE_KEY = "storage.results.cache"


def _cache(session: Session) -> dict:
    """Per-session memo (strong references, so the identity map cannot drop what we reuse).

    Cleared at every commit and rollback, so it never outlives the transaction it describes.
    """
    return session.info.setdefault(_CACHE_KEY, {"benches": {}, "metrics": {}})


@event.listens_for(SASession, "after_commit")
@event.listens_for(SASession, "after_rollback")
def _drop_cache(session: SASession) -> None:
    session.info.pop(_CACHE_KEY, None)


def _metric(session: Session, metric_id: int) -> Metric:
    metrics = _cache(session)["metrics"]
    metric = metrics.get(metric_id)
    if metric is None:
        metric = session.get(Metric, metric_id)
        if metric is None:
            raise ValueError(f"unknown metric id {metric_id}")
        metrics[metric_id] = metric
    return metric


def _bench_info(session: Session, benchmark_id: int) -> _BenchInfo:
    benches = _cache(session)["benches"]
    info = benches.get(benchmark_id)
    if info is None:
        benchmark = session.get(Benchmark, benchmark_id)
        if benchmark is None:
            raise ValueError(f"unknown benchmark id {benchmark_id}")
        task = session.get(Task, benchmark.task_id)
        dataset = session.get(Dataset, benchmark.dataset_id)
        context = {
            "task": task.slug if task else None,
            "task_name": task.name if task else None,
            "dataset": dataset.name if dataset else None,
        }
        declared = dict(
            session.exec(
                select(BenchmarkMetric.metric_id, BenchmarkMetric.position).where(
                    BenchmarkMetric.benchmark_id == benchmark_id
                )
            ).all()
        )
        info = benches[benchmark_id] = _BenchInfo(benchmark, context, declared)
    return info


def primary_metric_id(session: Session, benchmark: Benchmark) -> int | None:
    """The benchmark's primary metric, else the first metric it declares."""
    if benchmark.primary_metric_id is not None:
        return benchmark.primary_metric_id
    declared = _bench_info(session, benchmark.id or 0).declared
    return min(declared, key=lambda m: (declared[m], m)) if declared else None


def _verified_values(benchmark_id: int, metric_id: int, exclude_result_id: int | None):  # type: ignore[no-untyped-def]
    conditions = [
        Result.benchmark_id == benchmark_id,
        ResultValue.metric_id == metric_id,
        col(ResultValue.value).is_not(None),
        col(Result.verified).is_(True),
    ]
    if exclude_result_id is not None:
        conditions.append(Result.id != exclude_result_id)
    return conditions


def best_verified(
    session: Session, benchmark_id: int, metric_id: int, direction: str, exclude_result_id: int | None = None
) -> tuple[Result, ResultValue] | None:
    """The best verified result on a benchmark's metric in its direction (None if none).

    Two indexed steps (the best value over the benchmark's results, then its earliest row)
    rather than one ORDER BY on the metric's value index, which on a metric shared by
    thousands of benchmarks would walk other benchmarks' values first.
    """
    conditions = _verified_values(benchmark_id, metric_id, exclude_result_id)
    pick = func.max if direction == "higher" else func.min
    join = col(ResultValue.result_id) == col(Result.id)
    value = session.exec(
        select(pick(ResultValue.value)).select_from(Result).join(ResultValue, join).where(*conditions)
    ).one()
    if value is None:
        return None
    row = session.exec(
        select(Result, ResultValue)
        .join(ResultValue, join)
        .where(*conditions, ResultValue.value == value)
        .order_by(col(Result.result_date).asc(), col(Result.id).asc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def _load_best(session: Session, benchmark_id: int, metric: Metric, exclude_result_id: int | None) -> _Best | None:
    found = best_verified(session, benchmark_id, metric.id or 0, metric.direction, exclude_result_id)
    if found is None or found[1].value is None:
        return None
    result, value = found
    return _Best(value.value, result.model, value.raw, result.paper_title, result.result_date)


def _ensure_benchmark_metrics(session: Session, info: _BenchInfo, metric_ids: list[int]) -> None:
    position = max(info.declared.values(), default=-1) + 1
    for metric_id in metric_ids:
        if metric_id not in info.declared:
            session.add(BenchmarkMetric(benchmark_id=info.benchmark.id, metric_id=metric_id, position=position))
            info.declared[metric_id] = position
            position += 1


def _clean_values(values: Values) -> dict[int, tuple[float | None, str]]:
    out = {}
    for metric_id, (value, raw) in values.items():
        if value is not None and not math.isfinite(value):
            value = None
        out[metric_id] = (value, (raw or "")[:_MAX_RAW])
    return out


@dataclass(frozen=True)
class ResultRow:
    """One result as a source read it: the input of `record_results` (see `record_result` for the rules)."""

    benchmark_id: int
    model: str
    paper_key: str
    values: Values
    source: str
    verified: bool
    paper_id: int | None = None
    paper_title: str | None = None
    paper_url: str | None = None
    code_url: str | None = None
    result_date: date | None = None
    extra_data: bool = False
    evidence: str | None = None
    external_id: str | None = None
    news: bool = True
    news_by: date | None = None  # news only to followers subscribed by this day (a first sync's dated rows)


# The Result columns the write path compares and sets (besides the key and first_seen_at).
_FIELDS = ("paper_id", "paper_title", "paper_url", "code_url", "result_date", "evidence", "external_id")
_OWNED = ("source", "verified", "extra_data")
_COLUMNS = (*_FIELDS, *_OWNED)
_CHUNK = 400  # keys per IN list: well inside SQLite's and PostgreSQL's bound-parameter limits
# Core tables: the batch's own reads and inserts skip the ORM's per-statement work (it flushes first).
_RESULTS = Result.__table__  # type: ignore[attr-defined]
_VALUES = ResultValue.__table__  # type: ignore[attr-defined]
_EVENTS = ResultEvent.__table__  # type: ignore[attr-defined]


@dataclass
class _Row:
    """A result as the batch sees it: what is stored (or about to be inserted) and its values."""

    id: int | None
    columns: dict  # Result attribute -> value; for a row not inserted yet, the INSERT's parameters
    values: dict[int, tuple[float | None, str]]
    unsaved: set[int] = field(default_factory=set)  # metrics whose value is still to be inserted
    dirty: set[str] = field(default_factory=set)  # columns changed since the row was stored
    dirty_values: set[int] = field(default_factory=set)  # stored values changed since


@dataclass
class _Pending:
    """An event decided but not written yet (its dedupe check and INSERT happen at the flush)."""

    outcome: RecordOutcome
    row: _Row
    params: dict


def _audience(row: ResultRow) -> dict:
    """`subscribed_by` in an event's payload: channels that subscribed later are not told (digests.alerts)."""
    return {"subscribed_by": row.news_by.isoformat()} if row.news_by is not None else {}


def _result_payload(session: Session, columns: Mapping, values: Values) -> dict:
    result_date = columns["result_date"]
    return {
        "model": columns["model"],
        "paper_title": columns["paper_title"],
        "paper_url": columns["paper_url"],
        "code_url": columns["code_url"],
        "result_date": result_date.isoformat() if result_date else None,
        "source": columns["source"],
        "verified": columns["verified"],
        "extra_data": columns["extra_data"],
        "evidence": columns["evidence"],
        "metrics": {_metric(session, m).name: raw for m, (_, raw) in values.items()},
    }


class _Batch:
    """One `record_results` call: decisions row by row in memory, writes in bulk statements.

    Every decision is taken exactly as a row-at-a-time upsert would take it, against the rows
    stored before the batch plus the batch's own earlier rows. The only question memory cannot
    answer is the best verified value after the record may have moved (a cache miss in
    `_BenchInfo.best`); then the pending writes are flushed first and the database is asked, as
    before. Event dedupe checks wait for the flush: they decide only whether an event is written.
    """

    def __init__(self, session: Session, now: datetime | None) -> None:
        self.session = session
        self.now = now or utcnow()
        self.known: dict[tuple[int, str, str], _Row] = {}
        self.new_rows: list[_Row] = []
        self.new_values: list[tuple[_Row, int]] = []
        self.updated: dict[int, _Row] = {}  # by id: stored rows with changes to write
        self.events: list[_Pending] = []
        self.dirty_benchmarks: set[int] = set()

    # ----------------------------------------------------------------------------- reading

    def load(self, keys: dict[int, set[tuple[str, str]]]) -> None:
        """The stored rows (and their values) for every (benchmark, model, paper_key) in the batch."""
        by_id: dict[int, _Row] = {}
        columns = [_RESULTS.c[name] for name in ("id", "model", "paper_key", *_COLUMNS)]
        for benchmark_id, pairs in keys.items():
            for chunk in chunks(sorted(pairs), _CHUNK):
                for row in self.session.execute(
                    select(*columns).where(
                        _RESULTS.c.benchmark_id == benchmark_id,
                        tuple_(_RESULTS.c.model, _RESULTS.c.paper_key).in_(chunk),
                    )
                ):
                    stored = _Row(row[0], dict(zip(("model", "paper_key", *_COLUMNS), row[1:], strict=True)), {})
                    self.known[(benchmark_id, row[1], row[2])] = by_id[row[0]] = stored
        for chunk in chunks(sorted(by_id), _CHUNK):
            for result_id, metric_id, value, raw in self.session.execute(
                select(_VALUES.c.result_id, _VALUES.c.metric_id, _VALUES.c.value, _VALUES.c.raw)
                .where(_VALUES.c.result_id.in_(chunk))
                .order_by(_VALUES.c.id)
            ):
                by_id[result_id].values[metric_id] = (value, raw)

    # ----------------------------------------------------------------------------- deciding

    def record(self, row: ResultRow, model: str, paper_key: str, verified: bool) -> RecordOutcome:
        session = self.session
        info = _bench_info(session, row.benchmark_id)
        clean = _clean_values(row.values)
        fields = {
            "paper_id": row.paper_id,
            "paper_title": row.paper_title,
            "paper_url": _cut(row.paper_url, _MAX_URL),
            "code_url": _cut(row.code_url, _MAX_URL),
            "result_date": row.result_date,
            "evidence": row.evidence,
            "external_id": _cut(row.external_id, _MAX_EXTERNAL),
        }
        _ensure_benchmark_metrics(session, info, list(clean))
        stored = self.known.get((row.benchmark_id, model, paper_key))
        if stored is None:
            return self._create(info, row, model, paper_key, verified, clean, fields)
        return self._update(info, stored, row, verified, clean, fields)

    def _create(
        self, info: _BenchInfo, row: ResultRow, model: str, paper_key: str, verified: bool,
        clean: dict[int, tuple[float | None, str]], fields: dict,
    ) -> RecordOutcome:
        benchmark = info.benchmark
        columns = {"benchmark_id": row.benchmark_id, "model": model, "paper_key": paper_key,
                   "extra_data": row.extra_data, "source": row.source, "verified": verified,
                   "first_seen_at": self.now, **fields}
        new = _Row(None, columns, dict(clean), unsaved=set(clean))
        self.known[(row.benchmark_id, model, paper_key)] = new
        self.new_rows.append(new)
        self.new_values.extend((new, metric_id) for metric_id in clean)
        self.dirty_benchmarks.add(row.benchmark_id)
        benchmark.result_count = (benchmark.result_count or 0) + 1
        if row.result_date and (benchmark.last_result_date is None or row.result_date > benchmark.last_result_date):
            benchmark.last_result_date = row.result_date
        outcome = RecordOutcome(0, created=True, changed=True)
        base = {**info.context, **_result_payload(self.session, columns, clean), **_audience(row)}
        if row.news:
            self._emit(outcome, new, NEW_RESULT, f"b{row.benchmark_id}:{_result_key(model, paper_key)}",
                       info, base)
        self._check_sota(outcome, info, new, clean, base, quiet=not row.news)  # baselines keep the record current
        return outcome

    def _set(self, stored: _Row, name: str, value: object) -> None:
        stored.columns[name] = value
        if stored.id is not None:
            stored.dirty.add(name)
            self.updated[stored.id] = stored

    def _update(
        self, info: _BenchInfo, stored: _Row, row: ResultRow, verified: bool,
        clean: dict[int, tuple[float | None, str]], fields: dict,
    ) -> RecordOutcome:
        now_stored = stored.columns
        owner = now_stored["source"] == row.source or (verified and not now_stored["verified"])
        changed = False
        if owner:
            if verified and not now_stored["verified"] and now_stored["evidence"] != row.evidence:
                self._set(stored, "evidence", row.evidence)  # a verified source taking over drops the claim's sentence
                changed = True
            for name, value in (("source", row.source), ("verified", verified), ("extra_data", row.extra_data)):
                if now_stored[name] != value:
                    self._set(stored, name, value)
                    changed = True
        for name, value in fields.items():
            current = now_stored[name]
            gap = current is None and name not in _SOURCE_OWN_FIELDS
            if value is not None and current != value and (owner or gap):
                self._set(stored, name, value)
                changed = True
        benchmark = info.benchmark
        primary = primary_metric_id(self.session, benchmark)
        before = stored.values.get(primary, (None, ""))[0] if primary is not None else None
        if self._write_values(stored, clean, overwrite=owner):
            changed = True
        outcome = RecordOutcome(0, created=False, changed=changed)
        if not changed:
            return outcome
        info.best.clear()  # a changed value or verified flag can move the record: reload when needed
        self.dirty_benchmarks.add(row.benchmark_id)
        result_date = now_stored["result_date"]
        if result_date and (benchmark.last_result_date is None or result_date > benchmark.last_result_date):
            benchmark.last_result_date = result_date
        if primary is not None and primary in clean and not _same_value(before, clean[primary][0]) and owner:
            values = dict(stored.values)
            base = {**info.context, **_result_payload(self.session, now_stored, values), **_audience(row)}
            self._check_sota(outcome, info, stored, values, base, before=before, quiet=not row.news)
            info.best.clear()
        return outcome

    def _write_values(self, stored: _Row, values: dict[int, tuple[float | None, str]], overwrite: bool) -> bool:
        """Add the metrics the row lacks; with `overwrite`, change the ones that differ."""
        changed = False
        for metric_id, (value, raw) in values.items():
            current = stored.values.get(metric_id)
            if current is None:
                stored.values[metric_id] = (value, raw)
                stored.unsaved.add(metric_id)
                self.new_values.append((stored, metric_id))
                changed = True
            elif overwrite and (not _same_value(current[0], value) or current[1] != raw):
                stored.values[metric_id] = (value, raw)
                if metric_id not in stored.unsaved:
                    assert stored.id is not None
                    stored.dirty_values.add(metric_id)
                    self.updated[stored.id] = stored
                changed = True
        return changed

    def _check_sota(
        self, outcome: RecordOutcome, info: _BenchInfo, stored: _Row, values: Values, base: dict,
        before: float | None = None, quiet: bool = False,
    ) -> None:
        """new_sota when the primary value beats the previous verified best in its direction.

        The previous best is taken over verified results only, so an unverified claim can neither
        count as the record nor hide a later verified one; an unverified result that beats it
        still gets an event, marked `verified: false` in its payload. `before` is an updated
        result's old value: a record holder whose number is corrected is not a new record.
        """
        metric_id = primary_metric_id(self.session, info.benchmark)
        if metric_id is None or metric_id not in values or values[metric_id][0] is None:
            return
        metric = _metric(self.session, metric_id)
        if metric.direction not in ("higher", "lower"):
            return
        value = values[metric_id][0]
        assert value is not None
        columns = stored.columns
        if metric_id in info.best:
            previous = info.best[metric_id]
        else:
            if info.benchmark.id in self.dirty_benchmarks:
                self.flush()  # the database must hold the batch's earlier rows before it is asked
            previous = _load_best(self.session, info.benchmark.id or 0, metric, exclude_result_id=stored.id)
        higher = metric.direction == "higher"
        better = previous is not None and (value > previous.value if higher else value < previous.value)
        if better and before is not None and previous is not None:
            better = before < previous.value if higher else before > previous.value  # it held no record before
        info.best[metric_id] = previous
        if columns["verified"] and (previous is None or better):
            info.best[metric_id] = _Best(
                value, columns["model"], values[metric_id][1], columns["paper_title"], columns["result_date"]
            )
        if not better or quiet:
            return  # includes the first result of a benchmark: with nothing to beat it is not news
        assert previous is not None
        payload = {
            **base,
            "metric": metric.name,
            "direction": metric.direction,
            "value": value,
            "raw": values[metric_id][1],
            "previous": previous.payload(),
        }
        key = f"b{info.benchmark.id}:m{metric_id}:{_result_key(columns['model'], columns['paper_key'])}"
        self._emit(outcome, stored, NEW_SOTA, key, info, payload)

    def _emit(self, outcome: RecordOutcome, row: _Row, kind: str, key: str, info: _BenchInfo, payload: dict) -> None:
        params = {"kind": kind, "dedupe_key": key[:EVENT_KEY_CHARS], "task_id": info.benchmark.task_id,
                  "benchmark_id": info.benchmark.id, "paper_id": row.columns["paper_id"], "payload": payload,
                  "created_at": self.now}
        self.events.append(_Pending(outcome, row, params))

    # ----------------------------------------------------------------------------- writing

    def flush(self) -> None:
        """Write what the batch decided so far: new rows, changed rows, new values, then events."""
        session = self.session
        if self.new_rows:
            # Matched by key, not by position: SQLite would answer a sorted RETURNING one row at a time.
            inserted = session.execute(
                insert(_RESULTS).returning(_RESULTS.c.id, _RESULTS.c.benchmark_id, _RESULTS.c.model,
                                           _RESULTS.c.paper_key),
                [row.columns for row in self.new_rows],
            )
            ids = {(b, m, k): result_id for result_id, b, m, k in inserted}
            for row in self.new_rows:
                row.id = ids[(row.columns["benchmark_id"], row.columns["model"], row.columns["paper_key"])]
            self.new_rows = []
        self._write_updates()
        if self.new_values:
            session.execute(
                insert(_VALUES),
                [{"result_id": row.id, "metric_id": m, "value": row.values[m][0], "raw": row.values[m][1]}
                 for row, m in self.new_values],
            )
            for row, _ in self.new_values:
                row.unsaved.clear()
            self.new_values = []
        self._write_events()
        session.flush()  # the benchmark counters and declared metrics, through the ORM
        self.dirty_benchmarks.clear()

    def _write_updates(self) -> None:
        """Changed rows through the ORM, so instances already in the session stay current."""
        if not self.updated:
            return
        ids = sorted(self.updated)
        results = {r.id: r for chunk in chunks(ids, _CHUNK) for r in self.session.exec(
            select(Result).where(col(Result.id).in_(chunk)))}
        with_values = [i for i in ids if self.updated[i].dirty_values]
        stored: dict[tuple[int, int], ResultValue] = {}
        for chunk in chunks(with_values, _CHUNK):
            for rv in self.session.exec(select(ResultValue).where(col(ResultValue.result_id).in_(chunk))):
                stored[(rv.result_id, rv.metric_id)] = rv
        for result_id in ids:
            row = self.updated[result_id]
            for name in row.dirty:
                setattr(results[result_id], name, row.columns[name])
            for metric_id in row.dirty_values:
                stored[(result_id, metric_id)].value, stored[(result_id, metric_id)].raw = row.values[metric_id]
            row.dirty.clear()
            row.dirty_values.clear()
        self.updated = {}

    def _write_events(self) -> None:
        """The pending events whose (kind, dedupe_key) is new, in the order they were decided."""
        if not self.events:
            return
        by_kind: dict[str, list[str]] = {}
        for pending in self.events:
            by_kind.setdefault(pending.params["kind"], []).append(pending.params["dedupe_key"])
        seen = {
            (kind, key)
            for kind, keys in by_kind.items()
            for chunk in chunks(sorted(set(keys)), _CHUNK)
            for key in self.session.execute(
                select(_EVENTS.c.dedupe_key).where(_EVENTS.c.kind == kind, _EVENTS.c.dedupe_key.in_(chunk))
            ).scalars()
        }
        fresh = []
        for pending in self.events:
            name = (pending.params["kind"], pending.params["dedupe_key"])
            if name not in seen:
                seen.add(name)
                fresh.append(pending)
        self.events = []
        if not fresh:
            return
        written = {
            (e.kind, e.dedupe_key): e
            for e in self.session.scalars(
                insert(ResultEvent).returning(ResultEvent), [{**p.params, "result_id": p.row.id} for p in fresh]
            )
        }
        for pending in fresh:
            pending.outcome.events.append(written[(pending.params["kind"], pending.params["dedupe_key"])])


def _key(row: ResultRow) -> tuple[str, str, bool]:
    """The row's model and paper_key as stored (whitespace collapsed, cut to the columns), and verified."""
    model = " ".join((row.model or "").split())[:_MAX_MODEL]
    if not model:
        raise ValueError("a result needs a model name")
    return model, (row.paper_key or "")[:_MAX_KEY], row.verified and row.source != CLAIM_SOURCE


def _load_metrics(session: Session, metric_ids: set[int]) -> None:
    cache = _cache(session)["metrics"]
    missing = sorted(m for m in metric_ids if m not in cache)
    for chunk in chunks(missing, _CHUNK):
        for metric in session.exec(select(Metric).where(col(Metric.id).in_(chunk))):
            cache[metric.id] = metric
    for metric_id in missing:
        _metric(session, metric_id)  # unknown ids fail here, with a clear message


def record_results(session: Session, rows: Iterable[ResultRow], *, now: datetime | None = None) -> list[RecordOutcome]:
    """Upsert many results and write their events, as `record_result` would one by one, in bulk.

    The outcomes, stored rows and events (their order and content) are those of calling
    `record_result` for each row in turn; a row may repeat an earlier one. The batch reads the
    stored rows it touches with a few IN queries and writes with multi-row statements. Every row
    is checked (model name, benchmark, metric ids) before anything is written. `now` stamps new
    rows and events (default: once, at the call).
    """
    rows = list(rows)
    if not rows:
        return []
    keys = [_key(row) for row in rows]
    wanted: dict[int, set[tuple[str, str]]] = {}
    for row, (model, paper_key, _) in zip(rows, keys, strict=True):
        _bench_info(session, row.benchmark_id)  # unknown benchmarks fail here
        wanted.setdefault(row.benchmark_id, set()).add((model, paper_key))
    _load_metrics(session, {m for row in rows for m in row.values})
    session.flush()  # what the caller left pending is what a row-at-a-time query would see
    batch = _Batch(session, now)
    batch.load(wanted)
    states = []
    outcomes = []
    for row, (model, paper_key, verified) in zip(rows, keys, strict=True):
        outcomes.append(batch.record(row, model, paper_key, verified))
        states.append(batch.known[(row.benchmark_id, model, paper_key)])
    batch.flush()
    for outcome, state in zip(outcomes, states, strict=True):
        assert state.id is not None
        outcome.result_id = state.id
    return outcomes


def record_result(
    session: Session,
    *,
    benchmark_id: int,
    model: str,
    paper_key: str,
    values: Values,
    paper_id: int | None = None,
    paper_title: str | None = None,
    paper_url: str | None = None,
    code_url: str | None = None,
    result_date: date | None = None,
    extra_data: bool = False,
    source: str,
    verified: bool,
    evidence: str | None = None,
    external_id: str | None = None,
    now: datetime | None = None,
    news: bool = True,
    news_by: date | None = None,
) -> RecordOutcome:
    """Upsert a result on (benchmark, model, paper_key) and write its events (a batch of one).

    A new result writes `new_result` (and `new_sota` when it beats the previous best). An
    existing one is updated in place by the same source, or taken over by a verified source
    when it was unverified; any other source only fills gaps, so two sources never flip a
    row back and forth. A claim is never stored as verified.

    `news=False` stores the row as part of a baseline (a live source's first sync of a
    benchmark): it is written and counts towards the record, but writes no event, so years-old
    rows are never announced as news. `news_by` (a first sync's row dated since a subscription)
    limits its events to the channels subscribed by that day.
    """
    row = ResultRow(
        benchmark_id=benchmark_id, model=model, paper_key=paper_key, values=values, source=source,
        verified=verified, paper_id=paper_id, paper_title=paper_title, paper_url=paper_url, code_url=code_url,
        result_date=result_date, extra_data=extra_data, evidence=evidence, external_id=external_id, news=news,
        news_by=news_by,
    )
    return record_results(session, [row], now=now)[0]
