"""Benchmark: a full Papers with Code sync of a big catalog at the server's 60 requests/min, new plan vs old.

A fake paperswithcode.co API (an httpx transport, so 20,000 requests cost no sockets) serves
a catalog of N tasks (`areas/with-tasks/`, popularity falling with the index, names in no
relation to it), each with
two benchmarks of three rows; a row's paper is shared with the two neighbouring tasks and
half the papers have no resources (404). The local database also holds a starter set of
tasks the server does not have (as a fresh install does). The server enforces 60 requests
per simulated minute (a 429 with Retry-After beyond it) on the injected clock.

Both plans run the same polls with the same clock and config until every catalog task is
synced: the new one (`sources.upstream.paperswithcode.poll`, default config), and the plan on
`main` before issue 12 (`git show ddb7444:sources/upstream/paperswithcode.py`, loaded as a
module, with main's 50 tasks per poll every 120 minutes), so the baseline is measured in the
same run. Figures: requests, 429s, simulated hours of requests
(polls back to back) and on the default schedule (one poll per `poll_interval_minutes`),
polls, and when the 100 most popular tasks were all synced.

    python -m bench.pwc_full_sync                  # 4,000 catalog tasks, 1,000 starter tasks
    python -m bench.pwc_full_sync --tasks 500 --starter 200
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import random
import subprocess
import sys
import tempfile
import time
import types
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session, col, select

from sotabot.bot.settings import Config
from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Task
from tests.fakes.clock import FakeClock

ROOT = Path(__file__).resolve().parent.parent
API = "https://pwc.test/api/v1"
LIMIT_PER_MINUTE = 60
TOP = 100
BASELINE_COMMIT = "ddb7444"  # main just before issue 12: the plan this benchmark compares against
OLD_INTERVAL_MINUTES = 120  # sources.paperswithcode.poll_interval_minutes on main
OLD_TASKS_PER_POLL = 50  # sources.paperswithcode.tasks_per_poll on main


class FakeApi:
    """The catalog, its leaderboards and papers, with a 60/min limit on the injected clock."""

    def __init__(self, tasks: int, clock: FakeClock) -> None:
        self.clock = clock
        names = list(range(tasks))
        random.Random(12).shuffle(names)  # popularity (the index) has nothing to do with the name
        self.tasks = [f"task-{n:05d}" for n in names]
        self.index = {slug: i for i, slug in enumerate(self.tasks)}
        self.recent: deque[float] = deque()
        self.requests = 0
        self.limited = 0

    def _limited(self) -> bool:
        now = self.clock.monotonic()
        while self.recent and self.recent[0] <= now - 60.0:
            self.recent.popleft()
        if len(self.recent) >= LIMIT_PER_MINUTE:
            return True
        self.recent.append(now)
        return False

    def catalog(self) -> dict:
        rows = [
            {"id": str(i), "slug": slug, "name": f"Task {i}", "paper_count": 100_000 // (i + 1),
             "benchmark_count": 2, "evaluation_count": 6}
            for i, slug in enumerate(self.tasks)
        ]
        return {"results": [{"id": "1", "name": "All", "tasks": rows}]}

    def board(self, dataset: str) -> dict:
        i, b = (int(x) for x in dataset.split("-"))
        rows = []
        for r in range(3):
            paper = i + r  # shared with the neighbouring tasks
            rows.append({
                "id": f"{dataset}-{r}", "paper_id": str(paper), "task_id": str(i), "dataset_id": dataset,
                "model_name": f"Model {i}.{b}.{r}", "metrics": {"Accuracy": 90.0 - r}, "best_metric": "Accuracy",
                "best_rank": r + 1, "paper_title": f"Paper {paper}", "paper_arxiv_id": f"2501.{paper:05d}",
                "paper_published_date": "2025-01-15", "task_name": f"Task {i}", "is_open": True,
            })
        return {"count": len(rows), "results": rows}

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self._limited():
            self.limited += 1
            return httpx.Response(429, headers={"Retry-After": "60"}, json={"detail": "rate limited"})
        path = urlsplit(str(request.url)).path.removeprefix("/api/v1/")
        parts = path.strip("/").split("/")
        if path == "areas/with-tasks/":
            return httpx.Response(200, json=self.catalog())
        if parts[0] == "tasks" and parts[-1] == "trending-benchmarks":
            i = self.index.get(parts[1])
            if i is None:
                return httpx.Response(404, json={"detail": "Not found."})
            return httpx.Response(200, json={"results": [
                {"id": f"{i}-{b}", "slug": f"bench-{i}-{b}", "name": f"Bench {i}.{b}"} for b in range(2)
            ]})
        if parts[0] == "datasets" and parts[-1] == "evaluations":
            return httpx.Response(200, json=self.board(parts[1]))
        if parts[0] == "papers":
            paper = int(parts[1].split(".")[1])
            if paper % 2:
                return httpx.Response(404, json={"detail": "Not found."})
            return httpx.Response(200, json={"id": str(paper), "repositories": [
                {"url": f"https://github.com/lab/paper-{paper}", "is_official": True}
            ]})
        return httpx.Response(404, json={"detail": "Not found."})


def old_module() -> types.ModuleType:
    """The poller as it was on main before issue 12 (the baseline plan)."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{BASELINE_COMMIT}:sources/upstream/paperswithcode.py"],
        check=True, capture_output=True, text=True,
    ).stdout
    spec = importlib.util.spec_from_loader("bench_old_paperswithcode", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, f"{BASELINE_COMMIT}:sources/upstream/paperswithcode.py", "exec"), module.__dict__)
    return module


