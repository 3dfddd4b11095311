"""Papers with Code (the relaunched paperswithcode.co API v1): tasks, benchmarks, leaderboards, code.

One poll syncs `sources.paperswithcode.tasks_per_poll` tasks: the tasks channels subscribe
to first, then the rest in rotation (the cursor lives in source_state). For each task it
reads the benchmarks in the server's priority order (`tasks/{task}/trending-benchmarks`),
which become `Benchmark.priority` and the task's default benchmark, then each benchmark's
leaderboard (`datasets/{id}/evaluations/?ordering=best_rank`), and the code repositories of
papers it has not seen (`papers/{ref}?include_resources=true`).

Everything a task needs is fetched first and written afterwards in one short transaction,
so an upstream fault (5xx, 429, truncated JSON, a body over the 2 MiB cap) leaves the stored
data as it was, and SQLite's single writer is never held while waiting on the network.
Paging is incremental: a leaderboard page whose rows are all stored unchanged ends the scan
(new results enter near the top of a best_rank ordering); `--since` scans everything.
The contract is in tests/fixtures/paperswithcode-co/API.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from sotabot.sources.normalise.links import link_paper
from sotabot.sources.normalise.taxonomy import metric_direction
from sotabot.sources.normalise.values import normalise_arxiv_id, parse_value, raw_text
from sotabot.sources.poll import PollReport, get_state, run_poll
from sotabot.sources.settings import SourcesSettings
from sotabot.sources.upstream.http import ApiError, BudgetSpent, Clock, JsonApi, NotFound, Politeness, UpstreamError
from sotabot.sources.upstream.news import is_baseline, is_news, subscribed_since
from sotabot.sources.upstream.pwc_plan import CatalogTask, Cursor, local_tasks, parse_catalog, plan, subscribed_tasks
from sotabot.storage.db import session_scope
from sotabot.storage.models import (
    LABEL_CHARS,
    MODEL_CHARS,
    NAME_CHARS,
    RAW_VALUE_CHARS,
    URL_CHARS,
    Benchmark,
    Dataset,
    Metric,
    Paper,
    PaperRepo,
    Repo,
    Result,
    ResultValue,
    Task,
    as_utc,
)
from sotabot.storage.results import ResultRow, paper_got_code, record_results

log = logging.getLogger(__name__)

SOURCE = "paperswithcode"
RESULT_SOURCE = "pwc_api"
PAGE_SIZE = 100
MAX_PAGES = 10  # a 1,000-row scan ceiling per leaderboard, as the official CLI uses
MAX_BENCHMARKS_PER_TASK = 10  # leaderboards read per task, in priority order
MAX_PAPER_LOOKUPS_PER_TASK = 25  # `papers/{ref}` calls per task for code repositories


# ------------------------------------------------------------------------------------------
# Parsed API data


@dataclass
class BenchmarkRef:
    """A benchmark as `trending-benchmarks` lists it; `priority` is its position (0 = first)."""

    external_id: str
    name: str
    slug: str | None
    priority: int
    description: str | None = None


@dataclass
class EvalRow:
    """One logical leaderboard result: split rows merged, metrics in first-seen order."""

    paper_id: str | None
    task_id: str | None
    dataset_id: str | None
    model_name: str
    harness: str | None
    metrics: dict[str, Any]
    best_metric: str | None
    best_rank: int | None
    paper_title: str | None
    arxiv_id: str | None
    published: date | None
    url: str | None
    ids: list[str] = field(default_factory=list)

    @property
    def model(self) -> str:
        """The stored model name: the harness is part of a result's identity."""
        name = " ".join(self.model_name.split())
        return f"{name} ({self.harness})" if self.harness else name

    @property
    def paper_key(self) -> str:
        if self.arxiv_id:
            return self.arxiv_id
        return f"pwc:{self.paper_id}" if self.paper_id else ""

    @property
    def paper_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else self.url


@dataclass
class EvalPage:
    """A leaderboard page: its rows and declared count, the server's ETag, and whether it was a 304."""

    rows: list[Any]
    count: int | None
    etag: str | None = None
    not_modified: bool = False


Known = dict[tuple[str, str], dict[str, str]]  # (model, paper_key) -> {metric name: raw}


