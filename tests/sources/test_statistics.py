"""Writes that change many rows leave the planner statistics fresh: imports, migrations, big polls."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from sotabot.sources.archive.tables import import_tables
from sotabot.sources.poll import ANALYZE_AFTER_ROWS, PollReport, run_poll
from sotabot.storage.db import upgrade


def _statistics(engine: Engine) -> set[str]:
    """The tables SQLite holds statistics for (empty when the file was never analysed)."""
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
            return set()
        return {row[0] for row in conn.execute(text("SELECT tbl FROM sqlite_stat1"))}


def _forget(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS sqlite_stat1"))


def test_an_archive_import_leaves_the_imported_tables_analysed(sqlite_engine: Engine, fixture_files) -> None:
    _forget(sqlite_engine)
    path = sorted(fixture_files.pwc_tables.glob("*.json"))[0]
    import_tables(sqlite_engine, path)
    assert {"results", "result_values", "benchmarks", "tasks"} <= _statistics(sqlite_engine)


def test_upgrade_analyses_a_file_that_was_never_analysed(sqlite_engine: Engine, fixture_files) -> None:
    import_tables(sqlite_engine, sorted(fixture_files.pwc_tables.glob("*.json"))[0])
    _forget(sqlite_engine)  # as an older sotabot left it
    upgrade(sqlite_engine)
    assert "results" in _statistics(sqlite_engine)


def test_a_poll_that_wrote_many_rows_refreshes_statistics_and_a_small_one_does_not(
    sqlite_engine: Engine, fixture_files
) -> None:
    import_tables(sqlite_engine, sorted(fixture_files.pwc_tables.glob("*.json"))[0])
    _forget(sqlite_engine)

    def small(report: PollReport) -> None:
        report.new = ANALYZE_AFTER_ROWS - 1

    def big(report: PollReport) -> None:
        report.new, report.linked = ANALYZE_AFTER_ROWS // 2, ANALYZE_AFTER_ROWS // 2

    run_poll(sqlite_engine, "test-small", small)
    assert _statistics(sqlite_engine) == set()
    run_poll(sqlite_engine, "test-big", big)
    assert "results" in _statistics(sqlite_engine)
