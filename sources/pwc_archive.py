"""Import the Papers with Code archive dumps: evaluation tables, paper<->code links, papers.

The dumps are big (576k papers), so each file is streamed with ijson from a plain or gzipped
file (gzip is told by its magic bytes; an http(s) URL is first downloaded to a temporary
file); big links/papers files are parsed in a second process while this one writes. Rows
are written in chunks of executemany against in-memory id maps (ids taken up front,
statements prepared once, SQLAlchemy's own type processors applied), never row by row
through the ORM. Each file is one transaction taken under a writer lock: a truncated file, a
non-JSON file or a bad row rolls the whole file back, so nothing already stored is lost or
half-written. Rows are compared with what is stored before anything is written, so importing
the same file twice changes nothing, and rows written by another source (the live API,
claims) are never overwritten by the archive.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import sha1
from pathlib import Path
from typing import IO, Any

import httpx
import ijson
from sqlalchemy import JSON, Boolean, Date, DateTime, Table, func, select, text
from sqlalchemy.dialects.sqlite import dialect as _sqlite_dialect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from sources.repo_urls import normalise_repo_url
from sources.taxonomy import CURATED_ALIASES, metric_direction, normalise, slugify
from sources.values import arxiv_id_from_url, find_arxiv_url, normalise_arxiv_id, parse_value, raw_text
from storage.models import (
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

SOURCE = "pwc_archive"
CHUNK_ROWS = 5000  # rows (results, links, papers) written per round of executemany
IN_CHUNK = 500  # ids per `IN (...)` lookup
PAPER_CACHE_MAX = 200_000  # resolved paper ids kept between chunks (bounded memory)
READ_BUFFER = 1 << 18
PARALLEL_MIN_BYTES = 8 << 20  # links/papers files at least this big are parsed in a second process
SQLITE_CACHE_KB = 65536  # page cache while importing: index pages stay in memory (bounded: 64 MB)
ADVISORY_LOCK_KEY = 0x50574341  # "PWCA": one archive writer at a time on PostgreSQL

# Who may replace whose alias: a task's own name beats the curated list beats dump synonyms;
# aliases from any other source (manual, ...) are never replaced by an import.
ALIAS_PRIORITY = {"dump": 1, "curated": 2, "name": 3, "slug": 3}

ProgressCallback = Callable[[int, int | None, str], None]
"""progress(done_bytes, total_bytes_or_None, stage) with stage "download" or "import"."""


class ArchiveError(Exception):
    """A file the importer cannot use; the message names the file and the problem.

    `rolled_back` is True when the error came after writing had begun (and was undone).
    """

    rolled_back = False


@dataclass
class ImportReport:
    """What one file import did: per kind of row, how many were new, updated or already there."""

    kind: str
    source: str
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    rows: int = 0  # records read from the file (result rows, links, papers)
    duplicates: int = 0  # records that repeat an earlier record of the same file
    skipped: int = 0  # records with nothing usable (no paper key, not a repository URL, ...)
    bytes_read: int = 0
    elapsed: float = 0.0
    reader_peak_mb: float = 0.0  # peak memory of the second-process reader, when one was used

    def add(self, what: str, *, inserted: int = 0, updated: int = 0, seen: int = 0) -> None:
        if inserted:
            self.inserted[what] = self.inserted.get(what, 0) + inserted
        if updated:
            self.updated[what] = self.updated.get(what, 0) + updated
        if seen:
            self.seen[what] = self.seen.get(what, 0) + seen

    @property
    def unchanged(self) -> dict[str, int]:
        out = {}
        for what, seen in self.seen.items():
            rest = seen - self.inserted.get(what, 0) - self.updated.get(what, 0)
            if rest > 0:
                out[what] = rest
        return out

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    def summary(self) -> str:
        def fmt(counts: dict[str, int]) -> str:
            return ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "nothing"

        parts = [f"{self.source}: {self.rows} records in {self.elapsed:.1f}s", f"new {fmt(self.inserted)}"]
        if self.updated:
            parts.append(f"updated {fmt(self.updated)}")
        if self.unchanged:
            parts.append(f"unchanged {fmt(self.unchanged)}")
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate records")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return "; ".join(parts)


# ----------------------------------------------------------------------------------------------
# Reading: local file or URL, plain or gzip, streamed records, errors as one line.


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from the file (compressed ones for .gz) for the progress bar."""

    def __init__(self, raw: IO[bytes], total: int | None, progress: ProgressCallback | None) -> None:
        self.raw = raw
        self.total = total
        self.count = 0
        self.progress = progress
        self._next_report = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        self.count += n or 0
        if self.progress and (self.count >= self._next_report or not n):
            self.progress(self.count, self.total, "import")
            self._next_report = self.count + (1 << 20)
        return n or 0


def _is_url(source: str | os.PathLike[str]) -> bool:
    return str(source).startswith(("http://", "https://"))


def _download(url: str, progress: ProgressCallback | None, timeout: float) -> Path:
    """Stream `url` to a temporary file (the dumps are too big for memory)."""
    fd, name = tempfile.mkstemp(prefix="sotabot-pwc-", suffix=".download")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, httpx.stream(
            "GET", url, follow_redirects=True, timeout=timeout, headers={"Accept-Encoding": "identity"}
        ) as response:
            if response.status_code != 200:
                raise ArchiveError(f"{url}: download failed with HTTP {response.status_code}")
            declared = response.headers.get("Content-Length")
            total = int(declared) if declared and declared.isdigit() else None
            done = 0
            for chunk in response.iter_raw(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total, "download")
            if total is not None and done < total:
                raise ArchiveError(f"{url}: download truncated ({done} of {total} bytes)")
    except httpx.HTTPError as exc:
        path.unlink(missing_ok=True)
        raise ArchiveError(f"{url}: download failed ({type(exc).__name__}: {exc})") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@contextmanager
