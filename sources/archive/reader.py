"""Reading an archive file: local or URL, plain or gzip, streamed records, big files parsed in a second process.

The child process is `python -m sotabot.sources.archive.reader --read PATH LABEL WHAT KIND DIALECT`.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
import ijson

from sotabot.sources.archive.parquet import is_parquet, parquet_batches, parquet_records
from sotabot.sources.archive.records import NORMALISERS, normalised_batches, sqlite_ready_paper
from sotabot.sources.archive.report import ArchiveError, ImportReport, ProgressCallback

if TYPE_CHECKING:
    from sotabot.sources.archive.writer import ArchiveDb


CHUNK_ROWS = 5000  # rows (results, links, papers) read, then written, per round of executemany
READ_BUFFER = 1 << 18
PARALLEL_MIN_BYTES = 8 << 20  # links/papers files at least this big are parsed in a second process


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


# Bounds on what one file may expand to: gzip can grow a few hundred KB into gigabytes, and
# the JSON parser holds a whole string in memory until its closing quote.
MAX_DECOMPRESSED_BYTES = 32 << 30  # the real archive's largest file is a few GB
MAX_VALUE_BYTES = 16 << 20  # the longest abstract is a few KB, the longest table record ~1 MB


class _Guard(io.RawIOBase):
    """The decompressed stream, failing fast past MAX_DECOMPRESSED_BYTES or a run without an
    unescaped quote longer than MAX_VALUE_BYTES (one JSON string or number that long: no real
    record has one). An escaped quote (\\") does not end the run, so a huge string cannot slip
    through by holding one every few megabytes.

    A few C-level `find`s a chunk, so the check costs nothing next to parsing.
    """

    def __init__(self, inner: IO[bytes], label: str, max_total: int, max_value: int) -> None:
        self.inner = inner
        self.label = label
        self.max_total = max_total
        self.max_value = max_value
        self.total = 0
        self.since_quote = 0
        self._backslashes = 0  # how many backslashes ended the previous chunk

    def readable(self) -> bool:
        return True

    def _escaped(self, data: bytes, at: int) -> bool:
        """Whether the quote at `at` follows an odd run of backslashes (this chunk's and the last one's)."""
        start = at
        while start > 0 and data[start - 1] == 0x5C:
            start -= 1
        run = at - start + (self._backslashes if start == 0 else 0)
        return run % 2 == 1

    def _first_quote(self, data: bytes) -> int:
        at = data.find(b'"')
        while at != -1 and self._escaped(data, at):
            at = data.find(b'"', at + 1)
        return at

    def _last_quote(self, data: bytes) -> int:
        at = data.rfind(b'"')
        while at != -1 and self._escaped(data, at):
            at = data.rfind(b'"', 0, at)
        return at

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.total += n
        if self.total > self.max_total:
            raise ArchiveError(
                f"{self.label}: decompresses to more than {self.max_total >> 20} MB; refusing to read further"
            )
        first = self._first_quote(data)
        if first == -1:
            self.since_quote += n
        elif self.since_quote + first > self.max_value:
            self.since_quote += first
        else:
            self.since_quote = n - 1 - self._last_quote(data)
        if n:
            trailing = n - len(data.rstrip(b"\\"))
            self._backslashes = trailing + (self._backslashes if trailing == n else 0)
        if self.since_quote > self.max_value:
            raise ArchiveError(
                f"{self.label}: one JSON value is longer than {self.max_value >> 20} MB "
                f"(at byte {self.total} after decompression); not an archive dump"
            )
        return n


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
        guard = _Guard(stream, label, MAX_DECOMPRESSED_BYTES, MAX_VALUE_BYTES)
        yield io.BufferedReader(guard, READ_BUFFER), counter
    finally:
        raw.close()


def json_records(stream: IO[bytes], label: str, what: str) -> Iterator[Any]:
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


def archive_records(path: Path, label: str, what: str, progress: ProgressCallback | None = None) -> Iterator[Any]:
    """The records of a dump, JSON (plain or gzip) or Parquet, one at a time."""
    if is_parquet(path):
        yield from parquet_records(path, label, what, progress)
        return
    with open_stream(path, label, progress) as (stream, _):
        yield from json_records(stream, label, what)


Batch = tuple[list[Any], int, int]
"""(normalised items, records read, records skipped) for one chunk of a dump."""


def _local_batches(
    path: Path, label: str, what: str, normalise: Callable[[Any], Any], progress: ProgressCallback | None
) -> Iterator[Batch]:
    """Read and normalise records in this process, CHUNK_ROWS at a time."""
    with open_stream(path, label, progress) as (stream, _):
        yield from normalised_batches(json_records(stream, label, what), normalise, CHUNK_ROWS)


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
    """Child process (`python -m sotabot.sources.archive.reader --read PATH LABEL WHAT KIND DIALECT`): parse a
    dump and write pickled batches of normalised records to stdout; the pipe's buffer bounds memory."""
    path, label, what, kind, dialect = argv
    out = sys.stdout.buffer
    normalise = NORMALISERS[kind]
    if kind == "papers" and dialect == "sqlite":
        normalise = sqlite_ready_paper
    try:
        with open_stream(Path(path), label) as (stream, counter):
            for items, rows, skipped in normalised_batches(json_records(stream, label, what), normalise, CHUNK_ROWS):
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
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "sotabot.sources.archive.reader", "--read", str(path), label, what, kind, dialect],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            stderr=errors,
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


def counted_items(
    db: ArchiveDb,
    path: Path,
    kind: str,
    label: str,
    progress: ProgressCallback | None,
    parallel: bool | None,
    report: ImportReport,
) -> Iterator[list[Any]]:
    """The file's normalised `kind` records ("links", "papers") in batches; read and skipped counts go to `report`."""
    for items, rows, skipped in _batches(db, path, label, kind, kind, progress, parallel, report):
        report.rows += rows
        report.skipped += skipped
        if items:
            yield items


def _batches(
    db: ArchiveDb,
    path: Path,
    label: str,
    what: str,
    kind: str,
    progress: ProgressCallback | None,
    parallel: bool | None,
    report: ImportReport,
) -> Iterator[Batch]:
    """Batches of normalised records; big JSON files are parsed in a second process, Parquet in this one."""
    if is_parquet(path):
        return parquet_batches(path, label, what, NORMALISERS[kind], progress, CHUNK_ROWS)
    if parallel is None:
        parallel = bool(sys.executable) and path.stat().st_size >= PARALLEL_MIN_BYTES
    if parallel:
        return _parallel_batches(path, label, what, kind, progress, db.dialect.name, report)
    return _local_batches(path, label, what, NORMALISERS[kind], progress)


if __name__ == "__main__" and sys.argv[1:2] == ["--read"]:
    sys.exit(_reader_main(sys.argv[2:]))
