"""Writing an archive file: one connection, one transaction under a writer lock, driver-level executemany."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Table, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from sotabot.sources.archive.clean import IN_CHUNK
from sotabot.sources.archive.reader import local_copy
from sotabot.sources.archive.report import ArchiveError, ImportReport, ProgressCallback
from sotabot.storage.db import analyze, is_postgres
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
)

log = logging.getLogger(__name__)


T_TASK: Table = Task.__table__  # type: ignore[attr-defined]
T_ALIAS: Table = TaskAlias.__table__  # type: ignore[attr-defined]
T_DATASET: Table = Dataset.__table__  # type: ignore[attr-defined]
T_BENCH: Table = Benchmark.__table__  # type: ignore[attr-defined]
T_METRIC: Table = Metric.__table__  # type: ignore[attr-defined]
T_BM: Table = BenchmarkMetric.__table__  # type: ignore[attr-defined]
T_RESULT: Table = Result.__table__  # type: ignore[attr-defined]
T_VALUE: Table = ResultValue.__table__  # type: ignore[attr-defined]
T_PAPER: Table = Paper.__table__  # type: ignore[attr-defined]
T_REPO: Table = Repo.__table__  # type: ignore[attr-defined]
T_LINK: Table = PaperRepo.__table__  # type: ignore[attr-defined]
SQLITE_CACHE_KB = 65536  # page cache while importing: index pages stay in memory (bounded: 64 MB)
ADVISORY_LOCK_KEY = 0x50574341  # "PWCA": one archive writer at a time on PostgreSQL


class ArchiveDb:
    """The import's connection: writer lock, id allocation, and fast executemany.

    SQLAlchemy's per-row parameter handling costs more than SQLite's insert itself at archive
    scale, so bulk statements are prepared once per (table, columns) and sent through the
    driver's executemany with SQLAlchemy's own type processors applied to the values (so a
    datetime, a date or a JSON list is stored exactly as the ORM would store it). New ids are
    taken up front (PostgreSQL: from the table's sequence; SQLite: after max(id), safe under
    the write lock), so rows and their children go in as plain inserts with no RETURNING.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.postgres = is_postgres(conn)
        self.mark = "?" if self.dialect.paramstyle == "qmark" else "%s"
        self._next_id: dict[str, int] = {}
        self._prepared: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], tuple[str, list[Any]]] = {}
        self._in_sql: dict[tuple[str, int], str] = {}
        self._cache_size: int | None = None

    def lock(self) -> None:
        """Take the writer lock first, so concurrent importers queue instead of colliding."""
        if self.postgres:
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        else:  # a write statement makes SQLite take its write lock now, before any read
            self.conn.execute(text("UPDATE tasks SET id = id WHERE 1 = 0"))
            self._cache_size = self.conn.exec_driver_sql("PRAGMA cache_size").scalar()
            self.conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")

    def release(self) -> None:
        """Give the pooled connection back with its usual page cache."""
        if not self.postgres and self._cache_size is not None:
            self.conn.exec_driver_sql(f"PRAGMA cache_size = {int(self._cache_size)}")

    def take_ids(self, table: Table, n: int) -> list[int]:
        if n <= 0:
            return []
        if self.postgres:
            query = text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)")
            return [row[0] for row in self.conn.execute(query, {"t": table.name, "n": n})]
        if table.name not in self._next_id:
            self._next_id[table.name] = self.conn.execute(select(func.max(table.c.id))).scalar() or 0
        start = self._next_id[table.name] + 1
        self._next_id[table.name] += n
        return list(range(start, start + n))

    def _statement(
        self, kind: str, table: Table, columns: tuple[str, ...], where: tuple[str, ...]
    ) -> tuple[str, list[Any]]:
        key = (kind, table.name, columns, where)
        if key not in self._prepared:
            quote = self.dialect.identifier_preparer.quote
            if kind == "insert":
                sql = (
                    f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                    f"VALUES ({', '.join([self.mark] * len(columns))})"
                )
            else:
                sets = ", ".join(f"{quote(c)} = {self.mark}" for c in columns)
                conds = " AND ".join(f"{quote(c)} = {self.mark}" for c in where)
                sql = f"UPDATE {quote(table.name)} SET {sets} WHERE {conds}"
            processors = [self._bind_processor(table.c[c]) for c in columns + where]
            self._prepared[key] = (sql, processors)
        return self._prepared[key]

    def _bind_processor(self, column: Any) -> Callable[[Any], Any] | None:
        process = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
        if process is None or (isinstance(column.type, Boolean) and not self.postgres):
            return None  # sqlite3 stores a bool as 0/1 itself
        if isinstance(column.type, JSON):
            empty = process([])  # most JSON lists here are empty: serialise that once

            def json_process(value: Any) -> Any:
                if isinstance(value, str):  # already serialised by the reader process
                    return value
                return empty if isinstance(value, list) and not value else process(value)

            return json_process
        if isinstance(column.type, DateTime | Date):

            def time_process(value: Any) -> Any:
                return value if isinstance(value, str) else process(value)  # str: already in SQLite's form

            return time_process
        return process

    def _send(self, sql: str, processors: list[Any], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        active = [(i, proc) for i, proc in enumerate(processors) if proc is not None]
        if active:
            last_in: list[Any] = [None] * len(processors)
            last_out: list[Any] = [None] * len(processors)
            converted = []
            for row in rows:
                values = list(row)
                for i, proc in active:
                    value = values[i]
                    if value is None:
                        continue
                    if value is not last_in[i]:  # the same object (e.g. the import's timestamp) once
                        last_in[i], last_out[i] = value, proc(value)
                    values[i] = last_out[i]
                converted.append(tuple(values))
            rows = converted
        self.conn.exec_driver_sql(sql, rows)

    def insert(self, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """executemany INSERT of `rows` (tuples in `columns` order)."""
        sql, processors = self._statement("insert", table, columns, ())
        self._send(sql, processors, rows)

    def update(
        self, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]], where: tuple[str, ...] = ("id",)
    ) -> None:
        """executemany UPDATE: each row is the new `columns` values followed by the `where` values."""
        sql, processors = self._statement("update", table, columns, where)
        self._send(sql, processors, rows)

    def lookup(self, table: Table, key: str, keys: Sequence[Any], *columns: str) -> Iterator[tuple[Any, ...]]:
        """(key, *columns) of the stored rows whose `key` is in `keys`, looked up IN_CHUNK at a time."""
        names = (key, *columns)
        # psycopg already returns Python types; SQLite needs SQLAlchemy's (dates, booleans, JSON)
        processors = [
            None if self.postgres else table.c[c].type.dialect_impl(self.dialect).result_processor(self.dialect, None)
            for c in names
        ]
        active = [(i, proc) for i, proc in enumerate(processors) if proc is not None]
        quote = self.dialect.identifier_preparer.quote
        head = f"SELECT {', '.join(quote(c) for c in names)} FROM {quote(table.name)} WHERE {quote(key)} IN "
        keys = list(keys)
        for start in range(0, len(keys), IN_CHUNK):
            part = keys[start : start + IN_CHUNK]
            sql = self._in_sql.get((head, len(part)))
            if sql is None:
                sql = self._in_sql[(head, len(part))] = head + "(" + ", ".join([self.mark] * len(part)) + ")"
            for row in self.conn.exec_driver_sql(sql, tuple(part)).fetchall():
                if active:
                    values = list(row)
                    for i, proc in active:
                        values[i] = proc(values[i])
                    yield tuple(values)
                else:
                    yield tuple(row)


def run_file(
    kind: str,
    engine: Engine,
    source: str | os.PathLike[str],
    progress: ProgressCallback | None,
    body: Callable[[ArchiveDb, Path, str, ImportReport], None],
) -> ImportReport:
    """Fetch, lock, stream and commit one file; any error rolls the whole file back."""
    started = time.perf_counter()
    label = str(source)
    report = ImportReport(kind=kind, source=label)
    with local_copy(source, progress) as path, engine.begin() as conn:
        db = ArchiveDb(conn)
        db.lock()
        try:
            body(db, path, label, report)
        except ArchiveError as exc:
            exc.rolled_back = True
            raise
        except IntegrityError as exc:  # PostgreSQL: another writer (a live poll) added the same row meanwhile
            error = ArchiveError(
                f"{label}: another writer changed the database during the import, run it again "
                f"({type(exc.orig).__name__})"
            )
            error.rolled_back = True
            raise error from None
        finally:
            db.release()
        report.bytes_read = path.stat().st_size
        if progress:
            progress(report.bytes_read, report.bytes_read, "import")
    analyze(engine)  # a file is thousands of rows: leave the planner statistics that match them
    report.elapsed = time.perf_counter() - started
    log.debug("import %s", report.summary())
    return report
