"""SIGTERM stops `sotabot run` within 10 s whatever it is doing: here, every poll reading a
body (or the status line and headers) that drips one byte a second, so no read ever times
out and only the stop ends them.

The scheduler starts the polls 10 s, 15 s, ... after start (one job after another), so the
signal waits until every poller that goes to the network has a request dripping at once:
the last, hf-leaderboards (huggingface_hub routed through the polite client), ~35 s in.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from sotabot.sources.poll import POLLERS
from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Repo
from tests.bot.test_run_delivery import _env, _start, _wait_for
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.upstream import FakeUpstream, Fault

# poller -> the path its first request goes to (each upstream URL below points at its own prefix)
FIRST_REQUEST = {
    "arxiv": "/rss",
    "huggingface": "/hf/daily_papers",
    "github": "/github/repos/",  # refreshes the one tracked repository seeded below
    "paperswithcode": "/pwc/",
    "hf-leaderboards": "/hf/api/datasets",
}
OFF_THE_NETWORK = {"claims"}  # reads the papers arXiv stored


def _seed_a_tracked_repository(url: str) -> None:
    """GitHub's poll only asks about repositories it tracks; an empty database sends nothing."""
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        checked = datetime(2020, 1, 1, tzinfo=UTC)
        conn.execute(insert(Repo).values(url="https://github.com/octo/model", checked_at=checked))
    engine.dispose()


def _dripping(upstream: FakeUpstream) -> set[str]:
    """The pollers with a request in flight right now (its response still dripping)."""
    paths = upstream.dripping_now()
    return {name for name, prefix in FIRST_REQUEST.items() if any(p.startswith(prefix) for p in paths)}


def test_every_poller_that_goes_to_the_network_is_dripped_here():
    assert {p.name for p in POLLERS} == set(FIRST_REQUEST) | OFF_THE_NETWORK


@pytest.mark.slow
@pytest.mark.parametrize("drip", ["drip", "drip-headers"], ids=["bodies", "headers"])
def test_sigterm_with_every_upstream_dripping_exits_within_10s_without_tracebacks(tmp_path: Path, drip: str):
    url = f"sqlite:///{tmp_path / 'stop.db'}"
    _seed_a_tracked_repository(url)
    log = tmp_path / "run.log"
    with FakeUpstream() as upstream, FakeSlackApi() as slack:
        upstream.fail("/", Fault(drip, seconds=1.0), times=1000)  # every path, every request
        env = _env(url, slack)
        for key in ("ARXIV", "HUGGINGFACE", "PAPERSWITHCODE"):
            env[f"SOTABOT_SOURCES__{key}__POLL_INTERVAL_MINUTES"] = "60"
        env["SOTABOT_SOURCES__GITHUB__REFRESH_INTERVAL_MINUTES"] = "60"
        env["SOTABOT_SOURCES__HUGGINGFACE__LEADERBOARDS_INTERVAL_MINUTES"] = "60"
        env.update(
            {
                "SOTABOT_SOURCES__ARXIV__RSS_URL": upstream.url + "/rss",
                "SOTABOT_SOURCES__ARXIV__API_URL": upstream.url + "/arxiv",
                "SOTABOT_SOURCES__ARXIV__MIN_INTERVAL_SECONDS": "0",
                "SOTABOT_SOURCES__HUGGINGFACE__API_URL": upstream.url + "/hf",
                "SOTABOT_SOURCES__GITHUB__API_URL": upstream.url + "/github",
                "SOTABOT_SOURCES__GITHUB__GRAPHQL_URL": upstream.url + "/github/graphql",
                "SOTABOT_SOURCES__PAPERSWITHCODE__API_URL": upstream.url + "/pwc",
            }
        )
        proc = _start(env, log)
        try:
            _wait_for(lambda: _dripping(upstream) == set(FIRST_REQUEST), 90, [proc], log)
            time.sleep(1.0)
            in_flight = _dripping(upstream)
            stopped_at = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):  # still alive: the assert shows the log
                proc.wait(timeout=30)
            took = time.monotonic() - stopped_at
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log.read_text(errors="replace")
    print(f"\nSIGTERM with {sorted(in_flight)} dripping: exited {proc.returncode} after {took:.1f}s")
    assert in_flight == set(FIRST_REQUEST), text[-3000:]  # still all in flight when the signal went
    assert took < 10.0, text[-3000:]
    assert proc.returncode == 0, text[-3000:]
    assert "Traceback" not in text and "CancelledError" not in text, text[-3000:]
    assert "sotabot run: stopped" in text