def local_copy(
    source: str | os.PathLike[str], progress: ProgressCallback | None = None, *, timeout: float = 60.0
) -> Iterator[Path]:
    """The dump as a local file: the path itself, or an http(s) URL downloaded to a temp file."""
    label = str(source)
    if _is_url(label):
        temp = _download(label, progress, timeout)
        try:
            yield temp
        finally:
            temp.unlink(missing_ok=True)
        return
    path = Path(source).expanduser()
    if not path.exists():
        raise ArchiveError(f"{label}: no such file")
    if path.is_dir():
        raise ArchiveError(f"{label}: is a directory, not a dump file")
    yield path


@contextmanager
def open_stream(
    path: Path, label: str, progress: ProgressCallback | None = None
) -> Iterator[tuple[IO[bytes], _CountingReader]]:
    """The decompressed bytes of a local dump (gzip told by its magic bytes) and its byte counter."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    except OSError as exc:
        raise ArchiveError(f"{label}: cannot read ({exc.strerror or exc})") from None
    try:
        counter = _CountingReader(raw, os.fstat(raw.fileno()).st_size, progress)
        buffered = io.BufferedReader(counter, READ_BUFFER)
        stream: IO[bytes] = buffered
        if buffered.peek(2)[:2] == b"\x1f\x8b":
            stream = gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[assignment]
        yield stream, counter
    finally:
        raw.close()


def _records(stream: IO[bytes], label: str, what: str) -> Iterator[Any]:
    """The items of the top-level JSON array, one at a time; bad data raises ArchiveError."""
    try:
        head = stream.peek(256)[:256].lstrip(b"\xef\xbb\xbf \t\r\n")  # type: ignore[attr-defined]
        if not head:
            raise ArchiveError(f"{label}: empty file, expected a JSON array of {what}")
        if head[:1] != b"[":
            kind = "a JSON object" if head[:1] == b"{" else "not JSON"
            raise ArchiveError(f"{label}: {kind}, expected a JSON array of {what}")
        yield from ijson.items(stream, "item", buf_size=READ_BUFFER)
    except ijson.JSONError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArchiveError(f"{label}: truncated or invalid JSON ({detail})") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ArchiveError(f"{label}: truncated or corrupt gzip data ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ArchiveError(f"{label}: not UTF-8 text ({exc.reason})") from None


Batch = tuple[list[Any], int, int]
"""(normalised items, records read, records skipped) for one chunk of a dump."""


def _local_batches(
    path: Path, label: str, what: str, normalise: Callable[[Any], Any], progress: ProgressCallback | None
) -> Iterator[Batch]:
    """Read and normalise records in this process, CHUNK_ROWS at a time."""
    with open_stream(path, label, progress) as (stream, _):
        items: list[Any] = []
        rows = skipped = 0
        for record in _records(stream, label, what):
            rows += 1
            item = normalise(record)
            if item is None:
                skipped += 1
                continue
            items.append(item)
            if len(items) >= CHUNK_ROWS:
                yield items, rows, skipped
                items, rows, skipped = [], 0, 0
        yield items, rows, skipped


def _peak_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss would include the parent's image it was forked from)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _reader_main(argv: Sequence[str]) -> int:
    """Child process (`python -m sources.pwc_archive --read PATH LABEL WHAT KIND DIALECT`): parse a
    dump and write pickled batches of normalised records to stdout; the pipe's buffer bounds memory."""
    path, label, what, kind, dialect = argv
    out = sys.stdout.buffer
    normalise = _NORMALISERS[kind]
    if kind == "papers" and dialect == "sqlite":
        normalise = _sqlite_ready_paper
    try:
        with open_stream(Path(path), label) as (stream, counter):
            items: list[Any] = []
            rows = skipped = 0
            for record in _records(stream, label, what):
                rows += 1
                item = normalise(record)
                if item is None:
                    skipped += 1
                    continue
                items.append(item)
                if len(items) >= CHUNK_ROWS:
                    pickle.dump(("batch", items, rows, skipped, counter.count, counter.total), out, protocol=5)
                    items, rows, skipped = [], 0, 0
            pickle.dump(("batch", items, rows, skipped, counter.count, counter.total), out, protocol=5)
        pickle.dump(("done", _peak_mb()), out)
    except ArchiveError as exc:
        pickle.dump(("error", str(exc)), out)
    except BrokenPipeError:  # the importer stopped reading (it failed or was interrupted)
        return 1
    except Exception as exc:  # anything else still reaches the user as one line
        pickle.dump(("error", f"{label}: {type(exc).__name__}: {exc}"), out)
    out.flush()
    return 0


def _parallel_batches(
    path: Path, label: str, what: str, kind: str, progress: ProgressCallback | None, dialect: str,
    report: ImportReport,
) -> Iterator[Batch]:
    """Parse in a child process while this one writes: the two cores of a small server both work.

    A plain `python -m` subprocess rather than multiprocessing, so nothing depends on how the
    calling program's main module is written.
    """
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "sources.pwc_archive", "--read", str(path), label, what, kind, dialect],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            stderr=errors,
            env=env,
        )
        assert child.stdout is not None
        try:
            while True:
                try:
                    message = pickle.load(child.stdout)
                except (EOFError, pickle.UnpicklingError):
                    child.wait()
                    errors.seek(0)
                    lines = errors.read().decode(errors="replace").strip().splitlines()
                    why = f": {lines[-1]}" if lines else f" (exit code {child.returncode})"
                    raise ArchiveError(f"{label}: the reader process stopped unexpectedly{why}") from None
                if message[0] == "done":
                    report.reader_peak_mb = message[1]
                    return
                if message[0] == "error":
                    raise ArchiveError(message[1])
                _, items, rows, skipped, done, total = message
                if progress:
                    progress(done, total, "import")
                yield items, rows, skipped
        finally:
            child.stdout.close()
            if child.poll() is None:
                child.terminate()
            child.wait()