@dataclass
class Run:
    name: str
    requests: int = 0
    limited: int = 0
    polls: int = 0
    request_hours: float = 0.0
    top_hours: float | None = None  # back to back
    top_polls: int | None = None
    synced: int = 0

    interval_minutes: int = 0  # the plan's default poll interval

    @property
    def schedule_hours(self) -> float:
        return self.polls * self.interval_minutes / 60


def run(name: str, poll_fn, interval: int, per_poll: int, tasks: int, starter: int, max_polls: int) -> Run:
    clock = FakeClock(1_800_000_000.0)
    api = FakeApi(tasks, clock)
    cfg = Config()
    cfg.sources.paperswithcode.api_url = API
    cfg.sources.paperswithcode.tasks_per_poll = per_poll
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        with Session(engine) as s:
            s.add_all([Task(slug=f"aaa-starter-{i:05d}", name=f"Starter {i}") for i in range(starter)])
            s.commit()
        result = Run(name, interval_minutes=interval)
        start = clock.monotonic()
        top = set(api.tasks[:TOP])
        catalog = set(api.tasks)
        for _ in range(max_polls):
            poll_fn(engine, cfg, clock=clock, transport=httpx.MockTransport(api.handle))
            result.polls += 1
            clock.sleep(1.0)  # the next poll's client starts its pacing afresh
            with Session(engine) as s:
                synced = set(s.exec(select(Task.slug).where(col(Task.synced_at).is_not(None))).all())
            if result.top_hours is None and top <= synced:
                result.top_hours = (clock.monotonic() - start) / 3600
                result.top_polls = result.polls
            result.synced = len(synced & catalog)
            if catalog <= synced:
                break
        result.requests, result.limited = api.requests, api.limited
        result.request_hours = (clock.monotonic() - start) / 3600
        engine.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=4000)
    parser.add_argument("--starter", type=int, default=1000)
    parser.add_argument("--max-polls", type=int, default=400)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    from sotabot.sources.upstream import paperswithcode

    results = []
    defaults = Config().sources.paperswithcode
    plans = (
        ("old plan (main)", old_module().poll, OLD_INTERVAL_MINUTES, OLD_TASKS_PER_POLL),
        ("new plan", paperswithcode.poll, defaults.poll_interval_minutes, defaults.tasks_per_poll),
    )
    for name, fn, interval, per_poll in plans:
        began = time.perf_counter()
        res = run(name, fn, interval, per_poll, args.tasks, args.starter, args.max_polls)
        print(f"  {name}: {time.perf_counter() - began:.0f} s of real time", file=sys.stderr)
        results.append(res)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
        return 0
    print(f"Full sync of a {args.tasks:,}-task catalog (+{args.starter:,} starter tasks the server lacks), "
          f"server limit {LIMIT_PER_MINUTE} requests/min, simulated clock")
    header = (f"{'plan':<18}{'synced':>9}{'requests':>10}{'req/task':>10}{'429s':>7}{'polls':>7}"
              f"{'h (back to back)':>18}{'interval':>10}{'h (scheduled)':>15}{f'top {TOP}: h b2b / sched':>26}")
    print(header)
    for r in results:
        top = "never"
        if r.top_hours is not None and r.top_polls is not None:
            top = f"{r.top_hours:.1f} / {r.top_polls * r.interval_minutes / 60:.1f}"
        print(f"{r.name:<18}{r.synced:>9,}{r.requests:>10,}{r.requests / max(r.synced, 1):>10.2f}{r.limited:>7}"
              f"{r.polls:>7}{r.request_hours:>18.1f}{r.interval_minutes:>7} min{r.schedule_hours:>15.1f}{top:>26}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
