"""The hot queries never scan a big table, with or without planner statistics.

The statements are the ones the product really sends (captured from the engine while the
function runs), explained on the same connection: `EXPLAIN QUERY PLAN` on SQLite (no
"SCAN <big table or its alias>"), `EXPLAIN` on PostgreSQL (no "Seq Scan on <big table>"). The database
holds tens of thousands of rows, so a planner free to scan would (SQLite without statistics
assumes a million rows a table and still must not; after `analyze` it knows the real counts).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session

from sotabot.digests.digest import new_papers_with_code, read_candidates
from sotabot.digests.trending import TrendingPool, trending
from sotabot.storage.db import analyze, is_postgres
from sotabot.storage.leaderboards import leaderboard, task_benchmarks
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
    StarSnapshot,
    Task,
)

BIG = ("papers", "paper_repos", "repos", "results", "result_values", "star_snapshots")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PAPERS, BENCHMARKS, RESULTS_PER_BENCHMARK = 30_000, 400, 50


def _fill(engine: Engine) -> int:
    """A taxonomy, 20,000 results with 40,000 values, 30,000 papers (1,000 recent), links, 44,000 snapshots."""
    old = NOW - timedelta(days=3000)
    with engine.begin() as conn:
        conn.execute(insert(Metric), [{"id": 1, "name": "Accuracy", "direction": "higher"},
                                      {"id": 2, "name": "Error", "direction": "lower"}])
        conn.execute(insert(Task), [{"id": t, "slug": f"task-{t}", "name": f"Task {t}"} for t in range(1, 101)])
        conn.execute(insert(Dataset), [{"id": d, "name": f"Dataset {d}"} for d in range(1, BENCHMARKS + 1)])
        conn.execute(insert(Benchmark), [
            {"id": b, "task_id": (b - 1) % 100 + 1, "dataset_id": b, "primary_metric_id": 1}
            for b in range(1, BENCHMARKS + 1)
        ])
        conn.execute(insert(BenchmarkMetric), [
            {"benchmark_id": b, "metric_id": m, "position": m} for b in range(1, BENCHMARKS + 1) for m in (1, 2)
        ])
        conn.execute(insert(Paper), [
            {"id": p, "arxiv_id": f"{15 + p % 10:02d}{p % 12 + 1:02d}.{p:05d}", "title": f"Paper {p}",
             "abstract": "a method", "authors": ["A. Author"], "categories": ["cs.CV"], "primary_category": "cs.CV",
             "published": NOW - timedelta(hours=p % 20) if p > PAPERS - 1000 else old + timedelta(hours=p),
             "first_seen_at": old}
            for p in range(1, PAPERS + 1)
        ])
        conn.execute(insert(Repo), [{"id": p, "url": f"https://github.com/o/r{p}", "stars": p % 500}
                                    for p in range(1, PAPERS + 1, 2)])
        conn.execute(insert(PaperRepo), [
            {"paper_id": p, "repo_id": p, "official": True, "found_by": "pwc", "created_at": NOW - timedelta(hours=1)}
            for p in range(1, PAPERS + 1, 2)
        ])
        conn.execute(insert(StarSnapshot), [
            {"repo_id": p, "taken_at": NOW - timedelta(days=d), "stars": p % 500 + 100 - d * 40}
            for p in range(PAPERS - 999, PAPERS + 1, 2) for d in (0, 2)
        ] + [  # the history of every other repository, refreshed long ago
            {"repo_id": p, "taken_at": NOW - timedelta(days=d), "stars": p % 500}
            for p in range(1, PAPERS - 999, 2) for d in (40, 80, 120)
        ])
        results, values = [], []
        for b in range(1, BENCHMARKS + 1):
            for i in range(RESULTS_PER_BENCHMARK):
                rid = len(results) + 1
                results.append({"id": rid, "benchmark_id": b, "model": f"M{i}", "paper_key": f"k{rid}",
                                "paper_id": rid % PAPERS + 1, "result_date": date(2020, 1, 1) + timedelta(days=i),
                                "extra_data": False, "source": "pwc_archive", "verified": True,
                                "first_seen_at": old})
                values += [{"result_id": rid, "metric_id": 1, "value": float(i), "raw": str(i)},
                           {"result_id": rid, "metric_id": 2, "value": float(-i), "raw": str(-i)}]
        conn.execute(insert(Result), results)
        conn.execute(insert(ResultValue), values)
    return 1


@contextmanager
def _captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


_NOT_ALIASES = {"ON", "WHERE", "JOIN", "LEFT", "RIGHT", "INNER", "OUTER", "CROSS", "FULL", "NATURAL", "GROUP",
                "ORDER", "LIMIT", "UNION", "EXCEPT", "INTERSECT", "USING", "HAVING", "WINDOW", "INDEXED", "NOT"}


def _sqlite_big_scans(lines: list[str], statement: str, tables: set[str]) -> list[str]:
    """The lines of `statement`'s query plan that scan a big table, under its name or an alias.

    SQLite names a scan by the alias (`SCAN star_snapshots_1`, `SCAN p`), so each SCAN's name is
    mapped back through the statement's `table [AS] alias` pairs. A scanned name that is neither
    a table, an alias of one, nor a subquery or CTE (whose own plan lines are checked as well)
    counts as a scan too: the check must not pass because it could not read a name. (Not seen:
    SQLite's one-row min/max plan reads "SEARCH t" whether it walks an index or the table.)
    """
    table_of = {t: t for t in tables}
    pairs = re.findall(rf'\b({"|".join(map(re.escape, tables))})"?\s+(?:AS\s+)?"?(\w+)', statement, re.I)
    table_of |= {alias: table for table, alias in pairs if alias.upper() not in _NOT_ALIASES}
    derived = set(re.findall(r'\)\s*(?:AS\s+)?"?(\w+)', statement, re.I))  # (SELECT ...) AS anon_1
    derived |= set(re.findall(r'(?:\bWITH(?:\s+RECURSIVE)?|,)\s*"?(\w+)"?\s+AS\s*(?:NOT\s+)?(?:MATERIALIZED\s*)?\(',
                              statement, re.I))  # WITH name AS (...)
    bad = []
    for line in map(str.strip, lines):
        found = re.match(r"SCAN (\S+)", line)
        if found is None or found.group(1).startswith("(") or line.startswith("SCAN CONSTANT ROW"):
            continue
        name = found.group(1)
        if table_of.get(name) in BIG or (name not in table_of and name not in derived):
            bad.append(line)
    return bad


def _scans(engine: Engine, run: Callable[[Session], object]) -> list[str]:
    """Run `run`, explain every SELECT it sent, and return the plan lines that scan a big table."""
    with Session(engine) as session, _captured(engine) as seen:
        run(session)
    assert seen, "the function sent no query"
    raw = engine.raw_connection()
    bad: list[str] = []
    try:
        cur = raw.cursor()
        if not is_postgres(engine):
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {row[0] for row in cur.fetchall()}
        for statement, params in seen:
            if is_postgres(engine):
                cur.execute("EXPLAIN " + statement, params)
                lines = [row[0] for row in cur.fetchall()]
                pattern = re.compile(rf"Seq Scan on ({'|'.join(BIG)})\b")  # the table first, then any alias
                bad += [f"{line}  <-  {statement[:120]}" for line in lines if pattern.search(line.strip())]
            else:
                cur.execute("EXPLAIN QUERY PLAN " + statement, params)
                lines = [row[3] for row in cur.fetchall()]
                bad += [f"{line}  <-  {statement[:120]}" for line in _sqlite_big_scans(lines, statement, tables)]
    finally:
        raw.close()
    return bad


HOT: dict[str, Callable[[Session], object]] = {
    "leaderboard": lambda s: leaderboard(s, 7),
    "leaderboard of a lower-is-better metric": lambda s: leaderboard(s, 7, metric="Error"),
    "benchmark list": lambda s: task_benchmarks(s, 7),
    "digest window": lambda s: read_candidates(s, NOW - timedelta(days=1), NOW, 9),
    "new papers with code": lambda s: new_papers_with_code(s, NOW - timedelta(days=1), NOW, ["cs.CV"], [], 10),
    "trending in a category": lambda s: trending(s, category="cs.CV", now=NOW),
    "trending pool": lambda s: TrendingPool(s, 7, NOW),
}


@pytest.fixture
def big(engine: Engine) -> Engine:
    _fill(engine)
    if is_postgres(engine):  # a fresh PostgreSQL table has no statistics until autovacuum: what import leaves
        analyze(engine)
    else:
        with engine.begin() as conn:  # a file imported by an older sotabot: no statistics at all
            conn.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))
    return engine


@pytest.mark.parametrize("name", list(HOT))
def test_hot_queries_do_not_scan_big_tables(big: Engine, name: str) -> None:
    assert _scans(big, HOT[name]) == []


@pytest.mark.parametrize("name", list(HOT))
def test_hot_queries_do_not_scan_big_tables_after_analyze(sqlite_engine: Engine, name: str) -> None:
    _fill(sqlite_engine)
    analyze(sqlite_engine)
    assert _scans(sqlite_engine, HOT[name]) == []


def _aliased_scan(session: Session) -> object:
    snapshot = aliased(StarSnapshot)  # rendered `star_snapshots AS star_snapshots_1`, as trending does
    return session.execute(select(snapshot.repo_id).where(snapshot.stars == 7)).all()


FULL_SCANS: dict[str, Callable[[Session], object]] = {
    "by its name": lambda s: s.execute(text("SELECT repo_id FROM star_snapshots WHERE stars = 7")).all(),
    "under an alias": _aliased_scan,
    "under a short alias": lambda s: s.execute(text("SELECT p.id FROM papers p WHERE p.hf_upvotes = 7")).all(),
}


@pytest.mark.parametrize("name", list(FULL_SCANS))
def test_a_full_scan_of_a_big_table_is_seen(big: Engine, name: str) -> None:
    """The check itself: SQLite names a scan by the table's alias, and that must not hide it."""
    assert _scans(big, FULL_SCANS[name]) != []


def test_the_hot_queries_answer_on_this_database(big: Engine) -> None:
    """The plans above are of queries that found something (not of empty short cuts)."""
    with Session(big) as session:
        board = leaderboard(session, 7)
        assert board is not None and len(board.rows) == 10
        assert len(read_candidates(session, NOW - timedelta(days=1), NOW, 9)) == 500
        assert len(trending(session, category="cs.CV", now=NOW)) == 10


def test_analyze_leaves_sqlite_statistics(sqlite_engine: Engine) -> None:
    _fill(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))
    analyze(sqlite_engine)
    with sqlite_engine.connect() as conn:
        analysed = {row[0] for row in conn.execute(text("SELECT tbl FROM sqlite_stat1"))}
    assert {"papers", "paper_repos", "results", "result_values"} <= analysed