def _batches(
    db: _Db,
    path: Path,
    label: str,
    what: str,
    kind: str,
    progress: ProgressCallback | None,
    parallel: bool | None,
    report: ImportReport,
) -> Iterator[Batch]:
    """Batches of normalised records; big files are parsed in a second process."""
    if parallel is None:
        parallel = bool(sys.executable) and path.stat().st_size >= PARALLEL_MIN_BYTES
    if parallel:
        return _parallel_batches(path, label, what, kind, progress, db.dialect.name, report)
    return _local_batches(path, label, what, _NORMALISERS[kind], progress)


# ----------------------------------------------------------------------------------------------
# Small cleaners: every string is stripped and clipped to its column's width.

def _clean(value: Any, limit: int = 300) -> str:
    """One line of text: whitespace collapsed, clipped to `limit` characters."""
    if not isinstance(value, str):
        return ""
    return " ".join(value.split())[:limit]


def _prose(value: Any, limit: int) -> str:
    """Long text (abstracts): line breaks become spaces; cheaper than collapsing every run."""
    if not isinstance(value, str):
        return ""
    for blank in "\n\r\t":
        if blank in value:
            value = value.replace(blank, " ")
    return value.strip()[:limit]


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _url(value: Any, limit: int = 1000) -> str:
    if not isinstance(value, str):
        return ""
    return value.strip()[:limit]


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "yes", "1"}
    return bool(value) if isinstance(value, bool | int | Decimal) else False


def task_slug(name: str) -> str:
    """The slug of a task name; names with no ASCII letters get a stable hash slug."""
    slug = slugify(name)[:300]
    return slug or "task-" + sha1(name.encode()).hexdigest()[:10]


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _now() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------------------------
# Writing: one connection, one transaction, driver-level executemany.


class _Db:
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
        self.postgres = conn.dialect.name == "postgresql"
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


# ----------------------------------------------------------------------------------------------
# Papers: shared by the three importers. Rows are found by arXiv id (or URL when there is no
# arXiv id), created minimal when missing, and only ever filled in, never overwritten.

PAPER_COLS = ("id", "arxiv_id", "url", "version", "title", "abstract", "authors", "categories", "published",
              "first_seen_at")


def _paper_row(
    pid: int,
    arxiv_id: str | None,
    url: str | None,
    title: str,
    now: datetime,
    abstract: str = "",
    authors: list[str] | None = None,
    published: datetime | None = None,
) -> tuple[Any, ...]:
    return (pid, arxiv_id, url, 1, title, abstract, authors or [], [], published, now)


class _Papers:
    """Resolves paper keys to ids for a chunk, creating or filling papers as needed."""

    def __init__(self, db: _Db, report: ImportReport) -> None:
        self.db = db
        self.report = report
        self.by_arxiv: dict[str, int] = {}
        self.by_url: dict[str, int] = {}

    def resolve(self, arxiv_titles: dict[str, str], url_titles: dict[str, str]) -> None:
        """Make sure every key has a paper row; ids land in `by_arxiv` / `by_url`."""
        for column, cache, wanted in (
            ("arxiv_id", self.by_arxiv, arxiv_titles),
            ("url", self.by_url, url_titles),
        ):
            if len(cache) > PAPER_CACHE_MAX:
                cache.clear()
            missing = [key for key in wanted if key not in cache]
            if not missing:
                continue
            fills = []
            for key, pid, title in self.db.lookup(T_PAPER, column, missing, "id", "title"):
                cache[key] = pid
                if not title and wanted[key]:
                    fills.append((wanted[key], pid))
            self.db.update(T_PAPER, ("title",), fills)
            now = _now()
            new = [key for key in missing if key not in cache]
            rows = []
            for key, pid in zip(new, self.db.take_ids(T_PAPER, len(new)), strict=True):
                cache[key] = pid
                arxiv_id, url = (key, None) if column == "arxiv_id" else (None, key)
                rows.append(_paper_row(pid, arxiv_id, url, wanted[key], now))
            self.db.insert(T_PAPER, PAPER_COLS, rows)
            self.report.add("papers", inserted=len(new), updated=len(fills), seen=len(missing))


# ----------------------------------------------------------------------------------------------
# Evaluation tables.


@dataclass(slots=True)
class _TaskSpec:
    name: str
    parent: str | None
    area: str | None
    description: str | None
    synonyms: set[str]


@dataclass(slots=True)
class _Row:
    bench: tuple[str, tuple[str, ...]]  # (task slug, dataset path)
    model: str
    paper_key: str
    arxiv_id: str | None
    paper_url: str | None
    paper_title: str | None
    code_url: str | None
    result_date: date | None
    extra_data: bool
    values: list[tuple[str, str, float | None]]  # (metric name, raw, value)


_RESULT_FIELDS = ("paper_id", "paper_title", "paper_url", "code_url", "result_date", "extra_data")


