"""`sotabot run` wiring: what runs for which config, background tasks, graceful shutdown."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy.engine import Engine

from sotabot.bot.service import Plan, Service, plan_for
from sotabot.bot.settings import Config
from sotabot.storage.config import ConfigError, Secret


def config(**slack: object) -> Config:
    cfg = Config()
    cfg.server.port = 0
    for key, value in slack.items():
        setattr(cfg.slack, key, value)
    return cfg


def test_without_tokens_the_terminal_chat_runs():
    assert plan_for(Config()) == Plan(slack=None, discord=False, http_server=True, terminal=True)


def test_socket_mode_runs_with_an_app_token_and_http_mode_with_a_signing_secret():
    assert plan_for(config(app_token=Secret("xapp-1"), bot_token=Secret("xoxb-1"))).slack == "socket"
    http = plan_for(config(mode="http", signing_secret=Secret("s")))
    assert (http.slack, http.http_server, http.terminal) == ("http", True, False)
    cfg = config(mode="http", signing_secret=Secret("s"))
    cfg.server.enabled = False
    assert plan_for(cfg).http_server is True  # Slack's events need the listener anyway


def test_discord_alone_runs_without_the_terminal():
    cfg = Config()
    cfg.discord.token = Secret("t")
    plan = plan_for(cfg)
    assert (plan.discord, plan.slack, plan.terminal) == (True, None, False)


@pytest.mark.parametrize(
    ("slack", "missing"),
    [
        ({"bot_token": Secret("xoxb-1")}, "slack.app_token"),
        ({"bot_token": Secret("xoxb-1"), "mode": "http"}, "slack.signing_secret"),
    ],
)
def test_a_half_configured_slack_fails_naming_the_missing_key(slack, missing):
    with pytest.raises(ConfigError) as err:
        plan_for(config(**slack))
    assert err.value.key == missing


async def test_background_tasks_run_and_see_the_stop_event_when_the_chat_ends(engine: Engine):
    seen: list[str] = []

    async def job(stop: asyncio.Event) -> None:
        seen.append("started")
        await stop.wait()
        seen.append("stopped")

    out = io.StringIO()
    service = Service(engine, config(), stdin=io.StringIO("help\nquit\n"), console=Console(file=out),
                      load_plugins=False)
    service.add_task("job", job)
    assert await asyncio.wait_for(service.run(), timeout=60) == 0
    assert seen == ["started", "stopped"]
    assert out.getvalue().strip()  # the chat answered "help"


async def test_a_failing_background_task_stops_the_service_with_exit_code_1(engine: Engine):
    async def broken(stop: asyncio.Event) -> None:
        raise RuntimeError("boom")

    read_fd, write_fd = os.pipe()  # a chat that would wait for input forever
    stdin = os.fdopen(read_fd)
    service = Service(engine, config(), stdin=stdin, console=Console(file=io.StringIO()), load_plugins=False)
    service.add_task("broken", broken)
    try:
        assert await asyncio.wait_for(service.run(), timeout=60) == 1
    finally:
        os.close(write_fd)
        await asyncio.sleep(0.05)
        stdin.close()


def test_http_mode_serves_healthz_and_stops_cleanly_on_sigterm(tmp_path: Path, repo_root: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOTABOT_")}
    env.update(
        PYTHONPATH=str(repo_root),
        SOTABOT_DATABASE__URL=f"sqlite:///{tmp_path / 'sotabot.db'}",
        SOTABOT_SERVER__PORT="0",
        SOTABOT_SLACK__MODE="http",
        SOTABOT_SLACK__SIGNING_SECRET="a-signing-secret-that-must-not-be-logged",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "sotabot.bot.cli", "run"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        port, log_lines = None, []
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            log_lines.append(line)
            match = re.search(r"http server on http://127\.0\.0\.1:(\d+) \(/healthz, /slack/events\)", line)
            port = int(match.group(1)) if match else None
        assert port, "".join(log_lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
            assert (resp.status, resp.read()) == (200, b"ok")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    text = "".join(log_lines) + err
    assert "slack (http mode)" in text
    assert "sotabot run: stopped" in text
    assert "a-signing-secret-that-must-not-be-logged" not in text