@dataclass
class TaskFetch:
    """Everything read from the API for one task, before anything is written."""

    slug: str
    benchmarks: list[BenchmarkRef]
    leaderboards: dict[str, list[EvalRow]]
    repos: dict[str, list[tuple[str, bool]]]  # arXiv id -> [(url, is_official)]
    pages: int = 0
    known: dict[str, Known] = field(default_factory=dict)  # benchmark id -> rows stored before the fetch
    etags: dict[str, str] = field(default_factory=dict)  # benchmark id -> ETag of its first page, as read
    checked: dict[str, date] = field(default_factory=dict)  # arXiv id -> day its resources were read here
    not_modified: int = 0  # leaderboards the server said are unchanged (304)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _rank(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rows(data: Any) -> tuple[list[Any], int | None]:
    """The rows and declared count of a list envelope: `{count, results}`, `{items, total}` or a list."""
    if isinstance(data, list):
        return data, len(data)
    if isinstance(data, dict):
        for rows_key, count_key in (("results", "count"), ("items", "total")):
            if isinstance(data.get(rows_key), list):
                count = data.get(count_key)
                return data[rows_key], count if isinstance(count, int) and not isinstance(count, bool) else None
    raise ApiError(f"expected a list of rows, got {type(data).__name__}")


def parse_trending(data: Any) -> list[BenchmarkRef]:
    """Benchmarks of `trending-benchmarks` in the server's order (its SOTA priority)."""
    rows, _ = _rows(data)
    refs: list[BenchmarkRef] = []
    seen: set[str] = set()
    for row in rows:
        if not isinstance(row, dict):
            continue
        external_id, name = _text(row.get("id")), _text(row.get("name"))
        if external_id is None or name is None or external_id in seen:
            continue
        seen.add(external_id)
        refs.append(
            BenchmarkRef(external_id, name, _text(row.get("slug")), len(refs), _text(row.get("description")))
        )
    return refs


def merge_rows(rows: Iterable[Any]) -> list[EvalRow]:
    """Merge split rows (same paper, task, dataset, model, harness) into one result.

    Metrics are combined (the first value of a metric wins), the lowest best_rank is kept and
    the first non-empty best_metric; the order is the server's (the first row of each result).
    """
    merged: dict[tuple, EvalRow] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        model = _text(row.get("model_name"))
        metrics = row.get("metrics")
        if model is None or not isinstance(metrics, dict):
            continue
        harness = _text(row.get("harness"))
        key = (
            _text(row.get("paper_id")),
            _text(row.get("task_id")),
            _text(row.get("dataset_id")),
            model,
            harness,
        )
        rank = _rank(row.get("best_rank"))
        current = merged.get(key)
        if current is None:
            arxiv = normalise_arxiv_id(_text(row.get("paper_arxiv_id")))
            merged[key] = EvalRow(
                paper_id=key[0],
                task_id=key[1],
                dataset_id=key[2],
                model_name=model,
                harness=harness,
                metrics={str(k): v for k, v in metrics.items()},
                best_metric=_text(row.get("best_metric")),
                best_rank=rank,
                paper_title=_text(row.get("paper_title")),
                arxiv_id=arxiv,
                published=_date(row.get("paper_published_date")),
                url=_text(row.get("result_url")) or _text(row.get("source_url")),
                ids=[i for i in [_text(row.get("id"))] if i],
            )
            continue
        for name, value in metrics.items():
            current.metrics.setdefault(str(name), value)
        if rank is not None and (current.best_rank is None or rank < current.best_rank):
            current.best_rank = rank
        current.best_metric = current.best_metric or _text(row.get("best_metric"))
        current.paper_title = current.paper_title or _text(row.get("paper_title"))
        current.published = current.published or _date(row.get("paper_published_date"))
        current.url = current.url or _text(row.get("result_url")) or _text(row.get("source_url"))
        if _text(row.get("id")):
            current.ids.append(str(row["id"]).strip())
    return list(merged.values())


def parse_repositories(data: Any) -> list[tuple[str, bool]]:
    """`repositories` of a paper with resources: [(url, is_official)], official ones first."""
    if not isinstance(data, dict):
        raise ApiError(f"expected a paper object, got {type(data).__name__}")
    repos: list[tuple[str, bool]] = []
    for item in data.get("repositories") or []:
        if isinstance(item, str):
            url, official = item, False
        elif isinstance(item, dict) and isinstance(item.get("url"), str):
            url, official = item["url"], item.get("is_official") is True
        else:
            continue
        repos.append((url.strip(), official))
    return sorted(repos, key=lambda r: not r[1])


