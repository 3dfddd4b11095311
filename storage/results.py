"""The one write path for live results, and the events that alerts are built from.

Every live source (the Papers with Code API, Hugging Face leaderboards, claims from
abstracts) stores results through `record_result`, so "is this new?", "is this a new state
of the art?" and "did we already say so?" have one answer. Events are deduplicated by
(kind, dedupe_key): running the same sync twice writes no second event.

Concurrent writers are expected to be serialised by the scheduler (one process runs the
polls); if two ever race, the unique keys make the loser's transaction fail, never duplicate.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import event, func
from sqlalchemy.orm import Session as SASession
from sqlmodel import Session, col, select

from sotabot.storage.models import (
    EVENT_KEY_CHARS,
    Benchmark,
    BenchmarkMetric,
    Dataset,
    Metric,
    Paper,
    PaperRepo,
    Repo,
    Result,
    ResultEvent,
    ResultValue,
    Task,
    utcnow,
)

NEW_RESULT = "new_result"
NEW_SOTA = "new_sota"
NEW_PAPER_WITH_CODE = "new_paper_with_code"
EVENT_KINDS = (NEW_RESULT, NEW_SOTA, NEW_PAPER_WITH_CODE)

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


def emit_event(
    session: Session,
    kind: str,
    dedupe_key: str,
    *,
    task_id: int | None = None,
    benchmark_id: int | None = None,
    result_id: int | None = None,
    paper_id: int | None = None,
    payload: dict | None = None,
    now: datetime | None = None,
) -> ResultEvent | None:
    """Insert an event unless (kind, dedupe_key) exists; returns the new row or None."""
    dedupe_key = dedupe_key[:EVENT_KEY_CHARS]
    exists = session.exec(
        select(ResultEvent.id).where(ResultEvent.kind == kind, ResultEvent.dedupe_key == dedupe_key)
    ).first()
    if exists is not None:
        return None
    event = ResultEvent(
        kind=kind,
        dedupe_key=dedupe_key,
        task_id=task_id,
        benchmark_id=benchmark_id,
        result_id=result_id,
        paper_id=paper_id,
        payload=payload or {},
        created_at=now or utcnow(),
    )
    session.add(event)  # flushed with the next query or commit (its id is assigned then)
    return event


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


def _write_values(
    session: Session, result_id: int, values: dict[int, tuple[float | None, str]], overwrite: bool, new: bool
) -> bool:
    """Upsert the result's metric values; returns whether anything changed."""
    stored: dict[int, ResultValue] = {}
    if not new:
        stored = {
            rv.metric_id: rv
            for rv in session.exec(select(ResultValue).where(ResultValue.result_id == result_id)).all()
        }
    changed = False
    for metric_id, (value, raw) in values.items():
        row = stored.get(metric_id)
        if row is None:
            session.add(ResultValue(result_id=result_id, metric_id=metric_id, value=value, raw=raw))
            changed = True
        elif overwrite and (not _same_value(row.value, value) or row.raw != raw):
            row.value, row.raw = value, raw
            session.add(row)
            changed = True
    return changed


def _result_payload(session: Session, result: Result, values: Values) -> dict:
    return {
        "model": result.model,
        "paper_title": result.paper_title,
        "paper_url": result.paper_url,
        "code_url": result.code_url,
        "result_date": result.result_date.isoformat() if result.result_date else None,
        "source": result.source,
        "verified": result.verified,
        "extra_data": result.extra_data,
        "evidence": result.evidence,
        "metrics": {_metric(session, m).name: raw for m, (_, raw) in values.items()},
    }


