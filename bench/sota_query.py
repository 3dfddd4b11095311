"""`sota` query latency on a synthetic Papers with Code archive, next to a raw indexed select.

    python -m bench.sota_query [--scale 10] [--quick] [--samples 1000] [--lookup-tasks 40000]

Runs on the database `bench.real_scale` builds the way a user does (the synthetic archive of
`bench.pwc_synth`, all three dumps through `sotabot import`, a day of polling; cached under
bench/out/real_scale/), then times over random tasks, in one run:

- `leaderboard()` (main benchmark rule, primary metric, ranked rows, other benchmarks),
  each call in its own Session as a chat command would;
- a raw sqlite3 select of the same top rows (same benchmark, metric, order, limit) on the
  same indexes: the floor the ORM-free database could reach;
- `resolve_task()` + `leaderboard()` as `sotabot sota` does;
- `resolve_task()` / `search_tasks()` on a separate taxonomy of `--lookup-tasks` tasks
  (40,000 by default, ten times Papers with Code's), exact, misspelled and abbreviated.

The default (scale 1 = 100,000 results) runs in about a minute once the dumps are cached;
`--scale 10` is the 1,000,000-result target (p99 <= 20 ms); `--quick` is a smoke run.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from bench.pwc_synth import _DATASET_STEMS, _TASK_HEADS, _TASK_MODS
from sotabot.bot.lookup.resolve import resolve_task, search_tasks
from sotabot.sources.normalise.taxonomy import slugify
from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.leaderboards import leaderboard

OUT = Path(__file__).resolve().parent / "out" / "sota_query"
TARGET_P99_MS = 20.0

RAW_ROWS_SQL = """
SELECT r.model, v.value, v.raw, r.paper_title, r.paper_url, r.code_url, r.result_date, r.extra_data
FROM results r LEFT JOIN result_values v ON v.result_id = r.id AND v.metric_id = ?
WHERE r.benchmark_id = ?
ORDER BY v.value IS NULL, {order}, r.result_date IS NULL, r.result_date, r.model, r.id
LIMIT ?
"""


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _best(runs: list[list[float]]) -> list[float]:
    return [min(sample) for sample in zip(*runs, strict=True)]


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def build_archive_db(scale: float, fraction: float, fresh: bool) -> Path:
    """The synthetic archive as a user has it: `bench.real_scale`'s database, shared and cached.

    This bench used to import only the tables and links dumps itself and then run ANALYZE by
    hand, which no user does; its figures flattered the product (docs/benchmarks.md).
    """
    from bench.real_scale import DEFAULT_CHANNELS, build

    db, _ = build(fraction, scale, DEFAULT_CHANNELS, fresh, seed=0)
    return db


def build_taxonomy_db(n_tasks: int) -> Path:
    """A database holding only a taxonomy of `n_tasks` plausible task names (for lookup timing)."""
    db = OUT / f"taxonomy_{n_tasks}.db"
    if db.exists():
        return db
    OUT.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    rng = random.Random(7)
    domains = [s.split()[0] for s in _DATASET_STEMS] + ["Robotics", "Biology", "Finance", "Code", "Music"]
    names: set[str] = set(_TASK_HEADS)
    while len(names) < n_tasks:
        head, mod = rng.choice(_TASK_HEADS), rng.choice(_TASK_MODS)
        shape = rng.random()
        if shape < 0.3:
            name = f"{mod} {head}"
        elif shape < 0.6:
            name = f"{mod} {rng.choice(_TASK_MODS)} {head}"
        elif shape < 0.85:
            name = f"{mod} {head} on {rng.choice(domains)}"
        else:
            name = f"{head} for {rng.choice(domains)} {rng.choice(domains)}"
        names.add(name)
    rows = [{"slug": slugify(n), "name": n} for n in sorted(names)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tasks (slug, name) VALUES (:slug, :name)"), rows)
        ids = dict(conn.execute(text("SELECT slug, id FROM tasks")).all())
        aliases = [{"a": f"{r['slug']} alias", "t": ids[r["slug"]]} for r in rows[: n_tasks // 10]]
        conn.execute(text("INSERT INTO task_aliases (alias, task_id, source) VALUES (:a, :t, 'dump')"), aliases)
    engine.dispose()
    return db


def _misspell(name: str, rng: random.Random) -> str:
    words = name.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    if len(w) > 4:
        j = rng.randrange(1, len(w) - 1)
        words[i] = w[:j] + w[j + 1 :]
    return " ".join(words)


def _abbreviate(name: str) -> str:
    return " ".join(w[:4] for w in name.split())


def _row(label: str, samples: list[float], base: list[float] | None = None) -> str:
    p50, p99 = _pct(samples, 0.5), _pct(samples, 0.99)
    ratio = f"{p99 / _pct(base, 0.99):6.1f}x" if base else "      -"
    return f"{label:<44} {p50:8.2f} {p99:8.2f} {max(samples):8.2f}   {ratio}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sota_query", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1, help="results x 100,000 (10 = the 1,000,000 target)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the archive, 200 samples (smoke run)")
    parser.add_argument("--samples", type=int, default=1000, help="random tasks timed (default 1,000)")
    parser.add_argument("--lookup-tasks", type=int, default=40_000, help="taxonomy size for the lookup timing")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database even if cached")
    args = parser.parse_args(argv)
    fraction = 0.1 if args.quick else 1.0
    samples = min(args.samples, 200) if args.quick else args.samples
    lookup_tasks = min(args.lookup_tasks, 4000) if args.quick else args.lookup_tasks

    db = build_archive_db(args.scale, fraction, args.fresh)
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in
                  ("tasks", "benchmarks", "results", "result_values", "papers", "paper_repos")}
        task_ids = [r[0] for r in conn.execute(text(
            "SELECT DISTINCT task_id FROM benchmarks ORDER BY task_id"))]
        names = dict(conn.execute(text("SELECT id, name FROM tasks")).all())
    rng = random.Random(1)
    picked = [rng.choice(task_ids) for _ in range(samples)]

    # What each task's leaderboard is (benchmark, metric, direction), for the raw baseline.
    plans: list[tuple[int, int | None, bool]] = []
    with Session(engine) as s:
        for tid in picked:
            board = leaderboard(s, tid)
            plans.append((board.benchmark_id, board.metric_id, board.higher_is_better is False))
        for tid in picked[:50]:  # warm caches and the task index
            resolve_task(s, names[tid])

    gc.collect()  # setup garbage should not be collected inside the timed calls
    gc.freeze()
    raw = sqlite3.connect(db)
    queries = {lower: RAW_ROWS_SQL.format(order="v.value ASC" if lower else "v.value DESC") for lower in (True, False)}
    plan_text = " | ".join(r[3] for r in raw.execute("EXPLAIN QUERY PLAN " + queries[False], (1, 1, 10)))
    def board_call(tid: int) -> None:
        with Session(engine) as s:
            leaderboard(s, tid)

    def sota_call(name: str) -> None:
        with Session(engine) as s:
            res = resolve_task(s, name)
            if res.task is not None:
                leaderboard(s, res.task.id)

    # Each side: two interleaved passes, each sample's best (the machine may be shared; a
    # scheduler hiccup should not count against one side only).
    t_raw, t_board, t_sota = [], [], []
    for _ in range(2):
        t_raw.append([_time(lambda b=b, m=m, lo=lo: raw.execute(queries[lo], (m, b, 10)).fetchall())
                      for b, m, lo in plans])
        t_board.append([_time(lambda tid=tid: board_call(tid)) for tid in picked])
        t_sota.append([_time(lambda n=names[tid]: sota_call(n)) for tid in picked])
    t_raw, t_board, t_sota = (_best(runs) for runs in (t_raw, t_board, t_sota))
    raw.close()

    # Lookup on a 10x taxonomy.
    tax_db = build_taxonomy_db(lookup_tasks)
    tax = make_engine(f"sqlite:///{tax_db}")
    with Session(tax) as s:
        tax_names = [n for (n,) in s.execute(text("SELECT name FROM tasks"))]
        build_ms = _time(lambda: resolve_task(s, "warm up the index"))
        rng = random.Random(2)
        sample_names = [rng.choice(tax_names) for _ in range(samples)]
        typos = [_misspell(n, rng) for n in sample_names]
        abbreviations = [_abbreviate(n) for n in sample_names]

        def timed(queries: list[str], fn: Callable[[Session, str], object]) -> list[float]:
            return _best([[_time(lambda q=q: fn(s, q)) for q in queries] for _ in range(2)])

        t_exact = timed(sample_names, resolve_task)
        t_typo = timed(typos, resolve_task)
        t_abbr = timed(abbreviations, resolve_task)
        t_search = timed([n[:3] for n in sample_names], search_tasks)
        answers = [resolve_task(s, t) for t in typos]
        hits = sum(r.task is not None or bool(r.suggestions) for r in answers)
        correct = sum(
            (r.task is not None and r.task.name == n) or n in [x.name for x in r.suggestions]
            for n, r in zip(sample_names, answers, strict=True)
        )
    tax.dispose()
    engine.dispose()

    print()
    sizes = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    print(f"archive: scale {args.scale:g}, fraction {fraction:g}: {sizes}")
    print(f"raw rows query plan: {plan_text}")
    print(f"{samples} random tasks, best of 2 passes each; ms; ratio = p99 / raw p99 (sqlite3, same rows and indexes)")
    print(f"{'operation':<44} {'p50':>8} {'p99':>8} {'max':>8}   {'ratio':>7}")
    print(_row("raw sqlite3 select of the top 10 rows", t_raw))
    print(_row("leaderboard() (rule + rows + other benchmarks)", t_board, t_raw))
    print(_row("resolve_task(exact name) + leaderboard()", t_sota, t_raw))
    print(f"lookup on {len(tax_names):,} tasks (index built in {build_ms:.0f} ms, rebuilt only when tasks change)")
    print(_row("resolve_task(exact name)", t_exact, t_raw))
    print(_row("resolve_task(misspelled name)", t_typo, t_raw))
    print(_row("resolve_task(abbreviated: 'Few- Shot Obje Dete')", t_abbr, t_raw))
    print(_row("search_tasks(3-letter prefix) (autocomplete)", t_search, t_raw))
    print(f"misspelled names answered {hits}/{samples}, the right task resolved or suggested {correct}/{samples}")
    p99 = _pct(t_sota, 0.99)
    verdict = "PASS" if p99 <= TARGET_P99_MS else "FAIL"
    print(f"sota p99 {p99:.2f} ms (target <= {TARGET_P99_MS:g} ms at scale 10): {verdict}")
    summary = {
        "scale": args.scale, "fraction": fraction, "samples": samples,
        "leaderboard_p99_ms": round(_pct(t_board, 0.99), 2), "sota_p99_ms": round(p99, 2),
        "raw_p99_ms": round(_pct(t_raw, 0.99), 3), "median_sota_ms": round(statistics.median(t_sota), 2),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
