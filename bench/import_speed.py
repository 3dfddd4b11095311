"""Archive import speed: `sotabot import` of a synthetic PwC archive vs a raw sqlite3 executemany.

`python -m bench.import_speed` (quick: a tenth of Papers with Code scale, well under 2 min),
`--full` (PwC scale: 4,000 tasks, 12,000 benchmarks, 100,000 results, 576,000 papers, 300,000
links), `--scale N` (N times the results). The importer runs in a fresh process on a fresh
SQLite file (papers, then tables, then links: the order the README gives; `--order` changes it), so its
peak RSS (ru_maxrss; the reader process it starts for big files reports its own VmHWM) is its own. The baseline then
inserts the same rows, already parsed into tuples, with `sqlite3.executemany` into plain
tables with the same unique keys and indexes, in one transaction per file, in this same run.
Targets: full-scale import <= 60 s, peak memory <= 500 MB.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ijson

from bench.pwc_synth import generate

ORDER = ("papers", "tables", "links")
TARGET_SECONDS = 60.0
TARGET_MB = 500.0
QUICK_FRACTION = 0.1

# The raw baseline's tables: the same columns, unique keys and indexes as storage/models.py.
RAW_SCHEMA = """
CREATE TABLE papers (id INTEGER PRIMARY KEY, arxiv_id VARCHAR(64) UNIQUE, url VARCHAR(1000) UNIQUE,
  version INTEGER NOT NULL, title TEXT NOT NULL, abstract TEXT NOT NULL, authors JSON NOT NULL,
  categories JSON NOT NULL, primary_category VARCHAR(64), published DATETIME, updated DATETIME, comment TEXT,
  hf_upvotes INTEGER, hf_summary TEXT, code_checked_at DATETIME, first_seen_at DATETIME NOT NULL);
CREATE UNIQUE INDEX ix_papers_arxiv_id ON papers (arxiv_id);
CREATE INDEX ix_papers_first_seen_at ON papers (first_seen_at);
CREATE INDEX ix_papers_primary_category ON papers (primary_category);
CREATE INDEX ix_papers_published ON papers (published);
CREATE TABLE results (id INTEGER PRIMARY KEY, benchmark_id INTEGER NOT NULL, model VARCHAR(500) NOT NULL,
  paper_key VARCHAR(1000) NOT NULL, paper_id INTEGER, paper_title TEXT, paper_url VARCHAR(1000),
  code_url VARCHAR(1000), result_date DATE, extra_data BOOLEAN NOT NULL, source VARCHAR(32) NOT NULL,
  verified BOOLEAN NOT NULL, evidence TEXT, external_id VARCHAR(100), first_seen_at DATETIME NOT NULL,
  CONSTRAINT uq_result UNIQUE (benchmark_id, model, paper_key));
CREATE INDEX ix_results_benchmark_date ON results (benchmark_id, result_date);
CREATE INDEX ix_results_paper_id ON results (paper_id);
CREATE TABLE result_values (id INTEGER PRIMARY KEY, result_id INTEGER NOT NULL, metric_id INTEGER NOT NULL,
  value FLOAT, raw VARCHAR(500) NOT NULL, UNIQUE (result_id, metric_id));
CREATE INDEX ix_result_values_metric_value ON result_values (metric_id, value);
CREATE TABLE repos (id INTEGER PRIMARY KEY, url VARCHAR(300) NOT NULL UNIQUE, archived BOOLEAN NOT NULL,
  deleted BOOLEAN NOT NULL);
CREATE UNIQUE INDEX ix_repos_url ON repos (url);
CREATE TABLE paper_repos (id INTEGER PRIMARY KEY, paper_id INTEGER NOT NULL, repo_id INTEGER NOT NULL,
  official BOOLEAN NOT NULL, found_by VARCHAR(32) NOT NULL, framework VARCHAR(50), created_at DATETIME NOT NULL,
  UNIQUE (paper_id, repo_id));