# ------------------------------------------------------------------------------------------
# The client


class PapersWithCodeClient(JsonApi):
    """GETs against the API with the shared polite client; JSON or a clear ApiError."""

    def __init__(
        self, config: SourcesSettings, *, clock: Clock | None = None, transport: httpx.BaseTransport | None = None
    ):
        pwc = config.sources.paperswithcode
        politeness = Politeness.from_config(
            config.sources.http,
            min_interval=1.0 / pwc.requests_per_second,
            max_body_bytes=pwc.max_body_bytes,
        )
        super().__init__(
            pwc.api_url,
            politeness=politeness,
            contact=config.sources.arxiv.contact,
            headers={"Accept": "application/json, text/plain;q=0.9"},
            clock=clock,
            transport=transport,
            name=SOURCE,
        )
        self.http.budget = pwc.requests_per_poll or None  # retries count too: refused before they are sent

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """Booleans as the API spells them; None-valued parameters left out."""
        clean = {k: ("true" if v is True else "false" if v is False else v) for k, v in (params or {}).items()}
        return super().get_json(url, {k: v for k, v in clean.items() if v is not None})

    def catalog(self) -> list[CatalogTask]:
        """The visible top-level tasks of every area, with their popularity."""
        return parse_catalog(self.get_json("areas/with-tasks/"))

    def trending_benchmarks(self, task: str) -> list[BenchmarkRef]:
        data = self.get_json(
            f"tasks/{quote(task, safe='')}/trending-benchmarks", {"limit": 100, "min_recent_papers": 0}
        )
        return parse_trending(data)

    def evaluations(self, dataset_id: str, page: int, etag: str | None = None) -> EvalPage:
        """One leaderboard page; with the ETag of our copy, a 304 says it is unchanged (no body)."""
        url = f"datasets/{quote(dataset_id, safe='')}/evaluations/"
        params = {"page": page, "page_size": PAGE_SIZE, "ordering": "best_rank"}
        response = self.http.get(url, params=params, headers={"If-None-Match": etag} if etag else None)
        if response.status_code == 304:
            return EvalPage([], None, etag, not_modified=True)
        if response.status_code == 404:
            raise NotFound(f"{url}: not found upstream")
        if response.status_code >= 400:
            raise ApiError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
        rows, count = _rows(self.decode(url, response))
        return EvalPage(rows, count, response.headers.get("ETag"))

    def repositories(self, ref: str) -> list[tuple[str, bool]]:
        return parse_repositories(self.get_json(f"papers/{ref}", {"include_resources": True}))


# ------------------------------------------------------------------------------------------
# Fetch phase (network, read-only database)


def _local_benchmark(session: Session, task_slug: str, ref: BenchmarkRef) -> Benchmark | None:
    task = session.exec(select(Task).where(Task.slug == task_slug)).first()
    if task is None:
        return None
    by_id = session.exec(
        select(Benchmark).where(Benchmark.task_id == task.id, Benchmark.external_id == ref.external_id)
    ).first()
    if by_id is not None:
        return by_id
    dataset = _find_dataset(session, ref.name)
    if dataset is None:
        return None
    return session.exec(
        select(Benchmark).where(Benchmark.task_id == task.id, Benchmark.dataset_id == dataset.id)
    ).first()


def _known_rows(session: Session, benchmark_id: int) -> Known:
    known: Known = {}
    rows = session.exec(
        select(Result.model, Result.paper_key, Metric.name, ResultValue.raw)
        .join(ResultValue, col(ResultValue.result_id) == col(Result.id), isouter=True)
        .join(Metric, col(Metric.id) == col(ResultValue.metric_id), isouter=True)
        .where(Result.benchmark_id == benchmark_id)
    ).all()
    for model, paper_key, metric, raw in rows:
        entry = known.setdefault((model, paper_key), {})
        if metric is not None:
            entry[metric] = raw
    return known


def _is_known(row: EvalRow, known: Known) -> bool:
    stored = known.get((row.model[:MODEL_CHARS], row.paper_key[:URL_CHARS]))
    if stored is None:
        return False
    return all(stored.get(name) == raw_text(value)[:RAW_VALUE_CHARS] for name, value in row.metrics.items())


