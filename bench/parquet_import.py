"""Archive import from Parquet (as the Hub publishes it) next to the JSON path and a raw pyarrow read.

`python -m bench.parquet_import` (quick: a tenth of Papers with Code scale), `--full` (the archive's
size: 4,000 task rows expanding to 100,000 results, 300,000 links). The synthetic archive of
`bench.pwc_synth` is written once more as Parquet the way the Hub's copy was made: Arrow's inference
over the JSON records (`pa.array`, one struct holding every key, hence every metric name, of a
shard), evaluation tables in 4 shards, links in 1, small row groups. Metric cells are written as
text (the synthetic dump mixes numbers and text in one column, which Arrow's inference refuses).

Each measurement runs in a fresh process on a fresh SQLite file and reports its own peak RSS
(VmHWM): `sotabot import` of the JSON dumps, `sotabot import` of the Parquet shards, and, as the
baseline of what reading Parquet costs at all, pyarrow reading every row group to Python objects.
Targets: <= 60 s and <= 500 MB for the Parquet import at full scale.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.pwc_synth import generate

TARGET_SECONDS = 60.0
TARGET_MB = 500.0
TABLE_SHARDS = 4
ROW_GROUP_ROWS = {"tables": 32, "links": 20_000}


def _as_text(task: dict[str, Any]) -> dict[str, Any]:
    for dataset in task.get("datasets") or []:
        _dataset_as_text(dataset)
    for sub in task.get("subtasks") or []:
        _as_text(sub)
    return task


def _dataset_as_text(dataset: dict[str, Any]) -> None:
    for row in (dataset.get("sota") or {}).get("rows") or []:
        metrics = row.get("metrics") or {}
        row["metrics"] = {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in metrics.items()}
    for sub in dataset.get("subdatasets") or []:
        _dataset_as_text(sub)


def write_parquet(paths: dict[str, Path], out: Path) -> dict[str, list[Path]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    shards: dict[str, list[Path]] = {"tables": [], "links": []}
    tables = [_as_text(t) for t in json.loads(gzip.decompress(paths["tables"].read_bytes()))]
    per = -(-len(tables) // TABLE_SHARDS)
    for i in range(TABLE_SHARDS):
        target = out / f"tables-{i:05d}-of-{TABLE_SHARDS:05d}.parquet"
        part = tables[i * per : (i + 1) * per]
        if part and not target.exists():
            batch = pa.RecordBatch.from_struct_array(pa.array(part))
            pq.write_table(pa.Table.from_batches([batch]), target, row_group_size=ROW_GROUP_ROWS["tables"])
        if part:
            shards["tables"].append(target)
    del tables
    target = out / "links-00000-of-00001.parquet"
    if not target.exists():
        links = json.loads(gzip.decompress(paths["links"].read_bytes()))
        batch = pa.RecordBatch.from_struct_array(pa.array(links))
        pq.write_table(pa.Table.from_batches([batch]), target, row_group_size=ROW_GROUP_ROWS["links"])
    shards["links"].append(target)
    return shards


CHILD = r"""
import sys, time, json
from pathlib import Path
mode, db, *files = sys.argv[1:]
start = time.perf_counter()
rows = 0
if mode == "raw":
    import pyarrow.parquet as pq
    for f in files:
        pf = pq.ParquetFile(f)
        for i in range(pf.num_row_groups):
            rows += len(pf.read_row_group(i).to_pylist())
else:
    from sotabot.storage.db import make_engine, upgrade
    from sotabot.sources.archive.tables import import_tables
    from sotabot.sources.archive.links import import_links
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    for f in files:
        importer = import_tables if "tables" in Path(f).name or "evaluation" in Path(f).name else import_links
        rows += importer(engine, f).rows
elapsed = time.perf_counter() - start
peak = 0.0
for line in Path("/proc/self/status").read_text().splitlines():
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1]) / 1024
print(json.dumps({"seconds": elapsed, "peak_mb": peak, "rows": rows}))
"""


def _run(mode: str, db: Path, files: list[Path]) -> dict[str, float]:
    db.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(db), *map(str, files)],
        capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parent.parent,
    )
    if out.returncode != 0:
        last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"
        raise SystemExit(f"{mode} failed: {last}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parquet_import", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the archive's real size (default: a tenth)")
    parser.add_argument("--dir", default="/tmp/sotabot-bench-parquet", help="where the synthetic archive is kept")
    args = parser.parse_args(argv)
    fraction = 1.0 if args.full else 0.1
    work = Path(args.dir) / ("full" if args.full else "quick")
    started = time.perf_counter()
    paths = generate(work / "json", fraction=fraction)
    shards = write_parquet(paths, work / "parquet")
    print(f"synthetic archive ready in {time.perf_counter() - started:.0f}s: "
          f"{sum(p.stat().st_size for p in shards['tables']) / 1e6:.1f} MB tables Parquet, "
          f"{shards['links'][0].stat().st_size / 1e6:.1f} MB links Parquet")
    parquet_files = [*shards["tables"], *shards["links"]]
    runs = {
        "raw pyarrow read (baseline)": _run("raw", work / "raw.db", parquet_files),
        "sotabot import, JSON dumps": _run("import", work / "json.db", [paths["tables"], paths["links"]]),
        "sotabot import, Parquet shards": _run("import", work / "parquet.db", parquet_files),
    }
    print(f"{'':34} {'seconds':>8} {'peak MB':>8} {'records':>9}")
    for name, r in runs.items():
        print(f"{name:34} {r['seconds']:8.1f} {r['peak_mb']:8.0f} {int(r['rows']):9d}")
    pq_run = runs["sotabot import, Parquet shards"]
    if args.full:
        ok = pq_run["seconds"] <= TARGET_SECONDS and pq_run["peak_mb"] <= TARGET_MB
        print(f"target <= {TARGET_SECONDS:.0f} s and <= {TARGET_MB:.0f} MB: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