CREATE INDEX ix_paper_repos_paper_id ON paper_repos (paper_id);
CREATE INDEX ix_paper_repos_repo_id ON paper_repos (repo_id);
"""


def _fresh(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# ----------------------------------------------------------------------------------------------
# The importer, in a process of its own.


def child(db_path: str, files: list[str]) -> int:
    """Run the real importers on a fresh database; print one JSON line per file, then totals."""
    from sotabot.sources.archive.importer import IMPORTERS
    from sotabot.storage.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    for item in files:
        kind, path = item.split("=", 1)
        cpu = time.process_time()
        report = IMPORTERS[f"pwc-{kind}"](engine, path)
        print(
            json.dumps(
                {
                    "kind": kind, "rows": report.rows, "elapsed": report.elapsed,
                    "cpu": time.process_time() - cpu, "inserted": report.inserted, "summary": report.summary(),
                    "reader_peak_mb": report.reader_peak_mb,
                }
            ),
            flush=True,
        )
    self_usage = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # CPU only: a child's ru_maxrss includes our image
    print(
        json.dumps(
            {
                "peak_mb": self_usage.ru_maxrss / 1024,
                "cpu_self": self_usage.ru_utime + self_usage.ru_stime,
                "cpu_readers": kids.ru_utime + kids.ru_stime,
            }
        ),
        flush=True,
    )
    return 0


def run_importer(db_path: Path, paths: dict[str, Path], order: tuple[str, ...]) -> tuple[list[dict], dict]:
    _fresh(db_path)
    args = [sys.executable, "-m", "bench.import_speed", "--child", str(db_path)]
    args += [f"{kind}={paths[kind]}" for kind in order]
    started = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"importer failed:\n{out.stderr}")
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    totals = lines[-1]
    totals["wall_with_startup"] = wall
    return lines[:-1], totals


# ----------------------------------------------------------------------------------------------
# The raw baseline: the same rows as tuples, sqlite3.executemany, same keys and indexes.

_ARXIV = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})")


def _items(path: Path) -> Any:
    with gzip.open(path, "rb") as fh:
        yield from ijson.items(fh, "item", use_float=True)


def _raw_papers(path: Path, now: str) -> list[tuple]:
    rows, seen = [], set()
    for r in _items(path):
        key = r.get("arxiv_id") or r.get("url_abs")
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            (
                r.get("arxiv_id"), None if r.get("arxiv_id") else r.get("url_abs"), 1, r.get("title") or "",
                r.get("abstract") or "", json.dumps(r.get("authors") or []), "[]", r.get("date"), now,
            )
        )
    return rows


def _raw_results(path: Path, now: str) -> tuple[list[tuple], list[tuple]]:
    results: list[tuple] = []
    values: list[tuple] = []
    metric_ids: dict[str, int] = {}
    bench_ids: dict[tuple, int] = {}
    seen: set[tuple] = set()

    def walk_dataset(task: str, node: dict, parent: tuple) -> None:
        path_ = (*parent, node.get("dataset") or node.get("subdataset"))
        sota = node.get("sota")
        if sota:
            bid = bench_ids.setdefault((task, path_), len(bench_ids) + 1)
            for row in sota.get("rows", []):
                url = row.get("paper_url") or ""
                match = _ARXIV.search(url)
                key = (bid, row["model_name"], match.group(1) if match else url)
                if key in seen:
                    continue
                seen.add(key)
                rid = len(results) + 1
                results.append(
                    (rid, *key, None, row.get("paper_title"), url or None, None, row.get("paper_date"),
                     bool(row.get("uses_additional_data")), "pwc_archive", True, now)
                )
                for name, cell in row.get("metrics", {}).items():
                    mid = metric_ids.setdefault(name, len(metric_ids) + 1)
                    number = cell if isinstance(cell, float | int) else None
                    values.append((rid, mid, number, str(cell)))
        for sub in node.get("subdatasets", []):
            walk_dataset(task, sub, path_)

    def walk_task(node: dict) -> None:
        for dataset in node.get("datasets", []):
            walk_dataset(node["task"], dataset, ())
        for sub in node.get("subtasks", []):
            walk_task(sub)

    for task in _items(path):
        walk_task(task)
    return results, values


def _raw_links(path: Path, now: str) -> tuple[list[tuple], list[tuple]]:
    repos: dict[str, int] = {}
    links: dict[tuple, tuple] = {}
    paper_ids: dict[str, int] = {}
    for r in _items(path):
        url = r["repo_url"].lower().removesuffix(".git")
        rid = repos.setdefault(url, len(repos) + 1)
        pid = paper_ids.setdefault(r.get("paper_arxiv_id") or r["paper_url_abs"], len(paper_ids) + 1)
        links.setdefault((pid, rid), (pid, rid, bool(r["is_official"]), "pwc", r.get("framework") or None, now))
    return [(rid, url, False, False) for url, rid in repos.items()], list(links.values())


def run_raw(db_path: Path, paths: dict[str, Path], order: tuple[str, ...]) -> dict[str, float]:
    """Seconds per file for the raw executemany (parsing into tuples is not timed)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    _fresh(db_path)
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.executescript(RAW_SCHEMA)
    timings: dict[str, float] = {}
    for kind in order:
        if kind == "papers":
            papers = _raw_papers(paths[kind], now)
            started = time.perf_counter()
            con.executemany(
                "INSERT INTO papers (arxiv_id, url, version, title, abstract, authors, categories, published, "
                "first_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                papers,
            )
            con.commit()
            timings[kind] = time.perf_counter() - started
            del papers
        elif kind == "tables":
            results, values = _raw_results(paths[kind], now)
            started = time.perf_counter()
            con.executemany("INSERT INTO results (id, benchmark_id, model, paper_key, paper_id, paper_title, "
                            "paper_url, code_url, result_date, extra_data, source, verified, first_seen_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", results)
            con.executemany("INSERT INTO result_values (result_id, metric_id, value, raw) VALUES (?, ?, ?, ?)", values)
            con.commit()
            timings[kind] = time.perf_counter() - started
        else:
            repos, links = _raw_links(paths[kind], now)
            started = time.perf_counter()
            con.executemany("INSERT INTO repos (id, url, archived, deleted) VALUES (?, ?, ?, ?)", repos)
            con.executemany("INSERT INTO paper_repos (paper_id, repo_id, official, found_by, framework, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?)", links)
            con.commit()
            timings[kind] = time.perf_counter() - started
    con.close()
    return timings


# ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1], argv[2:])
    parser = argparse.ArgumentParser(prog="python -m bench.import_speed", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="Papers with Code scale (the target's size)")
    size.add_argument("--quick", action="store_true", help="a tenth of PwC scale (the default)")
    parser.add_argument("--scale", type=float, default=1, help="multiply the number of results (e.g. 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--order", default=",".join(ORDER), help="import order (default: papers,tables,links)")
    parser.add_argument("--keep", action="store_true", help="keep the two databases (GBs at full scale)")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "sotabot-bench")
    args = parser.parse_args(argv)
    fraction = 1.0 if args.full else QUICK_FRACTION
    synth_dir = args.work / f"synth-f{fraction:g}-s{args.scale:g}-seed{args.seed}"
    started = time.perf_counter()
    paths = generate(synth_dir, scale=args.scale, seed=args.seed, fraction=fraction)
    print(f"synthetic archive in {synth_dir} ({time.perf_counter() - started:.0f}s, cached after the first run)")

    order = tuple(args.order.split(","))
    if sorted(order) != sorted(ORDER):
        parser.error(f"--order must name each of {', '.join(ORDER)} once")
    reports, totals = run_importer(args.work / "import.db", paths, order)
    totals["reader_peak_mb"] = max((r["reader_peak_mb"] for r in reports), default=0.0)
    raw = run_raw(args.work / "raw.db", paths, order)

    print()
    print(f"{'file':8} {'records':>9} {'ours s':>8} {'ours rows/s':>12} {'cpu s':>7} "
          f"{'raw s':>7} {'raw rows/s':>11} {'ours/raw':>9}")
    total_ours = total_raw = 0.0
    for report in reports:
        kind, rows, elapsed = report["kind"], report["rows"], report["elapsed"]
        total_ours += elapsed
        total_raw += raw[kind]
        print(f"{kind:8} {rows:>9,} {elapsed:>8.1f} {rows / elapsed:>12,.0f} {report['cpu']:>7.1f} "
              f"{raw[kind]:>7.2f} {rows / raw[kind]:>11,.0f} {elapsed / raw[kind]:>8.1f}x")
    print(f"{'total':8} {sum(r['rows'] for r in reports):>9,} {total_ours:>8.1f} {'':>12} "
          f"{totals['cpu_self']:>7.1f} {total_raw:>7.2f} {'':>11} {total_ours / total_raw:>8.1f}x")
    print()
    print(f"importer peak RSS {totals['peak_mb']:.0f} MB (reader process {totals['reader_peak_mb']:.0f} MB); "
          f"CPU {totals['cpu_self']:.1f}s importer + {totals['cpu_readers']:.1f}s reader; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for report in reports:
        print(f"  {report['summary']}")
    if args.full and args.scale == 1:
        ok_time = total_ours <= TARGET_SECONDS
        ok_mem = max(totals["peak_mb"], totals["reader_peak_mb"]) <= TARGET_MB
        print(f"target: import <= {TARGET_SECONDS:.0f}s {'PASS' if ok_time else 'FAIL'}; "
              f"peak <= {TARGET_MB:.0f} MB {'PASS' if ok_mem else 'FAIL'}")
    if not args.keep:
        _fresh(args.work / "import.db")
        _fresh(args.work / "raw.db")
    return 0


if __name__ == "__main__":
    sys.exit(main())
