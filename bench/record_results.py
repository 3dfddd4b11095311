"""How fast the one live write path (`storage.results.record_result`) stores and re-syncs results.

A live poll writes every row through record_result, which looks the row up, upserts its
values and checks for a new state of the art; a re-sync of unchanged data must be cheap. This
prints rows/s for a first sync (creates + events), a second sync of the same rows (nothing
new), and a raw `sqlite3 executemany` of the same rows into the same tables, measured in the
same run, with the ratio. `python -m bench.record_results [--rows N] [--full]`.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session

from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Benchmark, Dataset, Metric, Task
from sotabot.storage.results import record_result

BENCHMARKS = 50
BATCH = 500


def _rows(n: int, seed: int = 0) -> list[tuple[int, str, str, float, date]]:
    rng = random.Random(seed)
    start = date(2015, 1, 1)
    return [
        (i % BENCHMARKS, f"Model-{i}", f"{2000 + i % 600}.{i:05d}", round(rng.uniform(10, 90), 2),
         start + timedelta(days=rng.randrange(4000)))
        for i in range(n)
    ]


def _setup(url: str) -> tuple[object, list[int], int]:
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        metric = Metric(name="Accuracy", direction="higher")
        s.add(metric)
        s.flush()
        ids = []
        for b in range(BENCHMARKS):
            task, ds = Task(slug=f"task-{b}", name=f"Task {b}"), Dataset(name=f"Dataset {b}")
            s.add_all([task, ds])
            s.flush()
            bench = Benchmark(task_id=task.id, dataset_id=ds.id, primary_metric_id=metric.id)
            s.add(bench)
            s.flush()
            ids.append(bench.id)
        s.commit()
        return engine, ids, metric.id


def _sync(engine, ids: list[int], metric_id: int, rows) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    events = 0
    t0 = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        with Session(engine) as s:
            for b, model, key, value, day in rows[start : start + BATCH]:
                out = record_result(
                    s, benchmark_id=ids[b], model=model, paper_key=key, values={metric_id: (value, str(value))},
                    result_date=day, source="pwc_api", verified=True,
                )
                events += len(out.events)
            s.commit()
    return time.perf_counter() - t0, events


def _raw(path: Path, ids: list[int], metric_id: int, rows) -> float:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(path)
    t0 = time.perf_counter()
    conn.executemany(
        "INSERT INTO results (benchmark_id, model, paper_key, result_date, extra_data, source, verified, first_seen_at)"
        " VALUES (?, ?, ?, ?, 0, 'raw', 1, '2026-01-01')",
        [(ids[b], model, key, day.isoformat()) for b, model, key, _v, day in rows],
    )
    first = conn.execute("SELECT min(id) FROM results WHERE source = 'raw'").fetchone()[0]
    conn.executemany(
        "INSERT INTO result_values (result_id, metric_id, value, raw) VALUES (?, ?, ?, ?)",
        [(first + i, metric_id, v, str(v)) for i, (_b, _m, _k, v, _d) in enumerate(rows)],
    )
    conn.commit()
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--full", action="store_true", help="50,000 rows (a first sync of 50 tasks x 10 boards)")
    args = parser.parse_args()
    n = 50_000 if args.full else args.rows
    rows = _rows(n)
    with tempfile.TemporaryDirectory() as tmp:
        engine, ids, metric_id = _setup(f"sqlite:///{tmp}/bench.db")
        first, events = _sync(engine, ids, metric_id, rows)
        second, again = _sync(engine, ids, metric_id, rows)
        raw_engine, raw_ids, raw_metric = _setup(f"sqlite:///{tmp}/raw.db")
        raw_engine.dispose()  # type: ignore[attr-defined]
        raw = _raw(Path(tmp) / "raw.db", raw_ids, raw_metric, rows)
    print(f"record_result on SQLite, {n:,} rows over {BENCHMARKS} benchmarks")
    print(f"{'pass':<34}{'seconds':>10}{'rows/s':>12}{'events':>9}{'vs raw':>9}")
    for name, secs, ev in (
        ("first sync (create + events)", first, events),
        ("second sync (unchanged)", second, again),
        ("raw sqlite3 executemany", raw, 0),
    ):
        print(f"{name:<34}{secs:>10.2f}{n / secs:>12,.0f}{ev:>9}{secs / raw:>8.1f}x")


if __name__ == "__main__":
    main()