def fetch_task(
    client: PapersWithCodeClient,
    engine: Engine,
    slug: str,
    *,
    full: bool = False,
    checked: dict[str, date] | None = None,
    now: datetime | None = None,
    etags: Mapping[str, str] | None = None,
    recheck_days: int = 14,
) -> TaskFetch:
    """Read a task's benchmarks, leaderboards and new papers' code from the API (no writes).

    A paper's resources are read once: `checked` (arXiv id -> day read, kept in the cursor
    for `resources_recheck_days`) is consulted, so a paper on ten leaderboards costs one
    request, not ten; the days read here come back in `TaskFetch.checked`, to be kept only once
    the task is stored (a fetch cut short stores nothing, so what it read must be read again).
    Papers of new rows come first; then, when stale, papers on the board still without code
    (code often appears after the paper). `etags` (benchmark id -> ETag of the first page we
    stored) makes the first page a conditional request: a 304 means nothing on the board changed.
    """
    checked = {} if checked is None else checked
    moment = now or datetime.now(UTC)
    today = moment.date()
    benchmarks = client.trending_benchmarks(slug)
    fetch = TaskFetch(slug=slug, benchmarks=benchmarks, leaderboards={}, repos={})
    known_by_bench = fetch.known
    with Session(engine) as session:
        for ref in benchmarks[:MAX_BENCHMARKS_PER_TASK]:
            bench = _local_benchmark(session, slug, ref)
            known_by_bench[ref.external_id] = _known_rows(session, bench.id) if bench and bench.id else {}
    for ref in benchmarks[:MAX_BENCHMARKS_PER_TASK]:
        known = known_by_bench[ref.external_id]
        raw_rows: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            etag = (etags or {}).get(ref.external_id) if page == 1 and known and not full else None
            got = client.evaluations(ref.external_id, page, etag)
            fetch.pages += 1
            if got.not_modified:
                fetch.not_modified += 1
                break
            if page == 1 and got.etag:
                fetch.etags[ref.external_id] = got.etag
            rows, count = got.rows, got.count
            raw_rows.extend(rows)
            if not rows or count is None or len(raw_rows) >= count:
                break
            if not full and known and all(_is_known(r, known) for r in merge_rows(rows)):
                break  # everything on this page is stored already: the rest is too
        fetch.leaderboards[ref.external_id] = merge_rows(raw_rows)
    new_papers: dict[str, None] = {}
    stored_papers: dict[str, None] = {}
    for ref_id, rows in fetch.leaderboards.items():
        for row in rows:
            if row.arxiv_id:
                stored = _is_known(row, known_by_bench[ref_id])
                (stored_papers if stored else new_papers).setdefault(row.arxiv_id)
    stale = today - timedelta(days=recheck_days)
    wanted = [p for p in {**new_papers, **stored_papers} if checked.get(p, date.min) < stale]
    if wanted:
        with Session(engine) as session:
            linked = _linked_papers(session, wanted, since=moment - timedelta(days=recheck_days))
        due = [p for p in wanted if p in new_papers and p not in linked["fresh"]]
        due += [p for p in wanted if p not in new_papers and p not in linked["any"]]
        for arxiv_id in due[:MAX_PAPER_LOOKUPS_PER_TASK]:
            try:
                fetch.repos[arxiv_id] = client.repositories(arxiv_id)
            except NotFound:
                fetch.repos[arxiv_id] = []
            fetch.checked[arxiv_id] = today
    return fetch


def _linked_papers(session: Session, arxiv_ids: list[str], since: datetime) -> dict[str, set[str]]:
    """Which of these papers have code stored ("any") and which were linked by this source since `since`."""
    rows = session.exec(
        select(Paper.arxiv_id, PaperRepo.found_by, PaperRepo.created_at)
        .join(PaperRepo, col(PaperRepo.paper_id) == col(Paper.id))
        .where(col(Paper.arxiv_id).in_(arxiv_ids))
    ).all()
    fresh = {a for a, found_by, created in rows if found_by == "pwc" and as_utc(created) >= since}
    return {"any": {a for a, _, _ in rows if a}, "fresh": {a for a in fresh if a}}


# ------------------------------------------------------------------------------------------
# Write phase (one transaction per task)


def _find_dataset(session: Session, name: str) -> Dataset | None:
    exact = session.exec(select(Dataset).where(Dataset.name == name, col(Dataset.parent_id).is_(None))).first()
    if exact is not None:
        return exact
    return session.exec(
        select(Dataset)
        .where(func.lower(Dataset.name) == name.lower())
        .order_by(col(Dataset.parent_id).is_not(None), col(Dataset.id))
    ).first()


