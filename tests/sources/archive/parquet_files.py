"""Parquet files built from the real JSON fixtures the way the Hub's copies were built: Arrow's own type
inference over the JSON records (`pa.array` over the records: one struct type holding every key any
record has, as the `datasets` JSON loader builds it; `pa.Table.from_pylist` would keep only the first
record's keys), small row groups so a file has several."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def parquet_from_json(source: Path, target: Path, row_group_size: int = 4) -> Path:
    records = json.loads(source.read_text())
    table = pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(records))])
    pq.write_table(table, target, row_group_size=row_group_size)
    return target
