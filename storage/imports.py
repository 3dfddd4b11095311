"""Import runs: one importer at a time, short transactions, and an undo log for a file that fails.

An archive file used to be written in one transaction, which held SQLite's only write lock
for the whole file (89 s for a full archive) while `sotabot run` and every other command
failed with "database is locked". Now an import commits every chunk (well under a second of
writing) and records, in the same transaction, what each write changed: the keys it inserted
and the old values it overwrote. A file that fails half-way is undone from that log, newest
first, so it still leaves nothing behind; a run cut off by a crash is undone by the next
importer or `sotabot run` start.

One importer at a time: the import lock is an OS file lock beside a SQLite database (released
by the kernel when its holder dies, shared by every process and container that mounts the
file) and a session-level advisory lock on PostgreSQL (released when its session ends).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, exists, func, insert, select, text, tuple_, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import SQLModel

from sotabot.storage.db import is_postgres
from sotabot.storage.models import ERROR_CHARS, ImportRun, ImportUndo, as_utc, utcnow

log = logging.getLogger(__name__)

RUNNING, DONE = "running", "done"
ADVISORY_LOCK_KEY = 0x50574341  # "PWCA": one archive importer at a time on PostgreSQL
UNDO_CHUNK = 2000  # rows deleted or restored per statement when undoing
T_RUN: Table = ImportRun.__table__  # type: ignore[attr-defined]
T_UNDO: Table = ImportUndo.__table__  # type: ignore[attr-defined]

_memory_locks: dict[str, threading.Lock] = {}  # in-memory SQLite: one process, so a thread lock
_memory_guard = threading.Lock()


class ImportBusy(Exception):
    """Another importer holds the import lock (raised only when asked not to wait)."""


def _lock_file(engine: Engine) -> str | None:
    database = make_url(str(engine.url)).database
    if database in (None, "", ":memory:") or str(database).startswith("file:"):
        return None
    return f"{os.path.abspath(database)}-import.lock"


@contextlib.contextmanager
def import_lock(engine: Engine, *, wait: bool = True) -> Iterator[None]:
    """Hold the import lock; `wait=False` raises ImportBusy instead of queueing behind another importer."""
    if is_postgres(engine):
        with engine.connect() as conn:
            if wait:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            elif not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar():
                conn.rollback()
                raise ImportBusy
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                conn.commit()
        return
    path = _lock_file(engine)
    if path is None:
        with _memory_guard:
            lock = _memory_locks.setdefault(str(engine.url), threading.Lock())
        if not lock.acquire(blocking=wait):
            raise ImportBusy
        try:
            yield
        finally:
            lock.release()
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise ImportBusy from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def import_running(engine: Engine) -> bool:
    """True while an importer holds the import lock (live syncs that write leaderboards wait for it)."""
    try:
        with import_lock(engine, wait=False):
            return False
    except ImportBusy:
        return True


def start_run(engine: Engine, kind: str, source: str) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(T_RUN).values(kind=kind, source=source[:ERROR_CHARS], state=RUNNING,
                                                     started_at=utcnow())).inserted_primary_key[0])


def finish_run(conn: Connection, run_id: int) -> None:
    """Mark the run done inside the caller's last transaction: from then on it is never undone."""
    conn.execute(update(T_RUN).where(T_RUN.c.id == run_id).values(state=DONE, finished_at=utcnow()))


def log_changes(conn: Connection, run_id: int, entries: Sequence[tuple[str, str, Sequence[str], list[Any]]]) -> None:
    """Write (table, op, columns, rows) undo entries in the caller's transaction, beside the changes."""
    if entries:
        conn.execute(
            insert(T_UNDO),
            [
                {"run_id": run_id, "table_name": table, "op": op, "columns": list(columns), "rows": _encode(rows)}
                for table, op, columns, rows in entries
            ],
        )


def drop_log(engine: Engine, run_id: int) -> None:
    """Forget a finished run and its undo log, a chunk of entries per transaction."""
    while True:
        with engine.begin() as conn:
            ids = conn.execute(select(T_UNDO.c.id).where(T_UNDO.c.run_id == run_id).limit(200)).scalars().all()
            if not ids:
                conn.execute(delete(T_RUN).where(T_RUN.c.id == run_id))
                return
            conn.execute(delete(T_UNDO).where(T_UNDO.c.id.in_(ids)))


def drop_finished(engine: Engine) -> None:
    """Forget runs that were done when a crash stopped their clean-up."""
    with engine.connect() as conn:
        done = conn.execute(select(T_RUN.c.id).where(T_RUN.c.state == DONE)).scalars().all()
    for run_id in done:
        drop_log(engine, run_id)