def _dataset(session: Session, ref: BenchmarkRef) -> Dataset:
    found = _find_dataset(session, ref.name)
    if found is None:
        found = Dataset(name=ref.name[:NAME_CHARS], description=ref.description)
        session.add(found)
        session.flush()
    return found


def _metric(session: Session, name: str, overrides: dict[str, str], cache: dict[str, Metric]) -> Metric:
    if name in cache:
        return cache[name]
    metric = session.exec(select(Metric).where(Metric.name == name)).first()
    if metric is None:
        metric = session.exec(select(Metric).where(func.lower(Metric.name) == name.lower())).first()
    if metric is None:
        metric = Metric(name=name[:NAME_CHARS], direction=metric_direction(name, overrides))
        session.add(metric)
        session.flush()
    cache[name] = metric
    return metric


def _task(session: Session, slug: str, catalog: dict[str, tuple[str, str | None]]) -> Task:
    task = session.exec(select(Task).where(Task.slug == slug)).first()
    if task is None:
        name, area = catalog.get(slug, (slug.replace("-", " ").strip().capitalize() or slug, None))
        task = Task(slug=slug, name=name, area=area)
        session.add(task)
        session.flush()
    return task


def _paper(session: Session, row: EvalRow) -> Paper | None:
    if not row.arxiv_id:
        return None
    paper = session.exec(select(Paper).where(Paper.arxiv_id == row.arxiv_id)).first()
    if paper is None:
        day = row.published
        published = datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
        paper = Paper(arxiv_id=row.arxiv_id, title=row.paper_title or "", published=published)
        session.add(paper)
        session.flush()
    elif not paper.title and row.paper_title:
        paper.title = row.paper_title
        session.add(paper)
    return paper


def _code_url(session: Session, paper: Paper | None, repos: list[tuple[str, bool]] | None) -> str | None:
    if repos:
        return repos[0][0]
    if paper is None or paper.id is None:
        return None
    return session.exec(
        select(Repo.url)
        .join(PaperRepo, col(PaperRepo.repo_id) == col(Repo.id))
        .where(PaperRepo.paper_id == paper.id)
        .order_by(col(PaperRepo.official).desc(), col(PaperRepo.id))
    ).first()


def _record(session: Session, rows: list[ResultRow], report: PollReport, now: datetime) -> None:
    """Store the rows gathered so far in one batch and count the outcomes; empties `rows`."""
    for outcome in record_results(session, rows, now=now):
        report.count_result(outcome)
    rows.clear()


