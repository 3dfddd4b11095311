"""Refreshing tracked repositories: GraphQL batches with a token vs one REST request each.

Runs `sources.github.poll` for real (HTTP, parsing, batched writes and star snapshots in a
fresh SQLite database) against a local fake GitHub, and counts requests at the fake server.
Baselines measured in the same run: the REST path (no token) over the same repositories,
and bare httpx sending the same GraphQL queries without parsing or storing anything.

    python -m bench.github_refresh               # 10,000 repositories, GraphQL and REST
    python -m bench.github_refresh --repos 2000  # smaller
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import insert
from sqlmodel import Session, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sotabot.bot.settings import Config  # noqa: E402
from sotabot.sources.upstream import github  # noqa: E402
from sotabot.sources.upstream.http import SystemClock  # noqa: E402
from sotabot.storage.config import Secret  # noqa: E402
from sotabot.storage.db import make_engine, upgrade  # noqa: E402
from sotabot.storage.models import Repo, StarSnapshot  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402
from tests.fakes.upstream import FakeUpstream  # noqa: E402

TARGET_REQUESTS = 101


@dataclass
class Run:
    name: str
    repos: int
    requests: int
    seconds: float
    stored: int


def _server() -> FakeUpstream:
    """A FakeUpstream with TCP_NODELAY, so its header+body writes do not wait on delayed ACKs."""
    srv = FakeUpstream()
    srv._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
    return srv


def _fake(srv: FakeUpstream, n: int) -> FakeGitHub:
    fake = FakeGitHub(srv, SystemClock())
    for budget in fake.budgets.values():
        budget.limit = budget.remaining = 10**9
    for i in range(n):
        fake.synthetic_repo(f"org{i}/repo{i}", i % 5000)
    return fake


def _database(folder: Path, name: str, n: int):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{folder / name}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(Repo), [{"url": f"https://github.com/org{i}/repo{i}"} for i in range(n)])
    return engine


def _refresh(folder: Path, name: str, n: int, token: str) -> Run:
    engine = _database(folder, f"{name}.db", n)
    with _server() as srv:
        _fake(srv, n)
        cfg = Config()
        cfg.sources.github.api_url = srv.url
        cfg.sources.github.graphql_url = f"{srv.url}/graphql"
        cfg.sources.github.token = Secret(token)
        started = time.perf_counter()
        report = github.poll(engine, cfg, max_searches=0)
        seconds = time.perf_counter() - started
        requests = len(srv.log)
    if not report.ok:
        raise SystemExit(f"{name}: poll failed: {report.errors[:3]}")
    with Session(engine) as session:
        stored = session.exec(select(func.count()).select_from(StarSnapshot)).one()
    engine.dispose()
    return Run(name, n, requests, seconds, stored)


def _raw_graphql(n: int) -> Run:
    """The same GraphQL queries through bare httpx: transport and fake-server cost only."""
    keys = [(f"org{i}", f"repo{i}") for i in range(n)]
    with _server() as srv:
        _fake(srv, n)
        started = time.perf_counter()
        with httpx.Client(base_url=srv.url) as client:
            for start in range(0, n, github.GRAPHQL_BATCH):
                query = github.build_query(keys[start : start + github.GRAPHQL_BATCH])
                client.post("/graphql", content=json.dumps({"query": query})).json()
        seconds = time.perf_counter() - started
        requests = len(srv.log)
    return Run("raw httpx, same GraphQL queries (no parse/store)", n, requests, seconds, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repos", type=int, default=10_000, help="tracked repositories (10,000)")
    parser.add_argument("--rest-repos", type=int, default=None, help="repositories for the REST run (same)")
    args = parser.parse_args(argv)
    rest_n = args.rest_repos or args.repos
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours = _refresh(folder, "graphql", args.repos, token="bench-token")
        raw = _raw_graphql(args.repos)
        rest = _refresh(folder, "rest", rest_n, token="")
    rows = [
        ("GraphQL with token (sotabot)", ours),
        (raw.name, raw),
        ("REST without token (sotabot)", rest),
    ]
    print(f"{'run':<50} {'repos':>7} {'requests':>9} {'seconds':>8} {'repos/s':>9} {'snapshots':>9}")
    for label, run in rows:
        rate = run.repos / run.seconds if run.seconds else float("inf")
        print(f"{label:<50} {run.repos:>7,} {run.requests:>9,} {run.seconds:>8.2f} {rate:>9,.0f} {run.stored:>9,}")
    per_repo_rest = rest.requests / rest.repos
    print()
    print(f"GraphQL requests for {ours.repos:,} repositories: {ours.requests} (target <= {TARGET_REQUESTS}: "
          f"{'met' if ours.requests <= TARGET_REQUESTS else 'MISSED'})")
    print(f"REST requests for the same: {per_repo_rest * ours.repos:,.0f} "
          f"({per_repo_rest:.2f} a repository; ratio REST/GraphQL {per_repo_rest * ours.repos / ours.requests:,.0f}x)")
    print(f"whole GraphQL refresh vs bare httpx on the same queries: {ours.seconds / raw.seconds:.1f}x the time")
    return 0 if ours.requests <= TARGET_REQUESTS else 1


if __name__ == "__main__":
    raise SystemExit(main())