class _TablesImport:
    """Collects a chunk of the evaluation tables by name, then writes it by id."""

    def __init__(self, db: _Db, label: str, overrides: dict[str, str], report: ImportReport) -> None:
        self.db = db
        self.label = label
        self.overrides = overrides
        self.report = report
        self.papers = _Papers(db, report)
        self._load_maps()
        self.touched_results: set[int] = set()
        self.touched_benchmarks: set[int] = set()
        self.seen_tasks: set[str] = set()
        self.seen_paths: set[tuple[str, ...]] = set()
        self.seen_benchmarks: set[tuple[str, tuple[str, ...]]] = set()
        self.seen_metrics: set[str] = set()
        self._reset_chunk()

    def _load_maps(self) -> None:
        c = self.db.conn
        self.task_ids: dict[str, int] = {}
        self.tasks_with_area: set[str] = set()
        for slug, tid, area in c.execute(select(T_TASK.c.slug, T_TASK.c.id, T_TASK.c.area)):
            self.task_ids[slug] = tid
            if area:
                self.tasks_with_area.add(slug)
        self.aliases: dict[str, tuple[int, str]] = {
            alias: (tid, source)
            for alias, tid, source in c.execute(select(T_ALIAS.c.alias, T_ALIAS.c.task_id, T_ALIAS.c.source))
        }
        self.dataset_ids: dict[tuple[str, int | None], int] = {
            (name, parent): did
            for did, name, parent in c.execute(select(T_DATASET.c.id, T_DATASET.c.name, T_DATASET.c.parent_id))
        }
        self.metrics: dict[str, tuple[int, str]] = {
            name: (mid, direction)
            for mid, name, direction in c.execute(select(T_METRIC.c.id, T_METRIC.c.name, T_METRIC.c.direction))
        }
        self.bench_ids: dict[tuple[int, int], int] = {}
        self.bench_primary: dict[int, int | None] = {}
        self.bench_state: dict[int, tuple[int, date | None]] = {}
        rows = c.execute(
            select(
                T_BENCH.c.id, T_BENCH.c.task_id, T_BENCH.c.dataset_id, T_BENCH.c.primary_metric_id,
                T_BENCH.c.result_count, T_BENCH.c.last_result_date,
            )
        )
        for bid, tid, did, primary, count, last in rows:
            self.bench_ids[(tid, did)] = bid
            self.bench_primary[bid] = primary
            self.bench_state[bid] = (count, _as_date(last))
        self.empty_benchmarks: set[int] = set()  # created by this import, no results yet: nothing to look up
        self.bench_metrics: dict[int, dict[int, int]] = {}
        for bid, mid, pos in c.execute(select(T_BM.c.benchmark_id, T_BM.c.metric_id, T_BM.c.position)):
            self.bench_metrics.setdefault(bid, {})[mid] = pos
        self.path_ids: dict[tuple[str, ...], int] = {}

    def _reset_chunk(self) -> None:
        self.c_tasks: dict[str, _TaskSpec] = {}
        self.c_datasets: dict[tuple[str, ...], str | None] = {}
        self.c_bench: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        self.c_rows: list[_Row] = []

    # -- reading --------------------------------------------------------------------------

    def _fail(self, where: str, problem: str) -> ArchiveError:
        return ArchiveError(f"{self.label}: {where}: {problem}")

    def _list(self, node: dict[str, Any], key: str, where: str) -> list[Any]:
        value = node.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(where, f"'{key}' is not a list")
        return value

    def add_task(self, node: Any, parent: str | None, where: str) -> None:
        if not isinstance(node, dict):
            raise self._fail(where, "task entry is not a JSON object")
        name = _clean(node.get("task"))
        if not name:
            raise self._fail(where, "task has no name")
        where = f"task {name!r}"
        slug = task_slug(name)
        spec = self.c_tasks.get(slug)
        if spec is None:
            categories = [c for c in self._list(node, "categories", where) if isinstance(c, str) and c.strip()]
            description = _text(node.get("description")) or None
            spec = _TaskSpec(name, parent, _clean(categories[0], 200) if categories else None, description, set())
            self.c_tasks[slug] = spec
        for synonym in self._list(node, "synonyms", where):
            alias = normalise(synonym)[:300] if isinstance(synonym, str) else ""
            if alias:
                spec.synonyms.add(alias)
        self.seen_tasks.add(slug)
        for index, dataset in enumerate(self._list(node, "datasets", where)):
            self._add_dataset(slug, dataset, (), f"{where}, dataset #{index}")
        for index, sub in enumerate(self._list(node, "subtasks", where)):
            self.add_task(sub, slug, f"{where}, subtask #{index}")

    def _add_dataset(self, slug: str, node: Any, parent_path: tuple[str, ...], where: str) -> None:
        if not isinstance(node, dict):
            raise self._fail(where, "dataset entry is not a JSON object")
        name = _clean(node.get("dataset")) or _clean(node.get("subdataset"))
        if not name:
            raise self._fail(where, "dataset has no name")
        where = where.rsplit(", ", 1)[0] + f", dataset {name!r}"
        path = (*parent_path, name)
        self.c_datasets.setdefault(path, _text(node.get("description")) or None)
        self.seen_paths.add(path)
        sota = node.get("sota")
        if isinstance(sota, dict):
            bench = (slug, path)
            self.seen_benchmarks.add(bench)
            names = self.c_bench.setdefault(bench, [])
            for metric in self._list(sota, "metrics", where):
                metric_name = _clean(raw_text(metric) if isinstance(metric, int | float | Decimal) else metric)
                if metric_name and metric_name not in names:
                    names.append(metric_name)
            for index, row in enumerate(self._list(sota, "rows", where)):
                self._add_row(bench, row, index, f"{where}, row {index}")
        elif sota is not None:
            raise self._fail(where, "'sota' is not a JSON object")
        for index, sub in enumerate(self._list(node, "subdatasets", where)):
            self._add_dataset(slug, sub, path, f"{where}, subdataset #{index}")

    def _add_row(self, bench: tuple[str, tuple[str, ...]], row: Any, index: int, where: str) -> None:
        if not isinstance(row, dict):
            raise self._fail(where, "row is not a JSON object")
        model_name = row.get("model_name")
        if not isinstance(model_name, str):
            raise self._fail(where, "row has no model name ('model_name' is missing)")
        self.report.rows += 1
        title = _clean(row.get("paper_title"), 2000) or None
        # Blank names are real (anonymous leaderboard entries, rows named by their paper).
        model = _clean(model_name, 500) or (title or "")[:500] or f"(unnamed row {index})"
        paper_url = _url(row.get("paper_url")) or None
        arxiv_id = arxiv_id_from_url(paper_url)
        if arxiv_id is None and (embedded := find_arxiv_url(paper_url)):
            paper_url, arxiv_id = embedded  # "(Singapore Management University) https://arxiv.org/abs/..."
        metrics = row.get("metrics")
        if metrics is None:
            metrics = {}
        if not isinstance(metrics, dict):
            raise self._fail(where, "'metrics' is not a JSON object")
        values: list[tuple[str, str, float | None]] = []
        names = self.c_bench.setdefault(bench, [])
        for key, cell in metrics.items():
            metric_name = _clean(key)
            if not metric_name:
                continue
            if metric_name not in names:
                names.append(metric_name)
            values.append((metric_name, raw_text(cell)[:500], parse_value(cell)))
        code_url = None
        for link in row.get("code_links") or []:
            if isinstance(link, dict) and _url(link.get("url")):
                code_url = _url(link.get("url"))
                break
        self.c_rows.append(
            _Row(
                bench=bench,
                model=model,
                paper_key=(arxiv_id or paper_url or "")[:1000],
                arxiv_id=arxiv_id,
                paper_url=paper_url,
                paper_title=title,
                code_url=code_url,
                result_date=_date(row.get("paper_date")),
                extra_data=_truthy(row.get("uses_additional_data")),
                values=values,
            )
        )
        if len(self.c_rows) >= CHUNK_ROWS:
            self.flush()

    # -- writing --------------------------------------------------------------------------

    def flush(self) -> None:
        self._flush_tasks()
        self._flush_datasets()
        self._flush_metrics()
        self._flush_benchmarks()
        self._flush_results()
        self._reset_chunk()

    def _flush_tasks(self) -> None:
        db = self.db
        new = [(slug, spec) for slug, spec in self.c_tasks.items() if slug not in self.task_ids]
        rows = []
        for (slug, spec), tid in zip(new, db.take_ids(T_TASK, len(new)), strict=True):
            self.task_ids[slug] = tid
            rows.append((tid, slug, spec.name, spec.area, spec.description))
        db.insert(T_TASK, ("id", "slug", "name", "area", "description"), rows)
        parents = [
            (self.task_ids[spec.parent], self.task_ids[slug])
            for slug, spec in new
            if spec.parent and spec.parent != slug and spec.parent in self.task_ids
        ]
        db.update(T_TASK, ("parent_id",), parents)
        new_slugs = {slug for slug, _ in new}
        areas = [
            (spec.area, self.task_ids[slug])
            for slug, spec in self.c_tasks.items()
            if spec.area and slug not in new_slugs and slug not in self.tasks_with_area
        ]
        db.update(T_TASK, ("area",), areas)  # a later file may know the area an earlier one left out
        self.tasks_with_area.update(slug for slug, spec in self.c_tasks.items() if spec.area)
        self.report.add("tasks", inserted=len(new), updated=len(areas))
        self._flush_aliases()

    def _flush_aliases(self) -> None:
        wanted: dict[str, tuple[int, str]] = {}
        for slug, spec in self.c_tasks.items():
            tid = self.task_ids[slug]
            for alias in sorted(spec.synonyms):
                wanted.setdefault(alias, (tid, "dump"))
            name_alias = normalise(spec.name)[:300]
            if name_alias:
                wanted[name_alias] = (tid, "name")
        self._write_aliases(wanted)

    def _write_aliases(self, wanted: dict[str, tuple[int, str]]) -> None:
        inserts, updates = [], []
        for alias, (tid, source) in wanted.items():
            current = self.aliases.get(alias)
            if current is None:
                inserts.append((alias, tid, source))
            elif current != (tid, source) and ALIAS_PRIORITY.get(current[1], 99) < ALIAS_PRIORITY[source]:
                updates.append((tid, source, alias))
            else:
                continue
            self.aliases[alias] = (tid, source)
        self.db.insert(T_ALIAS, ("alias", "task_id", "source"), inserts)
        self.db.update(T_ALIAS, ("task_id", "source"), updates, where=("alias",))
        self.report.add("aliases", inserted=len(inserts), updated=len(updates))

    def _flush_datasets(self) -> None:
        by_depth: dict[int, list[tuple[str, ...]]] = {}
        for path in self.c_datasets:
            if path not in self.path_ids:
                by_depth.setdefault(len(path), []).append(path)
        for depth in sorted(by_depth):
            new = []
            for path in by_depth[depth]:
                parent = self.path_ids[path[:-1]] if depth > 1 else None
                did = self.dataset_ids.get((path[-1], parent))
                if did is None:
                    new.append((path, parent))
                else:
                    self.path_ids[path] = did
            rows = []
            for (path, parent), did in zip(new, self.db.take_ids(T_DATASET, len(new)), strict=True):
                self.path_ids[path] = did
                self.dataset_ids[(path[-1], parent)] = did
                rows.append((did, path[-1], parent, self.c_datasets[path]))
            self.db.insert(T_DATASET, ("id", "name", "parent_id", "description"), rows)
            self.report.add("datasets", inserted=len(new))

    def _flush_metrics(self) -> None:
        names: dict[str, None] = {}
        for metric_names in self.c_bench.values():
            names.update(dict.fromkeys(metric_names))
        self.seen_metrics.update(names)
        new, changes = [], []
        for name in names:
            direction = metric_direction(name, self.overrides)
            current = self.metrics.get(name)
            if current is None:
                new.append((name, direction))
            elif current[1] != direction and (current[1] == "unknown" or self._overridden(name)):
                changes.append((direction, current[0]))
                self.metrics[name] = (current[0], direction)
        rows = []
        for (name, direction), mid in zip(new, self.db.take_ids(T_METRIC, len(new)), strict=True):
            self.metrics[name] = (mid, direction)
            rows.append((mid, name, direction))
        self.db.insert(T_METRIC, ("id", "name", "direction"), rows)
        self.db.update(T_METRIC, ("direction",), changes)
        self.report.add("metrics", inserted=len(new), updated=len(changes))

    def _overridden(self, name: str) -> bool:
        return bool(self.overrides) and metric_direction(name, self.overrides) != metric_direction(name)

    def _flush_benchmarks(self) -> None:
        db = self.db
        new, primaries = [], []
        for (slug, path), names in self.c_bench.items():
            key = (self.task_ids[slug], self.path_ids[path])
            first = self.metrics[names[0]][0] if names else None
            bid = self.bench_ids.get(key)
            if bid is None:
                new.append((key, first))
            elif self.bench_primary.get(bid) is None and first is not None:
                primaries.append((first, bid))
                self.bench_primary[bid] = first
        rows = []
        for (key, first), bid in zip(new, db.take_ids(T_BENCH, len(new)), strict=True):
            self.bench_ids[key] = bid
            self.bench_primary[bid] = first
            self.bench_state[bid] = (0, None)
            self.empty_benchmarks.add(bid)
            rows.append((bid, key[0], key[1], first, 0))
        db.insert(T_BENCH, ("id", "task_id", "dataset_id", "primary_metric_id", "result_count"), rows)
        db.update(T_BENCH, ("primary_metric_id",), primaries)
        self.report.add("benchmarks", inserted=len(new), updated=len(primaries))
        links = []
        for (slug, path), names in self.c_bench.items():
            bid = self.bench_ids[(self.task_ids[slug], self.path_ids[path])]
            self.touched_benchmarks.add(bid)
            positions = self.bench_metrics.setdefault(bid, {})
            for name in names:
                mid = self.metrics[name][0]
                if mid not in positions:
                    positions[mid] = max(positions.values(), default=-1) + 1
                    links.append((bid, mid, positions[mid]))
        db.insert(T_BM, ("benchmark_id", "metric_id", "position"), links)

    def _flush_results(self) -> None:
        if not self.c_rows:
            return
        db = self.db
        arxiv_titles: dict[str, str] = {}
        url_titles: dict[str, str] = {}
        for row in self.c_rows:
            if row.arxiv_id:
                if not arxiv_titles.get(row.arxiv_id):
                    arxiv_titles[row.arxiv_id] = row.paper_title or ""
            elif row.paper_url and not url_titles.get(row.paper_url):
                url_titles[row.paper_url] = row.paper_title or ""
        self.papers.resolve(arxiv_titles, url_titles)

        bench_of = {
            bench: self.bench_ids[(self.task_ids[bench[0]], self.path_ids[bench[1]])]
            for bench in {row.bench for row in self.c_rows}
        }
        existing: dict[tuple[int, str, str], tuple[Any, ...]] = {}
        stored = sorted(bid for bid in set(bench_of.values()) if bid not in self.empty_benchmarks)
        self.empty_benchmarks.difference_update(bench_of.values())
        for rec in db.lookup(T_RESULT, "benchmark_id", stored, "model", "paper_key", "id", "source", *_RESULT_FIELDS):
            existing[(rec[0], rec[1], rec[2])] = tuple(rec[3:])

        now = _now()
        new: list[tuple[tuple[int, str, str], tuple[Any, ...], list[tuple[str, str, float | None]]]] = []
        updates: list[tuple[Any, ...]] = []
        compare_values: dict[int, list[tuple[str, str, float | None]]] = {}
        keys_in_chunk: set[tuple[int, str, str]] = set()
        seen = 0
        for row in self.c_rows:
            bid = bench_of[row.bench]
            key = (bid, row.model, row.paper_key)
            if key in keys_in_chunk:
                self.report.duplicates += 1
                continue
            keys_in_chunk.add(key)
            if row.arxiv_id:
                paper_id = self.papers.by_arxiv.get(row.arxiv_id)
            else:
                paper_id = self.papers.by_url.get(row.paper_url) if row.paper_url else None
            fields = (paper_id, row.paper_title, row.paper_url, row.code_url, row.result_date, row.extra_data)
            current = existing.get(key)
            if current is None:
                seen += 1
                new.append((key, fields, row.values))
                continue
            rid = current[0]
            if rid in self.touched_results:
                self.report.duplicates += 1
                continue
            self.touched_results.add(rid)
            seen += 1
            if current[1] != SOURCE:  # the live API or a claim wrote it: the archive stays out
                continue
            if _stored(current[2:]) != fields:
                updates.append((*fields, rid))
            compare_values[rid] = row.values
        self.report.add("results", seen=seen)

        rows, value_rows = [], []
        for (key, fields, values), rid in zip(new, db.take_ids(T_RESULT, len(new)), strict=True):
            rows.append((rid, *key, *fields, SOURCE, True, now))
            value_rows.extend(self._value_rows(rid, values))
            self.touched_results.add(rid)
        db.insert(T_RESULT, RESULT_COLS, rows)
        db.update(T_RESULT, _RESULT_FIELDS, updates)
        self.report.add("results", inserted=len(rows), updated=len(updates))
        value_updates = self._compare_values(compare_values, value_rows)
        db.insert(T_VALUE, VALUE_COLS, value_rows)
        db.update(T_VALUE, ("value", "raw"), value_updates)
        self.report.add("values", inserted=len(value_rows), updated=len(value_updates))

    def _value_rows(self, rid: int, values: Iterable[tuple[str, str, float | None]]) -> list[tuple[Any, ...]]:
        out, done = [], set()
        for name, raw, value in values:
            mid = self.metrics[name][0]
            if mid not in done:
                done.add(mid)
                out.append((rid, mid, value, raw))
        self.report.add("values", seen=len(out))
        return out

    def _compare_values(
        self, compare: dict[int, list[tuple[str, str, float | None]]], inserts: list[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        """Values of results already stored: missing ones join `inserts`, changed ones are returned."""
        if not compare:
            return []
        stored: dict[tuple[int, int], tuple[int, float | None, str]] = {}
        for rid, mid, vid, value, raw in self.db.lookup(T_VALUE, "result_id", sorted(compare), "metric_id", "id",
                                                        "value", "raw"):
            stored[(rid, mid)] = (vid, value, raw)
        updates = []
        for rid, values in compare.items():
            for row in self._value_rows(rid, values):
                current = stored.get((rid, row[1]))
                if current is None:
                    inserts.append(row)
                elif (current[1], current[2]) != (row[2], row[3]):
                    updates.append((row[2], row[3], current[0]))
        return updates

    def finish(self) -> None:
        self.flush()
        self._write_aliases(
            {alias: (self.task_ids[target], "curated") for alias, target in curated_alias_rows(self.task_ids)}
        )
        self._update_benchmark_counts()
        self.report.add("tasks", seen=len(self.seen_tasks))
        self.report.add("datasets", seen=len(self.seen_paths))
        self.report.add("benchmarks", seen=len(self.seen_benchmarks))
        self.report.add("metrics", seen=len(self.seen_metrics))

    def _update_benchmark_counts(self) -> None:
        """Keep Benchmark.result_count and last_result_date true for every benchmark touched."""
        changes = []
        for part in _chunks(sorted(self.touched_benchmarks)):
            counts: dict[int, tuple[int, date | None]] = {bid: (0, None) for bid in part}
            query = (
                select(T_RESULT.c.benchmark_id, func.count(), func.max(T_RESULT.c.result_date))
                .where(T_RESULT.c.benchmark_id.in_(part))
                .group_by(T_RESULT.c.benchmark_id)
            )
            for bid, count, last in self.db.conn.execute(query):
                counts[bid] = (count, _as_date(last))
            for bid, state in counts.items():
                if self.bench_state.get(bid) != state:
                    changes.append((state[0], state[1], bid))
        self.db.update(T_BENCH, ("result_count", "last_result_date"), changes)


RESULT_COLS = ("id", "benchmark_id", "model", "paper_key", *_RESULT_FIELDS, "source", "verified", "first_seen_at")
VALUE_COLS = ("result_id", "metric_id", "value", "raw")


def _as_date(value: Any) -> date | None:
    """SQLite hands max() of a date column back as text."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _stored(fields: Sequence[Any]) -> tuple[Any, ...]:
    """Stored result fields in the importer's types (booleans may come back as 0/1)."""
    paper_id, title, url, code, when, extra = fields
    return (paper_id, title, url, code, _as_date(when), bool(extra))


def curated_alias_rows(task_ids: dict[str, int]) -> list[tuple[str, str]]:
    """(normalised alias, target slug) for every curated alias whose target task exists."""
    out = []
    for alias, target in CURATED_ALIASES.items():
        norm = normalise(alias)[:300]
        if norm and target in task_ids:
            out.append((norm, target))
    return out


def _overrides(config: Any) -> dict[str, str]:
    metrics = getattr(config, "metrics", None) if config is not None else None
    return dict(metrics or {})


def _run(
    kind: str,
    engine: Engine,
    source: str | os.PathLike[str],
    progress: ProgressCallback | None,
    body: Callable[[_Db, Path, str, ImportReport], None],
) -> ImportReport:
    """Fetch, lock, stream and commit one file; any error rolls the whole file back."""
    started = time.perf_counter()
    label = str(source)
    report = ImportReport(kind=kind, source=label)
    with local_copy(source, progress) as path, engine.begin() as conn:
        db = _Db(conn)
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
    report.elapsed = time.perf_counter() - started
    log.debug("import %s", report.summary())
    return report


def import_tables(
    engine: Engine,
    source: str | os.PathLike[str],
    config: Any = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import an evaluation-tables.json(.gz): tasks, datasets, benchmarks, metrics, results."""
    overrides = _overrides(config)

    def body(db: _Db, path: Path, label: str, report: ImportReport) -> None:
        with open_stream(path, label, progress) as (stream, _):
            importer = _TablesImport(db, label, overrides, report)
            for index, task in enumerate(_records(stream, label, "tasks")):
                importer.add_task(task, None, f"task #{index}")
            importer.finish()

    return _run("pwc-tables", engine, source, progress, body)


# ----------------------------------------------------------------------------------------------
# Links between papers and code.

LINK_COLS = ("paper_id", "repo_id", "official", "found_by", "framework", "created_at")


def _flush_links(db: _Db, papers: _Papers, batch: list[tuple[Any, ...]], report: ImportReport) -> None:
    """batch: (arxiv_id, paper_url, title, repo_url, official, framework) tuples."""
    arxiv_titles: dict[str, str] = {}
    url_titles: dict[str, str] = {}
    for arxiv_id, paper_url, title, *_ in batch:
        if arxiv_id:
            if not arxiv_titles.get(arxiv_id):
                arxiv_titles[arxiv_id] = title
        elif not url_titles.get(paper_url):
            url_titles[paper_url] = title
    papers.resolve(arxiv_titles, url_titles)

    urls = sorted({link[3] for link in batch})
    repo_ids: dict[str, int] = {url: rid for url, rid in db.lookup(T_REPO, "url", urls, "id")}
    new_urls = [url for url in urls if url not in repo_ids]
    repo_rows = []
    for url, rid in zip(new_urls, db.take_ids(T_REPO, len(new_urls)), strict=True):
        repo_ids[url] = rid
        repo_rows.append((rid, url, False, False))
    db.insert(T_REPO, ("id", "url", "archived", "deleted"), repo_rows)
    report.add("repos", inserted=len(new_urls), seen=len(urls))

    wanted: dict[tuple[int, int], tuple[bool, str | None]] = {}
    for arxiv_id, paper_url, _, repo, official, framework in batch:
        pid = papers.by_arxiv[arxiv_id] if arxiv_id else papers.by_url[paper_url]
        pair = (pid, repo_ids[repo])
        if pair in wanted:
            report.duplicates += 1
            before = wanted[pair]
            wanted[pair] = (before[0] or official, before[1] or framework)
        else:
            wanted[pair] = (official, framework)
    stored: dict[tuple[int, int], tuple[int, bool, str | None]] = {}
    for pid, rid, lid, official, framework in db.lookup(
        T_LINK, "paper_id", sorted({pid for pid, _ in wanted}), "repo_id", "id", "official", "framework"
    ):
        stored[(pid, rid)] = (lid, bool(official), framework)
    now = _now()
    inserts, updates = [], []
    for (pid, rid), (official, framework) in wanted.items():
        current = stored.get((pid, rid))
        if current is None:
            inserts.append((pid, rid, official, "pwc", framework, now))
            continue
        merged = (current[1] or official, current[2] or framework)  # a dump never takes "official" back
        if merged != current[1:]:
            updates.append((*merged, current[0]))
    db.insert(T_LINK, LINK_COLS, inserts)
    db.update(T_LINK, ("official", "framework"), updates)
    report.add("links", inserted=len(inserts), updated=len(updates), seen=len(wanted))


def _link(record: Any) -> tuple[Any, ...] | None:
    if not isinstance(record, dict):
        return None
    repo = normalise_repo_url(record.get("repo_url"))
    arxiv_id = normalise_arxiv_id(record.get("paper_arxiv_id")) or arxiv_id_from_url(record.get("paper_url_abs"))
    paper_url = None if arxiv_id else (_url(record.get("paper_url_abs")) or _url(record.get("paper_url")) or None)
    if repo is None or not (arxiv_id or paper_url):
        return None
    framework = _clean(record.get("framework"), 50)
    return (
        arxiv_id,
        paper_url,
        _clean(record.get("paper_title"), 2000),
        repo[:300],
        _truthy(record.get("is_official")),
        None if framework.lower() in ("", "none", "null") else framework,
    )


def import_links(
    engine: Engine,
    source: str | os.PathLike[str],
    config: Any = None,
    progress: ProgressCallback | None = None,
    *,
    parallel: bool | None = None,
) -> ImportReport:
    """Import links-between-papers-and-code.json(.gz): repos and paper<->repo links (found_by "pwc").

    `parallel` parses in a second process (default: for files of PARALLEL_MIN_BYTES or more).
    """

    def body(db: _Db, path: Path, label: str, report: ImportReport) -> None:
        papers = _Papers(db, report)
        for items, rows, skipped in _batches(db, path, label, "links", "links", progress, parallel, report):
            report.rows += rows
            report.skipped += skipped
            if items:
                _flush_links(db, papers, items, report)

    return _run("pwc-links", engine, source, progress, body)


# ----------------------------------------------------------------------------------------------
# Papers with abstracts.

_FILLABLE = ("title", "abstract", "authors", "published")


def _paper(record: Any) -> tuple[Any, ...] | None:
    """(arxiv_id, url, title, abstract, authors, published) of a papers-with-abstracts record."""
    if not isinstance(record, dict):
        return None
    arxiv_id = normalise_arxiv_id(record.get("arxiv_id")) or arxiv_id_from_url(record.get("url_abs"))
    url = None if arxiv_id else (_url(record.get("url_abs")) or _url(record.get("paper_url")) or None)
    if not (arxiv_id or url):
        return None
    authors = record.get("authors")
    if not isinstance(authors, list):
        authors = []
    day = _date(record.get("date"))
    return (
        arxiv_id[:64] if arxiv_id else None,
        url,
        _clean(record.get("title"), 5000),
        _prose(record.get("abstract"), 100_000),
        [a.strip() for a in authors if isinstance(a, str) and a and not a.isspace()],
        datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None,
    )


_SQLITE_DATETIME = T_PAPER.c.published.type.dialect_impl(_sqlite_dialect()).bind_processor(_sqlite_dialect())


def _sqlite_ready_paper(record: Any) -> tuple[Any, ...] | None:
    """A paper with authors and date already in SQLite's stored form (done in the reader process)."""
    paper = _paper(record)
    if paper is None:
        return None
    authors, published = paper[4], paper[5]
    return (
        *paper[:4],
        json.dumps(authors) if authors else [],
        _SQLITE_DATETIME(published) if published is not None and _SQLITE_DATETIME else published,
    )


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == "[]"


def _flush_papers(db: _Db, batch: list[tuple[Any, ...]], report: ImportReport) -> None:
    now = _now()
    for position, column in enumerate(("arxiv_id", "url")):
        wanted: dict[str, tuple[Any, ...]] = {}
        for paper in batch:
            key = paper[position]
            if key is None:
                continue
            if key in wanted:
                report.duplicates += 1
            else:
                wanted[key] = paper
        if not wanted:
            continue
        stored = {rec[0]: rec[1:] for rec in db.lookup(T_PAPER, column, list(wanted), "id", *_FILLABLE)}
        inserts, updates = [], []
        ids = iter(db.take_ids(T_PAPER, sum(1 for key in wanted if key not in stored)))
        for key, paper in wanted.items():
            current = stored.get(key)
            if current is None:
                inserts.append(_paper_row(next(ids), paper[0], paper[1], paper[2], now, *paper[3:]))
                continue
            fill = tuple(new if _blank(old) and not _blank(new) else old
                         for old, new in zip(current[1:], paper[2:], strict=True))
            if fill != tuple(current[1:]):  # only gaps are filled: what a richer source wrote stays
                updates.append((*fill, current[0]))
        db.insert(T_PAPER, PAPER_COLS, inserts)
        db.update(T_PAPER, _FILLABLE, updates)
        report.add("papers", inserted=len(inserts), updated=len(updates), seen=len(wanted))


def import_papers(
    engine: Engine,
    source: str | os.PathLike[str],
    config: Any = None,
    progress: ProgressCallback | None = None,
    *,
    parallel: bool | None = None,
) -> ImportReport:
    """Import papers-with-abstracts.json(.gz): papers by arXiv id (or URL), gaps filled, never overwritten.

    `parallel` parses in a second process (default: for files of PARALLEL_MIN_BYTES or more).
    """

    def body(db: _Db, path: Path, label: str, report: ImportReport) -> None:
        for items, rows, skipped in _batches(db, path, label, "papers", "papers", progress, parallel, report):
            report.rows += rows
            report.skipped += skipped
            if items:
                _flush_papers(db, items, report)

    return _run("pwc-papers", engine, source, progress, body)


_NORMALISERS: dict[str, Callable[[Any], Any]] = {"links": _link, "papers": _paper}

IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "pwc-tables": import_tables,
    "pwc-links": import_links,
    "pwc-papers": import_papers,
}


if __name__ == "__main__" and sys.argv[1:2] == ["--read"]:
    sys.exit(_reader_main(sys.argv[2:]))