def store_task(
    session: Session,
    fetch: TaskFetch,
    config: SourcesSettings,
    report: PollReport,
    *,
    catalog: dict[str, tuple[str, str | None]] | None = None,
    since: date | None = None,
    now: datetime | None = None,
) -> None:
    """Write one task's benchmarks (priority kept), results, code links and events."""
    now = now or datetime.now(UTC)
    task = _task(session, fetch.slug, catalog or {})
    assert task.id is not None
    metrics: dict[str, Metric] = {}
    ranked: list[Benchmark] = []
    by_ref: dict[str, Benchmark] = {}
    touched: set[int] = set()
    for ref in fetch.benchmarks:
        if ref.external_id in fetch.leaderboards:
            dataset = _dataset(session, ref)
            bench = _local_benchmark(session, task.slug, ref)
            if bench is None:
                bench = Benchmark(task_id=task.id, dataset_id=dataset.id or 0)
        else:
            bench = _local_benchmark(session, task.slug, ref)  # ranked, not read this poll
            if bench is None:
                continue
        by_ref[ref.external_id] = bench
        if bench.id is not None and bench.id in touched:
            continue  # two upstream benchmarks on one of ours: the first (higher priority) names it
        bench.external_id = ref.external_id[:LABEL_CHARS]
        bench.priority = ref.priority
        session.add(bench)
        session.flush()
        ranked.append(bench)
        touched.add(bench.id or 0)
    for stale in session.exec(
        select(Benchmark).where(Benchmark.task_id == task.id, col(Benchmark.priority).is_not(None))
    ).all():
        if stale.id not in touched:
            stale.priority = None
            session.add(stale)

    papers_linked: dict[int, int] = {}
    followed_since = subscribed_since(session, task.slug)
    for ref in fetch.benchmarks:
        rows = fetch.leaderboards.get(ref.external_id)
        if rows is None:
            continue
        bench = by_ref[ref.external_id]
        ordered = sorted(rows, key=lambda r: (r.best_rank is None, r.best_rank or 0))
        if bench.primary_metric_id is None:
            lead = next((r for r in ordered if r.best_metric and r.best_metric in r.metrics), None)
            name = lead.best_metric if lead else next((n for r in ordered for n in r.metrics), None)
            if name:
                bench.primary_metric_id = _metric(session, name, config.metrics, metrics).id
                session.add(bench)
                session.flush()
        known = fetch.known.get(ref.external_id, {})
        baseline = is_baseline(session, bench.id, RESULT_SOURCE)
        if baseline:  # history first (quietly), then the rows a follower has not seen, oldest first
            fresh = [r for r in ordered if is_news(True, r.published, followed_since)]
            history = [r for r in ordered if not is_news(True, r.published, followed_since)]
            ordered = history + sorted(fresh, key=lambda r: r.published or date.min)
        pending: list[ResultRow] = []
        for row in ordered:
            if since is not None and row.published is not None and row.published < since:
                continue
            if _is_known(row, known) and (row.arxiv_id or "") not in fetch.repos:
                report.unchanged += 1  # stored with these very values: nothing to write
                continue
            values = {
                _metric(session, name, config.metrics, metrics).id or 0: (parse_value(value), raw_text(value))
                for name, value in row.metrics.items()
                if str(name).strip()
            }
            paper = _paper(session, row)
            repos = fetch.repos.get(row.arxiv_id or "")
            if paper is not None and paper.id is not None and repos and paper.id not in papers_linked:
                _record(session, pending, report, now)  # rows first: events keep a row-at-a-time sync's order
                papers_linked[paper.id] = sum(
                    link_paper(session, paper, "pwc", [url for url, off in repos if off == official], official)
                    for official in (True, False)
                )
                report.linked += papers_linked[paper.id]
            pending.append(
                ResultRow(
                    benchmark_id=bench.id or 0,
                    model=row.model,
                    paper_key=row.paper_key,
                    values=values,
                    paper_id=paper.id if paper else None,
                    paper_title=row.paper_title,
                    paper_url=row.paper_url,
                    code_url=_code_url(session, paper, repos),
                    result_date=row.published,
                    source=RESULT_SOURCE,
                    verified=True,
                    external_id=row.ids[0] if row.ids else None,
                    news=is_news(baseline, row.published, followed_since),
                    news_by=row.published if baseline else None,  # a follower since a later day has seen it
                )
            )
        _record(session, pending, report, now)  # before the next benchmark asks whether it is a baseline
    for paper_id, new_links in papers_linked.items():
        if new_links:
            report.add("events", len(paper_got_code(session, paper_id, now=now)))
    default = next((b for b in ranked if b.result_count), ranked[0] if ranked else None)
    if default is not None:
        task.default_benchmark_id = default.id
    task.synced_at = now
    session.add(task)
    report.add("tasks", 1)
    report.add("benchmarks", len(fetch.leaderboards))
    report.add("pages", fetch.pages)
    if fetch.not_modified:
        report.add("not_modified", fetch.not_modified)



# ------------------------------------------------------------------------------------------
# The poll (the order comes from pwc_plan)


Catalog = dict[str, tuple[str, str | None]]  # task slug -> (name, area)


def _now(clock: Clock | None) -> datetime:
    return datetime.fromtimestamp(clock.time(), UTC) if clock is not None else datetime.now(UTC)


def _add_catalog_tasks(engine: Engine, tasks: list[CatalogTask], report: PollReport) -> None:
    """Store the API's top-level tasks that are not stored yet (names and areas), in one transaction."""
    with session_scope(engine) as session:
        existing = set(session.exec(select(Task.slug).where(col(Task.slug).in_([t.slug for t in tasks]))).all())
        missing = [
            Task(slug=t.slug[:NAME_CHARS], name=t.name[:NAME_CHARS], area=t.area)
            for t in tasks
            if t.slug not in existing
        ]
        session.add_all(missing)
    report.add("tasks_added", len(missing))


def _is_outage(exc: UpstreamError) -> bool:
    """Retries spent (no status): the upstream is down, so the rest of the poll would fail too."""
    return exc.status is None


