"""Writing an archive file: short transactions with an undo log, under the import lock, driver-level executemany.

Each chunk of a file (a few thousand rows) is one transaction that takes the database's write
lock, writes, logs what it changed and commits, so the running service and other commands
write between chunks. A file that fails is undone from the log (storage.imports).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Table, UniqueConstraint, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from sotabot.sources.archive.reader import local_copy
from sotabot.sources.archive.report import ArchiveError, ImportReport, ProgressCallback
from sotabot.storage import imports
from sotabot.storage.db import analyze, chunks, is_postgres
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


def _undo_key(table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns that find an inserted row again: its id, else a unique key among `columns`."""
    if "id" in columns:
        return ("id",)
    candidates = [tuple(c.name for c in index.columns) for index in table.indexes if index.unique]
    candidates += [tuple(c.name for c in con.columns) for con in table.constraints if isinstance(con, UniqueConstraint)]
    candidates += [(c.name,) for c in table.columns if c.unique]
    for key in candidates:
        if set(key) <= set(columns):
            return key
    raise ValueError(f"an import into {table.name} needs a unique key among {columns} to be undone")


class ArchiveDb:
    """The import's connection: short transactions, undo log, id allocation and fast executemany.

    SQLAlchemy's per-row parameter handling costs more than SQLite's insert itself at archive
    scale, so bulk statements are prepared once per (table, columns) and sent through the
    driver's executemany with SQLAlchemy's own type processors applied to the values (so a
    datetime, a date or a JSON list is stored exactly as the ORM would store it). New ids are
    taken up front (PostgreSQL: from the table's sequence; SQLite: after max(id), read again in
    every chunk under its write lock), so rows and their children go in as plain inserts with
    no RETURNING. Every write belongs to a `chunk()`; what it changed goes to the run's undo log
    in the same transaction.
    """

    def __init__(self, conn: Connection, run_id: int | None = None) -> None:
        self.conn = conn
        self.run_id = run_id
        self.dialect = conn.dialect
        self.postgres = is_postgres(conn)
        self.mark = "?" if self.dialect.paramstyle == "qmark" else "%s"
        self._next_id: dict[str, int] = {}
        self._prepared: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], tuple[str, list[Any]]] = {}
        self._in_sql: dict[tuple[str, int], str] = {}
        self._cache_size: int | None = None
        self._undo: list[tuple[str, str, Sequence[str], list[Any]]] = []
        self._chunk_started: float | None = None
        self.transactions = 0
        self.longest_transaction = 0.0

    def prepare(self) -> None:
        """SQLite: a bigger page cache while importing (index pages stay in memory)."""
        if not self.postgres:
            self._cache_size = self.conn.exec_driver_sql("PRAGMA cache_size").scalar()
            self.conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
            self.conn.commit()

    def release(self) -> None:
        """Give the pooled connection back with its usual page cache."""
        if not self.postgres and self._cache_size is not None:
            self.conn.rollback()
            self.conn.exec_driver_sql(f"PRAGMA cache_size = {int(self._cache_size)}")
            self.conn.commit()

    @contextlib.contextmanager
    def chunk(self, last: bool = False) -> Iterator[None]:
        """One short transaction: the write lock first, then reads and writes, the undo log, commit.

        Taking SQLite's write lock before the chunk reads anything means what it reads is what it
        updates (a read-first transaction would fail when another writer commits meanwhile).
        `last`: the run is marked done in this same transaction. Nested calls join the outer one.
        """
        if self._chunk_started is not None:
            yield
            return
        self.conn.rollback()  # reads between chunks ran in their own (read) transaction
        self._chunk_started = time.monotonic()
        try:
            if not self.postgres:  # a write statement makes SQLite take its write lock now
                self.conn.exec_driver_sql("UPDATE tasks SET id = id WHERE 1 = 0")
            self._next_id.clear()  # another writer may have added rows since the last chunk
            yield
            if self.run_id is not None:
                imports.log_changes(self.conn, self.run_id, self._undo)
                if last:
                    imports.finish_run(self.conn, self.run_id)
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            self._undo = []
            self.transactions += 1
            self.longest_transaction = max(self.longest_transaction, time.monotonic() - self._chunk_started)
            self._chunk_started = None

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

    def _writing(self) -> None:
        if self._chunk_started is None:
            raise RuntimeError("an archive write outside ArchiveDb.chunk() could not be undone")

    def insert(self, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """executemany INSERT of `rows` (tuples in `columns` order); their keys go to the undo log."""
        if not rows:
            return
        self._writing()
        sql, processors = self._statement("insert", table, columns, ())
        self._send(sql, processors, rows)
        if self.run_id is not None:
            key = _undo_key(table, columns)
            at = [columns.index(c) for c in key]
            self._undo.append((table.name, "insert", key, [[row[i] for i in at] for row in rows]))

    def update(
        self, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]], where: tuple[str, ...] = ("id",)
    ) -> None:
        """executemany UPDATE: each row is the new `columns` values followed by the `where` values.

        The values it overwrites are read first and go to the undo log.
        """
        if not rows:
            return
        self._writing()
        if self.run_id is not None:
            if len(where) != 1:
                raise ValueError(f"an update of {table.name} on {where} could not be undone: one key column")
            old = [[*values, key] for key, *values in self.lookup(table, where[0], [r[-1] for r in rows], *columns)]
            self._undo.append((table.name, "update", (*columns, where[0]), old))
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
        for part in chunks(list(keys)):
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
    """Fetch, lock, stream and commit one file chunk by chunk; any error undoes the whole file.

    `body` writes in `db.chunk()`s; its last chunk is `db.chunk(last=True)` or, when it has
    none, an empty one here marks the run done.
    """
    started = time.perf_counter()
    label = str(source)
    report = ImportReport(kind=kind, source=label)
    with local_copy(source, progress) as path, _queued(engine, label):
        imports.recover(engine)  # a run a crash left half-written goes first
        run_id = imports.start_run(engine, kind, label)
        with engine.connect() as conn:
            db = ArchiveDb(conn, run_id)
            db.prepare()
            try:
                body(db, path, label, report)
                with db.chunk(last=True):
                    pass
            except BaseException as exc:
                conn.rollback()
                _undo(engine, run_id, label, exc)
                if isinstance(exc, IntegrityError):  # another writer added the same row meanwhile
                    error = ArchiveError(
                        f"{label}: another writer changed the database during the import, run it again "
                        f"({type(exc.orig).__name__})"
                    )
                    error.rolled_back = True
                    raise error from None
                if isinstance(exc, ArchiveError):
                    exc.rolled_back = True
                raise
            finally:
                db.release()
        imports.drop_log(engine, run_id)
        report.bytes_read = path.stat().st_size
        report.transactions = db.transactions
        report.longest_transaction = db.longest_transaction
        if progress:
            progress(report.bytes_read, report.bytes_read, "import")
    analyze(engine)  # a file is thousands of rows: leave the planner statistics that match them
    report.elapsed = time.perf_counter() - started
    log.debug("import %s: %d transactions, longest %.2fs", report.summary(), db.transactions, db.longest_transaction)
    return report


@contextlib.contextmanager
def _queued(engine: Engine, label: str) -> Iterator[None]:
    """The import lock; an importer already at work is waited for, and the wait is said once."""
    try:
        with imports.import_lock(engine, wait=False):
            yield
            return
    except imports.ImportBusy:
        pass
    log.warning("%s: another import is running; this one starts when it ends", label)
    with imports.import_lock(engine):
        yield


def _undo(engine: Engine, run_id: int, label: str, exc: BaseException) -> None:
    """Undo a failed file's committed chunks; a failure of the undo itself is left for `recover`."""
    try:
        rows = imports.undo_run(engine, run_id)
    except Exception as undo_exc:  # e.g. the disk is still full: the next import or start finishes it
        log.error("%s: undo of the failed import did not finish (%s); the next import finishes it", label, undo_exc)
        return
    log.info("%s: the failed import was undone (%d rows)", label, rows)