def _check_sota(
    session: Session,
    info: _BenchInfo,
    result: Result,
    values: Values,
    base: dict,
    now: datetime | None,
    before: float | None = None,
    quiet: bool = False,
) -> ResultEvent | None:
    """new_sota when the primary value beats the previous verified best in its direction.

    The previous best is taken over verified results only, so an unverified claim can neither
    count as the record nor hide a later verified one; an unverified result that beats it
    still gets an event, marked `verified: false` in its payload. `before` is an updated
    result's old value: a record holder whose number is corrected is not a new record.
    """
    metric_id = primary_metric_id(session, info.benchmark)
    if metric_id is None or metric_id not in values or values[metric_id][0] is None:
        return None
    metric = _metric(session, metric_id)
    if metric.direction not in ("higher", "lower"):
        return None
    value = values[metric_id][0]
    assert value is not None
    if metric_id in info.best:
        previous = info.best[metric_id]
    else:
        previous = _load_best(session, info.benchmark.id or 0, metric, exclude_result_id=result.id)
    higher = metric.direction == "higher"
    better = previous is not None and (value > previous.value if higher else value < previous.value)
    if better and before is not None and previous is not None:
        better = before < previous.value if higher else before > previous.value  # it held no record before
    info.best[metric_id] = previous
    if result.verified and (previous is None or better):
        info.best[metric_id] = _Best(value, result.model, values[metric_id][1], result.paper_title, result.result_date)
    if not better or quiet:
        return None  # includes the first result of a benchmark: with nothing to beat it is not news
    assert previous is not None
    payload = {
        **base,
        "metric": metric.name,
        "direction": metric.direction,
        "value": value,
        "raw": values[metric_id][1],
        "previous": previous.payload(),
    }
    return emit_event(
        session,
        NEW_SOTA,
        f"b{info.benchmark.id}:m{metric_id}:{_result_key(result.model, result.paper_key)}",
        task_id=info.benchmark.task_id,
        benchmark_id=info.benchmark.id,
        result_id=result.id,
        paper_id=result.paper_id,
        payload=payload,
        now=now,
    )


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
) -> RecordOutcome:
    """Upsert a result on (benchmark, model, paper_key) and write its events.

    A new result writes `new_result` (and `new_sota` when it beats the previous best). An
    existing one is updated in place by the same source, or taken over by a verified source
    when it was unverified; any other source only fills gaps, so two sources never flip a
    row back and forth. A claim is never stored as verified.

    `news=False` stores the row as part of a baseline (a live source's first sync of a
    benchmark): it is written and counts towards the record, but writes no event, so years-old
    rows are never announced as news.
    """
    model = " ".join((model or "").split())[:_MAX_MODEL]
    if not model:
        raise ValueError("a result needs a model name")
    paper_key = (paper_key or "")[:_MAX_KEY]
    if source == CLAIM_SOURCE:
        verified = False
    info = _bench_info(session, benchmark_id)
    benchmark = info.benchmark
    clean = _clean_values(values)
    for metric_id in clean:
        _metric(session, metric_id)  # unknown ids fail here, with a clear message
    fields = {
        "paper_id": paper_id,
        "paper_title": paper_title,
        "paper_url": _cut(paper_url, _MAX_URL),
        "code_url": _cut(code_url, _MAX_URL),
        "result_date": result_date,
        "evidence": evidence,
        "external_id": _cut(external_id, _MAX_EXTERNAL),
    }
    existing = session.exec(
        select(Result).where(
            Result.benchmark_id == benchmark_id, Result.model == model, Result.paper_key == paper_key
        )
    ).first()
    _ensure_benchmark_metrics(session, info, list(clean))

    if existing is None:
        result = Result(
            benchmark_id=benchmark_id,
            model=model,
            paper_key=paper_key,
            extra_data=extra_data,
            source=source,
            verified=verified,
            first_seen_at=now or utcnow(),
            **fields,
        )
        session.add(result)
        session.flush()
        assert result.id is not None
        _write_values(session, result.id, clean, overwrite=True, new=True)
        benchmark.result_count = (benchmark.result_count or 0) + 1
        if result_date and (benchmark.last_result_date is None or result_date > benchmark.last_result_date):
            benchmark.last_result_date = result_date
        session.add(benchmark)
        base = {**info.context, **_result_payload(session, result, clean)}
        if not news:
            _check_sota(session, info, result, clean, base, now, quiet=True)  # keeps the record current
            return RecordOutcome(result.id, created=True, changed=True)
        events = [
            emit_event(
                session,
                NEW_RESULT,
                f"b{benchmark_id}:{_result_key(model, paper_key)}",
                task_id=benchmark.task_id,
                benchmark_id=benchmark_id,
                result_id=result.id,
                paper_id=result.paper_id,
                payload=base,
                now=now,
            ),
            _check_sota(session, info, result, clean, base, now),
        ]
        return RecordOutcome(result.id, created=True, changed=True, events=[e for e in events if e])

    result = existing
    assert result.id is not None
    owner = result.source == source or (verified and not result.verified)
    changed = False
    if owner:
        if verified and not result.verified and result.evidence != evidence:
            result.evidence = evidence  # a verified source taking over drops the claim's sentence
            changed = True
        for name, value in (("source", source), ("verified", verified), ("extra_data", extra_data)):
            if getattr(result, name) != value:
                setattr(result, name, value)
                changed = True
    for name, value in fields.items():
        current = getattr(result, name)
        gap = current is None and name not in _SOURCE_OWN_FIELDS
        if value is not None and current != value and (owner or gap):
            setattr(result, name, value)
            changed = True
    primary = primary_metric_id(session, benchmark)
    before = None
    if primary is not None:
        before = session.exec(
            select(ResultValue.value).where(ResultValue.result_id == result.id, ResultValue.metric_id == primary)
        ).first()
    if _write_values(session, result.id, clean, overwrite=owner, new=False):
        changed = True
    events: list[ResultEvent] = []
    if changed:
        info.best.clear()  # a changed value or verified flag can move the record: reload when needed
        session.add(result)
        if result.result_date and (
            benchmark.last_result_date is None or result.result_date > benchmark.last_result_date
        ):
            benchmark.last_result_date = result.result_date
            session.add(benchmark)
        session.flush()
        if primary is not None and primary in clean and not _same_value(before, clean[primary][0]) and owner:
            stored = {
                rv.metric_id: (rv.value, rv.raw)
                for rv in session.exec(select(ResultValue).where(ResultValue.result_id == result.id)).all()
            }
            base = {**info.context, **_result_payload(session, result, stored)}
            event_ = _check_sota(session, info, result, stored, base, now, before=before, quiet=not news)
            info.best.clear()
            if event_ is not None:
                events.append(event_)
    return RecordOutcome(result.id, created=False, changed=changed, events=events)


