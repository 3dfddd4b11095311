"""A big archive import beside a live `sotabot run` and the CLI: nobody waits long, nothing is sent twice.

    python -m bench.import_alongside [--scale 3] [--channels 300] [--fraction 1]

Reproduces the report of the reliability issue: `sotabot run` delivering `--channels` digests
(fake Slack API) while a 300k-result evaluation-tables file (the synthetic archive of
`bench.pwc_synth` at `--scale 3`) is imported beside it, with `sotabot digest send-due`,
`sotabot status` and `sotabot sota ...` run again and again alongside. Before the import
committed in chunks this gave 321 posts for 300 channels (21 duplicates), digests ~105 s late,
and the import, `poll arxiv` and `digest send-due` all exited 1 "database is locked".

Printed, each next to its baseline measured in this run: the import's wall time (alone on a
fresh database) and its longest transaction (how long anyone waited for the write lock at
most); the time until every channel had its digest (the same service with no import); posts,
distinct channels and duplicates; every CLI command's exit code and any "locked" error.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench import pwc_synth
from sotabot.sources.archive.tables import import_tables
from sotabot.storage.db import make_engine, upgrade
from tests.bot.test_run_delivery import ROOT, _env, _prepare, _start, _stop
from tests.fakes.slack_api import FakeSlackApi

OUT = ROOT / "bench" / "out" / "import_alongside"
COMMANDS = (["digest", "send-due"], ["status"], ["sota", "image classification"])


def _import(url: str, tables: Path) -> tuple[float, int, float]:
    engine = make_engine(url)
    upgrade(engine)  # as the CLI does (alongside the service: already done by _prepare)
    started = time.perf_counter()
    report = import_tables(engine, tables)
    engine.dispose()
    return time.perf_counter() - started, report.transactions, report.longest_transaction


class _Commands(threading.Thread):
    """Runs the CLI commands one after another until stopped; keeps (command, exit code, seconds, locked)."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.env = env
        self.runs: list[tuple[str, int, float, bool]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for args in COMMANDS:
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-m", "sotabot.bot.cli", *args], cwd=ROOT, env=self.env,
                    capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
                )
                locked = "locked" in done.stderr or "locked" in done.stdout
                self.runs.append((" ".join(args[:2]), done.returncode, time.perf_counter() - started, locked))


def _service_run(url: str, channels: int, tables: Path | None, log: Path) -> dict[str, object]:
    """Deliver `channels` digests with `sotabot run`; with `tables`, import it and run the CLI alongside."""
    _prepare(url, channels)
    with FakeSlackApi(delay=0.1) as api:
        env = _env(url, api)
        procs = [_start(env, log)]
        commands = _Commands(env)
        started = time.perf_counter()
        figures: dict[str, object] = {}
        try:
            importer = None
            if tables is not None:
                commands.start()
                importer = threading.Thread(target=lambda: figures.update(import_=_import(url, tables)))
                importer.start()
            while len({p.channel for p in api.posts}) < channels and time.perf_counter() - started < 900:
                if procs[0].poll() is not None:
                    raise SystemExit(f"sotabot run exited {procs[0].returncode}: see {log}")
                time.sleep(0.2)
            figures["all_delivered_s"] = time.perf_counter() - started
            if importer is not None:
                importer.join()
                if "import_" not in figures:
                    raise SystemExit("the import failed: see the traceback above")
            time.sleep(6)  # twice the lease: a row wrongly taken over would be sent now
        finally:
            commands.stop.set()
            if commands.is_alive():
                commands.join(timeout=300)
            _stop(procs)
        counts = Counter(p.channel for p in api.posts)
    figures.update(posts=len(api.posts), distinct=len(counts), duplicates=sum(n - 1 for n in counts.values()),
                   commands=commands.runs)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_alongside", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=3.0, help="results times 100,000 (3: the issue's 300k)")
    parser.add_argument("--fraction", type=float, default=1.0, help="shrink the archive (0.1 for a smoke run)")
    parser.add_argument("--channels", type=int, default=300)
    args = parser.parse_args(argv)

    files = pwc_synth.generate(OUT / f"synth-s{args.scale:g}-f{args.fraction:g}", scale=args.scale,
                               fraction=args.fraction)
    tables = files["tables"]
    with tempfile.TemporaryDirectory(prefix="import-alongside-") as tmp:
        work = Path(tmp)
        alone = _import(f"sqlite:///{work / 'alone.db'}", tables)
        quiet = _service_run(f"sqlite:///{work / 'quiet.db'}", args.channels, None, work / "quiet.log")
        busy = _service_run(f"sqlite:///{work / 'busy.db'}", args.channels, tables, work / "busy.log")
    wall, transactions, longest = busy["import_"]  # type: ignore[misc]
    print(f"archive: {tables.name} ({tables.stat().st_size / 1e6:.0f} MB), {args.channels} channels")
    print(f"import alone        {alone[0]:7.1f} s  ({alone[1]} transactions, longest {alone[2]:.2f} s)")
    print(f"import alongside    {wall:7.1f} s  ({transactions} transactions, longest {longest:.2f} s)"
          f"  ratio {wall / alone[0]:.2f}x")
    print(f"all digests sent    {busy['all_delivered_s']:7.1f} s  alongside the import, "
          f"{quiet['all_delivered_s']:.1f} s without it  ratio "
          f"{busy['all_delivered_s'] / quiet['all_delivered_s']:.2f}x")  # type: ignore[operator]
    for name, figures in (("without import", quiet), ("alongside", busy)):
        print(f"posts {name:15} {figures['posts']} for {args.channels} channels, {figures['distinct']} distinct, "
              f"{figures['duplicates']} duplicates")
    runs = busy["commands"]
    by_command: dict[str, list[tuple[int, float, bool]]] = {}
    for name, code, seconds, locked in runs:  # type: ignore[attr-defined]
        by_command.setdefault(name, []).append((code, seconds, locked))
    for name, outcomes in by_command.items():
        codes = Counter(code for code, _, _ in outcomes)
        print(f"`sotabot {name}` x{len(outcomes)}: exit codes {dict(codes)}, "
              f"{sum(locked for _, _, locked in outcomes)} 'database is locked', "
              f"slowest {max(s for _, s, _ in outcomes):.1f} s")
    failed = busy["duplicates"] or any(code != 0 or locked for _, code, _, locked in runs)  # type: ignore[attr-defined]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