def undo_run(engine: Engine, run_id: int) -> int:
    """Undo every logged change of `run_id`, newest first; returns the rows it deleted or restored.

    Each entry is undone in its own transaction and dropped with it, so an undo cut off in
    turn simply continues next time. A row another writer came to depend on meanwhile (an
    event about a task the import created) is kept, and said so in the log.
    """
    touched = kept = 0
    while True:
        with engine.begin() as conn:
            entry = conn.execute(
                select(T_UNDO.c.id, T_UNDO.c.table_name, T_UNDO.c.op, T_UNDO.c.columns, T_UNDO.c.rows)
                .where(T_UNDO.c.run_id == run_id)
                .order_by(T_UNDO.c.id.desc())
                .limit(1)
            ).first()
            if entry is None:  # nothing of the run is left, not even its row
                conn.execute(delete(T_RUN).where(T_RUN.c.id == run_id))
                break
            uid, table_name, op, columns, rows = entry
            conn.execute(delete(T_UNDO).where(T_UNDO.c.id == uid))
            table = SQLModel.metadata.tables[table_name]
            rows = _decode(rows)
            if op == "insert":
                done, left = _delete_keys(conn, table, list(columns), rows)
                touched, kept = touched + done, kept + left
            else:
                _restore(conn, table, list(columns), rows)
                touched += len(rows)
    if kept:
        log.warning("import run %s undone except %d rows newer data refers to", run_id, kept)
    return touched


def recover(engine: Engine) -> list[str]:
    """Undo the runs a crash left `running`; the caller holds the import lock (so none is live)."""
    with engine.connect() as conn:
        runs = conn.execute(select(T_RUN.c.id, T_RUN.c.kind, T_RUN.c.source).where(T_RUN.c.state == RUNNING)).all()
    drop_finished(engine)
    undone = []
    for run_id, kind, source in runs:
        rows = undo_run(engine, run_id)
        message = f"an interrupted {kind} import of {source} was undone ({rows} rows)"
        log.warning("%s", message)
        undone.append(message)
    return undone


def recover_if_idle(engine: Engine) -> list[str]:
    """`recover` when no importer is live (at `sotabot run` start); nothing when one is."""
    try:
        with import_lock(engine, wait=False):
            return recover(engine)
    except ImportBusy:
        return []


def running_imports(engine: Engine) -> list[dict[str, Any]]:
    """The live import runs (`sotabot status`): kind, file, start and chunks committed so far."""
    if not import_running(engine):
        return []
    chunks = func.count(T_UNDO.c.id)
    query = (
        select(T_RUN.c.kind, T_RUN.c.source, T_RUN.c.started_at, chunks)
        .select_from(T_RUN.outerjoin(T_UNDO, T_UNDO.c.run_id == T_RUN.c.id))
        .where(T_RUN.c.state == RUNNING)
        .group_by(T_RUN.c.id, T_RUN.c.kind, T_RUN.c.source, T_RUN.c.started_at)
        .order_by(T_RUN.c.id)
    )
    with engine.connect() as conn:
        return [
            {"kind": kind, "source": source, "started_at": as_utc(started).isoformat(), "writes_logged": n}
            for kind, source, started, n in conn.execute(query)
        ]


def _key_clause(table: Table, columns: list[str], keys: list[Any]) -> Any:
    if len(columns) == 1:
        return table.c[columns[0]].in_([key[0] for key in keys])
    return tuple_(*(table.c[c] for c in columns)).in_([tuple(key) for key in keys])


def _delete_keys(conn: Connection, table: Table, columns: list[str], keys: list[Any]) -> tuple[int, int]:
    """Delete the rows an insert added that nothing refers to; (deleted, kept).

    Undo runs newest first, so the run's own children are gone before their parents; a row
    still referred to then is referred to by another writer's row (an alert's event, a link
    the GitHub poll added), and deleting it would break or, through ON DELETE CASCADE, take
    that row with it. Rows of one batch that refer to each other go in successive passes.
    """
    unreferenced = [
        ~exists().where(fk.parent == fk.column)
        for child in SQLModel.metadata.tables.values()
        for fk in child.foreign_keys
        if fk.column.table is table
    ]
    deleted = kept = 0
    for start in range(0, len(keys), UNDO_CHUNK):
        match = _key_clause(table, columns, keys[start : start + UNDO_CHUNK])
        while n := conn.execute(delete(table).where(match, *unreferenced)).rowcount:
            deleted += n
        kept += conn.execute(select(func.count()).select_from(table).where(match)).scalar_one()
    return deleted, kept


def _restore(conn: Connection, table: Table, columns: list[str], rows: list[Any]) -> None:
    """Put back the values an update overwrote: `columns` are the set columns then the key column."""
    *sets, key = columns
    statement = (
        update(table)
        .where(table.c[key] == bindparam("_key"))
        .values({c: bindparam(f"_v_{c}") for c in sets})
    )
    for start in range(0, len(rows), UNDO_CHUNK):
        part = rows[start : start + UNDO_CHUNK]
        conn.execute(statement, [{"_key": row[-1], **{f"_v_{c}": v for c, v in zip(sets, row, strict=False)}}
                                 for row in part])


def _encode(value: Any) -> Any:
    """JSON for the undo log: dates and datetimes tagged, so they come back as what they were."""
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"$map": {k: _encode(v) for k, v in value.items()}}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        return {k: _decode(v) for k, v in value.get("$map", {}).items()}
    return value
