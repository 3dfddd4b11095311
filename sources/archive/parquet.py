"""Reading an archive file in Parquet, as the Hugging Face Hub distributes the dumps, a batch of rows at a time.

The Hub's `pwc-archive/*` datasets are the JSON dumps written through Arrow's type inference:
a key missing from some records becomes a null in all of them, an object becomes a struct holding
every key any record had (so a row's `metrics` lists every metric of the file, most of them null),
an empty list may come back as null. One loss cannot be undone: an integer cell in a column that
also holds fractions became a float (the dump's `37` is `37.0`; the value is the same, its raw text
gains ".0"). The records yielded here are the JSON records again: null
members are dropped, so null, missing and empty read alike and the JSON path's normalisers and
writers take them unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from sotabot.sources.archive.records import normalised_batches
from sotabot.sources.archive.report import ArchiveError, ProgressCallback

MAGIC = b"PAR1"
# Rows turned into Python objects at once. A Hub shard's row group may hold tens of thousands of
# rows whose `metrics` struct lists every metric name of the file: as dicts, a whole group would
# cost gigabytes; a thousand rows at a time cost megabytes.
BATCH_ROWS = 1000


def is_parquet(path: Path) -> bool:
    """Told by the magic bytes, not the name: the Hub's cache and a renamed download read alike."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == MAGIC
    except OSError:
        return False


def _plain(value: Any) -> Any:
    """An Arrow value as the JSON dump had it: nulls dropped from objects, maps as objects, dates as text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):  # a MapArray: (key, value) pairs
            return {str(k): _plain(v) for k, v in value if v is not None}
        return [_plain(v) for v in value if v is not None]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Decimal):
        return float(value)
    return value


def _open(path: Path, label: str) -> Any:
    import pyarrow.parquet as pq  # pyarrow loads in ~0.2 s: only when a Parquet file is read

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for a missing footer or bad magic
        raise ArchiveError(f"{label}: truncated or invalid Parquet ({_detail(exc)})") from None


def _detail(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def check_parquet(path: Path, label: str) -> int:
    """Open the file's footer (a truncated download has none) and return its row count; raises ArchiveError."""
    return int(_open(path, label).metadata.num_rows)


def parquet_records(path: Path, label: str, what: str, progress: ProgressCallback | None = None) -> Iterator[Any]:
    """The file's rows as JSON-like records, BATCH_ROWS at a time; bad data raises ArchiveError."""
    pf = _open(path, label)
    total = path.stat().st_size
    meta = pf.metadata
    done = 0
    for index in range(pf.num_row_groups):
        batches = pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[index])
        while True:
            try:
                batch = next(batches, None)
                rows = batch.to_pylist() if batch is not None else None
            except Exception as exc:
                raise ArchiveError(
                    f"{label}: truncated or invalid Parquet in row group {index} ({_detail(exc)})"
                ) from None
            if rows is None:
                break
            for row in rows:
                yield _plain(row)
            del rows, batch
        group = meta.row_group(index)
        done += sum(group.column(c).total_compressed_size for c in range(group.num_columns))
        if progress:
            progress(min(done, total), total, "import")
    if meta.num_rows and pf.num_row_groups == 0:
        raise ArchiveError(f"{label}: Parquet file without row groups, expected {what}")


def parquet_batches(
    path: Path, label: str, what: str, normalise: Callable[[Any], Any], progress: ProgressCallback | None, size: int
) -> Iterator[tuple[list[Any], int, int]]:
    """(normalised items, records read, records skipped), `size` items at a time, as the JSON reader gives them."""
    yield from normalised_batches(parquet_records(path, label, what, progress), normalise, size)
