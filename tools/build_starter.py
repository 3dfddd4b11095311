"""Rebuild the starter leaderboards shipped in the package (`sources/data/starter-tables.json.gz`).

The starter file is every real sota-extractor task file in `pwc-evaluation-tables/` (the
shared fixtures; Apache-2.0, see sources/data/README.md), concatenated into one
evaluation-tables array in file-name order and gzipped with a fixed timestamp, so the same
inputs always give the same bytes. `python -m tools.build_starter [SRC_DIR] [--out PATH]`.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SRC = ROOT / "tests" / "fixtures" / "pwc-evaluation-tables"
DEFAULT_OUT = ROOT / "sources" / "data" / "starter-tables.json.gz"


def build(src_dir: Path = DEFAULT_SRC, out: Path = DEFAULT_OUT) -> Path:
    """Write the starter file from every *.json under `src_dir`; returns its path."""
    tasks: list[object] = []
    files = sorted(src_dir.glob("*.json"))
    if not files:
        raise SystemExit(f"no *.json files in {src_dir}")
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list):
            raise SystemExit(f"{path}: not an evaluation-tables array")
        tasks.extend(data)
    payload = json.dumps(tasks, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode()
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(payload)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build_starter", description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", type=Path, default=DEFAULT_SRC, help="directory of task files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    out = build(args.src, args.out)
    print(f"{out} ({out.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
