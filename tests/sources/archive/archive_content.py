"""What an archive import stored, by natural keys (no ids, no timestamps): two imports compare equal
when they stored the same tasks, benchmarks, results, values, papers and links."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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
    TaskAlias,
    as_utc,
)


def archive_content(engine) -> dict[str, set[tuple[Any, ...]]]:
    with Session(engine) as s:
        tasks = {t.id: t for t in s.exec(select(Task)).scalars()}
        slug = {tid: t.slug for tid, t in tasks.items()}
        datasets = {d.id: d for d in s.exec(select(Dataset)).scalars()}

        def dataset_path(did: int | None) -> tuple[str, ...]:
            path: list[str] = []
            while did is not None:
                path.insert(0, datasets[did].name)
                did = datasets[did].parent_id
            return tuple(path)

        metrics = {m.id: m for m in s.exec(select(Metric)).scalars()}
        benches = {b.id: b for b in s.exec(select(Benchmark)).scalars()}
        bench_key = {bid: (slug[b.task_id], dataset_path(b.dataset_id)) for bid, b in benches.items()}
        papers = {p.id: p for p in s.exec(select(Paper)).scalars()}
        paper_key = {pid: p.arxiv_id or p.url for pid, p in papers.items()}
        results = {r.id: r for r in s.exec(select(Result)).scalars()}
        result_key = {rid: (*bench_key[r.benchmark_id], r.model, r.paper_key) for rid, r in results.items()}
        repos = {r.id: r.url for r in s.exec(select(Repo)).scalars()}
        return {
            "tasks": {
                (t.slug, t.name, t.area, slug.get(t.parent_id), t.description) for t in tasks.values()
            },
            "aliases": {(a.alias, slug[a.task_id], a.source) for a in s.exec(select(TaskAlias)).scalars()},
            "datasets": {(dataset_path(did), d.description) for did, d in datasets.items()},
            "metrics": {(m.name, m.direction) for m in metrics.values()},
            "benchmarks": {
                (
                    *bench_key[bid],
                    metrics[b.primary_metric_id].name if b.primary_metric_id else None,
                    b.result_count,
                    b.last_result_date,
                )
                for bid, b in benches.items()
            },
            "benchmark_metrics": {
                (*bench_key[bm.benchmark_id], metrics[bm.metric_id].name)
                for bm in s.exec(select(BenchmarkMetric)).scalars()
            },
            "results": {
                (
                    *result_key[rid],
                    paper_key.get(r.paper_id),
                    r.paper_title,
                    r.paper_url,
                    r.code_url,
                    r.result_date,
                    bool(r.extra_data),
                    r.source,
                    bool(r.verified),
                )
                for rid, r in results.items()
            },
            "values": {
                (*result_key[v.result_id], metrics[v.metric_id].name, v.value, _number_text(v.raw))
                for v in s.exec(select(ResultValue)).scalars()
            },
            "papers": {
                (p.arxiv_id, p.url, p.title, p.abstract, tuple(p.authors or ()), as_utc(p.published))
                for p in papers.values()
            },
            "links": {
                (paper_key[link.paper_id], repos[link.repo_id], bool(link.official), link.framework, link.found_by)
                for link in s.exec(select(PaperRepo)).scalars()
            },
        }


def _number_text(raw: str) -> str:
    """A numeric raw cell in one spelling: Arrow stores the dump's integer 37 as 37.0 in a column of floats."""
    try:
        return repr(float(raw))
    except ValueError:
        return raw
