"""`sotabot run` on a fresh machine: no tokens, so it opens the terminal chat and answers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

RUN_TIMEOUT = 120


@pytest.fixture
def sotabot(repo_root: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`sotabot(args, tmp_path, stdin, **env)`: `python -m sotabot.bot.cli ARGS` from this checkout, in `tmp_path`."""

    def run(args: list[str], tmp_path: Path, stdin: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SOTABOT_")}
        environ.update(
            SOTABOT_DATABASE__URL=f"sqlite:///{tmp_path / 'sotabot.db'}",
            SOTABOT_SERVER__PORT="0",  # the health endpoint still starts, on a free port
            PYTHONPATH=str(repo_root),
            PYTHONUNBUFFERED="1",
            COLUMNS="140",
            **env,
        )
        return subprocess.run(
            [sys.executable, "-m", "sotabot.bot.cli", *args],
            input=stdin, capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=RUN_TIMEOUT,
            check=False,
        )

    return run


def test_run_on_a_fresh_machine_answers_sota_in_the_terminal_and_exits_on_quit(tmp_path, sotabot):
    # an empty directory: no database, no config, no token; the starter leaderboards load on start
    result = sotabot(["run"], tmp_path, "/sota image classification\nquit\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Image Classification")
    assert "ranked by" in result.stdout
    ranks = re.findall(r"^\s*(\d+)\s+\S.*\d", result.stdout, flags=re.MULTILINE)
    assert ranks[:3] == ["1", "2", "3"]  # a leaderboard, best first
    assert "terminal chat" in result.stderr  # which platforms run is logged
    assert "Traceback" not in result.stderr


def test_run_on_a_fresh_machine_answers_object_detection_from_the_starter_claims(tmp_path, sotabot):
    result = sotabot(["run"], tmp_path, "/sota object detection\nquit\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Object Detection")
    assert re.search(r"^1\s+DINO\b", result.stdout, flags=re.MULTILINE)
    assert "? unverified claim" in result.stdout  # claims from abstracts are flagged as such
    assert "Traceback" not in result.stderr


def test_run_with_stdin_at_end_of_input_exits_zero(tmp_path, sotabot):
    result = sotabot(["run"], tmp_path, "")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_run_never_logs_secrets(tmp_path, sotabot):
    secret = "xoxb-very-secret-value-123"
    result = sotabot(["run"], tmp_path, "", SOTABOT_SLACK__BOT_TOKEN=secret)
    # a bot token without an app token is a half-configured Slack: a clear error naming the key
    assert result.returncode == 2
    assert "slack.app_token" in result.stderr
    assert secret not in result.stderr + result.stdout


def test_discord_invite_url_prints_the_install_url(tmp_path, sotabot):
    result = sotabot(["discord", "invite-url"], tmp_path, "", SOTABOT_DISCORD__APPLICATION_ID="123456789012345678")
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("https://discord.com/oauth2/authorize?client_id=123456789012345678&scope=bot+applications.commands")
    assert "&permissions=" in url


def test_discord_invite_url_without_an_application_id_says_what_to_set(tmp_path, sotabot):
    result = sotabot(["discord", "invite-url"], tmp_path, "")
    assert result.returncode == 1
    assert "discord.application_id" in result.stderr
    assert "Traceback" not in result.stderr