def paper_got_code(session: Session, paper_id: int, now: datetime | None = None) -> list[ResultEvent]:
    """`new_paper_with_code` for every task the paper has results on, once per (task, paper).

    Call it after linking a repository to a paper; the dedupe key makes later links to the
    same paper (a second repo, a re-sync) write nothing.
    """
    paper = session.get(Paper, paper_id)
    if paper is None:
        return []
    links = session.exec(
        select(PaperRepo, Repo)
        .join(Repo, col(Repo.id) == col(PaperRepo.repo_id))
        .where(PaperRepo.paper_id == paper_id)
        .order_by(col(PaperRepo.official).desc(), col(PaperRepo.created_at), col(PaperRepo.id))
    ).all()
    if not links:
        return []
    tasks = session.exec(
        select(Task)
        .join(Benchmark, col(Benchmark.task_id) == col(Task.id))
        .join(Result, col(Result.benchmark_id) == col(Benchmark.id))
        .where(Result.paper_id == paper_id)
        .distinct()
        .order_by(col(Task.id))
    ).all()
    payload = {
        "paper_title": paper.title,
        "arxiv_id": paper.arxiv_id,
        "paper_url": paper.url or (f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else None),
        "code_url": links[0][1].url,
        "repo_url": links[0][1].url,
        "official": links[0][0].official,
        "repos": [{"url": repo.url, "official": link.official, "found_by": link.found_by} for link, repo in links],
    }
    events = []
    for task in tasks:
        event = emit_event(
            session,
            NEW_PAPER_WITH_CODE,
            f"t{task.id}:p{paper_id}",
            task_id=task.id,
            paper_id=paper_id,
            payload={**payload, "task": task.slug, "task_name": task.name},
            now=now,
        )
        if event is not None:
            events.append(event)
    return events


def list_events(
    session: Session,
    *,
    since: datetime | None = None,
    kind: str | None = None,
    task_id: int | None = None,
    limit: int = 50,
) -> list[ResultEvent]:
    """Recent events, newest first (what `sotabot events` and alert previews show)."""
    query = select(ResultEvent)
    if since is not None:
        query = query.where(col(ResultEvent.created_at) >= since)
    if kind is not None:
        query = query.where(ResultEvent.kind == kind)
    if task_id is not None:
        query = query.where(ResultEvent.task_id == task_id)
    query = query.order_by(col(ResultEvent.created_at).desc(), col(ResultEvent.id).desc()).limit(limit)
    return list(session.exec(query).all())
