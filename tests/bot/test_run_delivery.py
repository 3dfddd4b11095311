"""`sotabot run` as a real process: digests survive SIGKILL, and two processes share the work.

The service runs in Slack HTTP mode with its Web API pointed at a local fake, polls off,
and a digest due a minute ago for every channel, so the only work is queueing and sending.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Channel
from tests.fakes.slack_api import FakeSlackApi

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 8


def _prepare(url: str, channels: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    due = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%H:%M")
    with engine.begin() as conn:
        conn.execute(
            insert(Channel),
            [
                {
                    "platform": "slack",
                    "workspace": "T1",
                    "channel": f"C{i:04d}",
                    "timezone": "UTC",
                    "digest_enabled": True,
                    "digest_time": due,
                    "categories": ["cs.CV"],
                    "keywords": [],
                    "active": True,
                    "created_at": datetime(2020, 1, 1, tzinfo=UTC),
                }
                for i in range(channels)
            ],
        )
    engine.dispose()


def _env(url: str, api: FakeSlackApi) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOTABOT_")}
    env.update(
        {
            "SOTABOT_DATABASE__URL": url,
            "SOTABOT_SLACK__MODE": "http",
            "SOTABOT_SLACK__SIGNING_SECRET": "test-signing-secret",
            "SOTABOT_SLACK__BOT_TOKEN": "xoxb-test",
            "SOTABOT_SLACK__API_URL": api.url,
            "SOTABOT_SERVER__PORT": "0",
            "SOTABOT_SOURCES__ARXIV__POLL_INTERVAL_MINUTES": "0",
            "SOTABOT_SOURCES__HUGGINGFACE__POLL_INTERVAL_MINUTES": "0",
            "SOTABOT_SOURCES__HUGGINGFACE__LEADERBOARDS_INTERVAL_MINUTES": "0",
            "SOTABOT_SOURCES__GITHUB__REFRESH_INTERVAL_MINUTES": "0",
            "SOTABOT_SOURCES__PAPERSWITHCODE__POLL_INTERVAL_MINUTES": "0",
            "SOTABOT_DIGEST__SEND_EMPTY": "true",
            "SOTABOT_DIGEST__TICK_SECONDS": "1",
            "SOTABOT_DELIVERY__CONCURRENCY": str(CONCURRENCY),
            "SOTABOT_DELIVERY__LEASE_SECONDS": "3",
            "SOTABOT_DELIVERY__PER_CHANNEL_INTERVAL_SECONDS": "0",
        }
    )
    return env


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sotabot.bot.cli", "run"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _wait_for(predicate, timeout: float, procs: list[subprocess.Popen], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"sotabot run exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; log:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_sigkill_mid_delivery_loses_no_digest_and_duplicates_at_most_the_sends_in_flight(tmp_path):
    channels = 500
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    _prepare(url, channels)
    log = tmp_path / "run.log"
    with FakeSlackApi(delay=0.02) as api:
        env = _env(url, api)
        first = _start(env, log)
        _wait_for(lambda: len(api.posts) >= 150, 60, [first], log)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = len(api.posts)
        time.sleep(0.3)  # posts already on the wire finish arriving
        second = _start(env, log)
        try:
            _wait_for(lambda: len({p.channel for p in api.posts}) >= channels, 90, [second], log)
            time.sleep(1.0)
        finally:
            _stop([second])
        counts = Counter(p.channel for p in api.posts)
    missing = channels - len(counts)
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\ncrash test: killed after {at_kill} posts; {len(api.posts)} posts for {channels} channels, "
        f"{missing} missing, {duplicates} duplicates (sends in flight at the kill: at most {CONCURRENCY})"
    )
    assert missing == 0
    assert duplicates <= CONCURRENCY
    assert second.returncode == 0


@pytest.mark.slow
def test_two_processes_on_postgresql_send_every_channel_exactly_one_digest(postgres_url, tmp_path):
    db_url = postgres_url
    channels = 300
    _prepare(db_url, channels)
    log = tmp_path / "run.log"
    with FakeSlackApi(delay=0.01) as api:
        env = _env(db_url, api)
        procs = [_start(env, log), _start(env, log)]
        try:
            _wait_for(lambda: len({p.channel for p in api.posts}) >= channels, 90, procs, log)
            time.sleep(4.0)  # longer than the lease: a wrongly re-claimed row would show up
        finally:
            _stop(procs)
        counts = Counter(p.channel for p in api.posts)
    assert len(counts) == channels
    assert set(counts.values()) == {1}
    assert all(p.returncode == 0 for p in procs)