def _refresh_catalog(
    engine: Engine, client: PapersWithCodeClient, config: SourcesSettings, cursor: Cursor, report: PollReport,
    now: datetime,
) -> bool:
    """Re-read the catalog when it is older than `catalog_refresh_hours`; False when the upstream is down."""
    hours = config.sources.paperswithcode.catalog_refresh_hours
    if cursor.catalog and cursor.catalog_at is not None and now - as_utc(cursor.catalog_at) < timedelta(hours=hours):
        return True
    try:
        tasks = client.catalog()
        _add_catalog_tasks(engine, tasks, report)
        cursor.set_catalog(tasks, now)
    except BudgetSpent:
        report.add("budget_spent", 1)
        return False  # nothing left to sync with
    except (ApiError, UpstreamError, SQLAlchemyError) as exc:
        report.errors.append(f"catalog: {exc}")
        log.warning("%s: task catalog not read: %s", SOURCE, exc)
        return not (isinstance(exc, UpstreamError) and _is_outage(exc))
    return True


def poll(
    engine: Engine,
    config: SourcesSettings,
    since: date | None = None,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
) -> PollReport:
    """Sync the planned tasks (pwc_plan) within the poll's budgets; faults are reported, never raised."""
    settings = config.sources.paperswithcode
    client = PapersWithCodeClient(config, clock=clock, transport=transport)

    def body(report: PollReport) -> None:
        now = _now(clock)
        with Session(engine) as session:
            cursor = Cursor.load(get_state(session, SOURCE).cursor)
            session.commit()
        try:
            if not _refresh_catalog(engine, client, config, cursor, report, now):
                return
            with Session(engine) as session:
                planned = plan(
                    subscribed=subscribed_tasks(session),
                    synced=local_tasks(session),
                    cursor=cursor,
                    budget=settings.tasks_per_poll,
                    now=now,
                    recheck_days=settings.missing_recheck_days,
                )
            catalog = {t.slug: (t.name, t.area) for t in cursor.catalog.values()}
            for item in planned:
                outcome = _sync_one(
                    engine, client, config, report, item.slug, catalog, since, now, cursor.papers, cursor.etags
                )
                if outcome == "missing":
                    cursor.missing[item.slug] = now.date()
                elif outcome == "synced":
                    cursor.missing.pop(item.slug, None)
                elif outcome in ("outage", "budget"):
                    break
        finally:
            cursor.forget_papers_before(now.date() - timedelta(days=settings.resources_recheck_days))
            with session_scope(engine) as session:
                state = get_state(session, SOURCE)
                state.cursor = cursor.dump()
                session.add(state)

    return run_poll(engine, SOURCE, body, client=client, now=lambda: _now(clock))


def _sync_one(
    engine: Engine,
    client: PapersWithCodeClient,
    config: SourcesSettings,
    report: PollReport,
    slug: str,
    catalog: Catalog,
    since: date | None,
    now: datetime,
    checked: dict[str, date],
    etags: dict[str, str],
) -> str:
    """Fetch then store one task: "synced", "missing" (404), "error", "outage" or "budget" (stop the poll)."""
    try:
        fetched = fetch_task(
            client, engine, slug, full=since is not None, checked=checked, now=now, etags=etags,
            recheck_days=config.sources.paperswithcode.resources_recheck_days,
        )
        with session_scope(engine) as session:
            store_task(session, fetched, config, report, catalog=catalog, since=since, now=now)
        etags.update(fetched.etags)  # only once what they describe is stored
        checked.update(fetched.checked)
    except NotFound:
        report.add("not_found", 1)
        log.info("%s: task %s is not on the server", SOURCE, slug)
        return "missing"
    except BudgetSpent:
        report.add("budget_spent", 1)
        log.info("%s: request budget spent before task %s was complete", SOURCE, slug)
        return "budget"
    except UpstreamError as exc:
        report.errors.append(f"{slug}: {exc}")
        log.warning("%s: task %s not synced: %s", SOURCE, slug, exc)
        return "outage" if _is_outage(exc) else "error"
    except (ApiError, SQLAlchemyError, ValueError) as exc:
        report.errors.append(f"{slug}: {exc}"[:500])
        log.warning("%s: task %s not synced: %s", SOURCE, slug, exc)
        return "error"
    report.add("synced", 1)
    return "synced"
