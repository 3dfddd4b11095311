"""How fast the live write path stores and re-syncs results: in batches, row by row, and raw.

A live poll writes a task's leaderboards in one transaction; `storage.results.record_results`
takes a leaderboard's rows at once (one batch per benchmark), `record_result` one row at a time
(the same code with a batch of one). This prints rows/s for a first sync (creates + events) and
a second sync of the same rows (nothing new) through both, and a raw `sqlite3 executemany` of
the same rows into the same tables, measured in the same run, with the ratios; and checks that
both paths wrote the very same events. Each pass gets its own copy of the database.

    python -m bench.record_results [--rows N] [--full] [--real]

`--real` runs on copies of `bench.real_scale`'s database (the synthetic archive imported with
`sotabot import`, as a user builds it; built first if missing) instead of an empty one; the
rows go to 50 new benchmarks scored on the archive's most used higher-is-better metric.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Benchmark, Dataset, Metric, ResultValue, Task
from sotabot.storage.results import ResultRow, record_result, record_results

BENCHMARKS = 50
PER_TASK = 10  # benchmarks a transaction, as the Papers with Code poller writes a task
TARGET_ROWS_S = 5_000
RAW_REPEATS = 3

Row = tuple[int, str, str, float, date]


def _rows(n: int, seed: int = 0) -> list[Row]:
    rng = random.Random(seed)
    start = date(2015, 1, 1)
    return [
        (i % BENCHMARKS, f"Model-{i}", f"{2000 + i % 600}.{i:05d}", round(rng.uniform(10, 90), 2),
         start + timedelta(days=rng.randrange(4000)))
        for i in range(n)
    ]


def _database(folder: Path, name: str, real: Path | None) -> Path:
    """A copy of `real` (or a new file), on disk before the clock starts.

    A fresh copy is 1.3 GB of dirty page cache, and the first WAL checkpoint's fsync would
    write all of it back inside a timed pass (0.3 s of a 0.9 s sync), which a user's long-lived
    database never pays.
    """
    path = folder / f"{name}.db"
    if real is not None:
        for suffix in ("", "-wal"):
            if Path(f"{real}{suffix}").exists():
                shutil.copyfile(f"{real}{suffix}", f"{path}{suffix}")
                with open(f"{path}{suffix}", "rb+") as copy:
                    os.fsync(copy.fileno())
    return path


def _setup(path: Path) -> tuple[Engine, list[int], int]:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine) as s:
        metric_id = s.exec(  # the archive's most used higher-is-better metric, if there is an archive
            select(Metric.id)
            .join(ResultValue, col(ResultValue.metric_id) == col(Metric.id))
            .where(Metric.direction == "higher")
            .group_by(col(Metric.id))
            .order_by(func.count().desc())
            .limit(1)
        ).first()
        if metric_id is None:
            metric = Metric(name="Accuracy", direction="higher")
            s.add(metric)
            s.flush()
            metric_id = metric.id
        ids = []
        for b in range(BENCHMARKS):
            task, ds = Task(slug=f"bench-record-{b}", name=f"Bench record {b}"), Dataset(name=f"Bench record {b}")
            s.add_all([task, ds])
            s.flush()
            bench = Benchmark(task_id=task.id, dataset_id=ds.id, primary_metric_id=metric_id)
            s.add(bench)
            s.flush()
            ids.append(bench.id)
        s.commit()
        assert metric_id is not None
        return engine, ids, metric_id


def _result_rows(ids: list[int], metric_id: int, rows: list[Row]) -> list[list[list[ResultRow]]]:
    """The rows as the poller writes them: per transaction (task), a list of leaderboards."""
    boards: dict[int, list[ResultRow]] = {}
    for b, model, key, value, day in rows:
        boards.setdefault(b, []).append(
            ResultRow(benchmark_id=ids[b], model=model, paper_key=key, values={metric_id: (value, str(value))},
                      result_date=day, source="pwc_api", verified=True)
        )
    ordered = [boards[b] for b in sorted(boards)]
    return [ordered[i : i + PER_TASK] for i in range(0, len(ordered), PER_TASK)]


def _by_row(session: Session, board: list[ResultRow]) -> int:
    return sum(
        len(record_result(
            session, benchmark_id=r.benchmark_id, model=r.model, paper_key=r.paper_key, values=r.values,
            result_date=r.result_date, source=r.source, verified=r.verified,
        ).events)
        for r in board
    )


def _batched(session: Session, board: list[ResultRow]) -> int:
    return sum(len(outcome.events) for outcome in record_results(session, board))


def _sync(engine: Engine, tasks: list[list[list[ResultRow]]], write: Callable[[Session, list[ResultRow]], int]
          ) -> tuple[float, int]:
    events = 0
    t0 = time.perf_counter()
    for boards in tasks:
        with Session(engine) as s:
            for board in boards:
                events += write(s, board)
            s.commit()
    return time.perf_counter() - t0, events


def _events(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    found = conn.execute(
        "SELECT kind, dedupe_key, benchmark_id, result_id, payload FROM result_events ORDER BY id"
    ).fetchall()
    conn.close()
    return found


def _raw(path: Path, ids: list[int], metric_id: int, rows: list[Row]) -> float:
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
    conn.execute("DELETE FROM result_values WHERE result_id >= ?", (first,))  # for the next repeat
    conn.execute("DELETE FROM results WHERE source = 'raw'")
    conn.commit()
    conn.close()
    return elapsed


def run(n: int, real: Path | None = None) -> dict[str, float]:
    """Every pass on its own copy of `real` (or an empty database); prints the table, returns rows/s."""
    rows = _rows(n)
    load = os.getloadavg()
    figures: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory(dir=real.parent if real else None) as tmp:
        folder = Path(tmp)
        paths = {}
        for name, write in (("row by row", _by_row), ("batch", _batched)):
            paths[name] = _database(folder, name.replace(" ", "_"), real)
            engine, ids, metric_id = _setup(paths[name])
            tasks = _result_rows(ids, metric_id, rows)
            figures[f"{name}: first sync (create + events)"] = _sync(engine, tasks, write)
            figures[f"{name}: second sync (unchanged)"] = _sync(engine, tasks, write)
            engine.dispose()
        same = _events(paths["batch"]) == _events(paths["row by row"])
        raw_path = _database(folder, "raw", real)
        raw_engine, raw_ids, raw_metric = _setup(raw_path)
        raw_engine.dispose()
        raw = min(_raw(raw_path, raw_ids, raw_metric, rows) for _ in range(RAW_REPEATS))  # it is short: noisy
    where = f"copies of {real} (imported with `sotabot import`)" if real else "an empty database"
    print(f"results on SQLite, {n:,} rows over {BENCHMARKS} benchmarks, {PER_TASK} benchmarks a transaction, "
          f"on {where}")
    print(f"  {'pass':<44}{'seconds':>9}{'rows/s':>11}{'events':>8}{'vs raw':>9}")
    for name, (secs, ev) in figures.items():
        print(f"  {name:<44}{secs:>9.2f}{n / secs:>11,.0f}{ev:>8}{secs / raw:>8.1f}x")
    print(f"  {f'raw sqlite3 executemany (best of {RAW_REPEATS})':<44}{raw:>9.2f}{n / raw:>11,.0f}{0:>8}{1:>8.1f}x")
    for sync in ("first sync (create + events)", "second sync (unchanged)"):
        ratio = figures[f"row by row: {sync}"][0] / figures[f"batch: {sync}"][0]
        print(f"  batch vs row by row, {sync}: {ratio:.1f}x faster")
    first = n / figures["batch: first sync (create + events)"][0]
    print(f"  events written by both paths identical: {'yes' if same else 'NO'}; target: a first sync >= "
          f"{TARGET_ROWS_S:,} rows/s {'PASS' if first >= TARGET_ROWS_S and same else 'FAIL'}")
    after = os.getloadavg()
    print(f"  load average {load[0]:.2f} {load[1]:.2f} at the start, {after[0]:.2f} {after[1]:.2f} at the end")
    return {name: n / secs for name, (secs, _) in figures.items()} | {"raw": n / raw}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--full", action="store_true", help="50,000 rows (a first sync of 50 tasks x 10 boards)")
    parser.add_argument("--real", action="store_true", help="on copies of bench.real_scale's imported database")
    args = parser.parse_args()
    real = None
    if args.real:
        from bench.real_scale import build

        real, _ = build(1.0, 1.0, 1000, rebuild=False, seed=0, stale_ok=True)
    run(50_000 if args.full else args.rows, real)


if __name__ == "__main__":
    main()
