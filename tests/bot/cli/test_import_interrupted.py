"""`sotabot import` killed mid-file: the chunks it committed are undone by the next command.

An import commits chunk by chunk (so the service can write between chunks); a SIGKILL, an OOM
kill or a power cut after some chunks would otherwise leave half a file behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from sotabot.bot.cli import main
from sotabot.storage.imports import import_running
from sotabot.storage.models import ImportUndo
from tests.bot.cli.test_archive import snapshot
from tests.bot.test_run_busy_database import _links_file

ROOT = Path(__file__).resolve().parents[3]


def _gone(engine) -> None:
    """Wait until the killed importer's lock is released: at once for a file lock, as soon as
    PostgreSQL notices the closed connection for an advisory lock."""
    deadline = time.monotonic() + 10
    while import_running(engine) and time.monotonic() < deadline:
        time.sleep(0.05)


def _logged_chunks(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ImportUndo)).scalar_one()


def _import_until(engine, db_url: str, links: Path, chunks: int) -> subprocess.Popen:
    """`sotabot import pwc-links` in a process of its own, returned once `chunks` writes are committed."""
    env = {**os.environ, "SOTABOT_DATABASE__URL": db_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sotabot.bot.cli", "import", "pwc-links", str(links)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _logged_chunks(engine) < chunks and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the import finished before it could be caught mid-file"
    return proc


def test_an_import_killed_after_committed_chunks_is_undone_by_the_next_command(db, db_url, tmp_path, capsys):
    assert main(["status"]) == 0  # a database as a user has it: migrated, starter leaderboards loaded
    capsys.readouterr()
    before = snapshot(db)
    proc = _import_until(db, db_url, _links_file(tmp_path / "links.json", 200_000), chunks=4)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert snapshot(db) != before  # committed chunks are there: half a file
    _gone(db)
    assert main(["status"]) == 0  # any command's start undoes what no live importer holds
    assert snapshot(db) == before


def test_status_shows_a_live_import_and_the_leaderboard_syncs_it_holds_back(db, db_url, tmp_path, capsys):
    import json

    links = _links_file(tmp_path / "links.json", 200_000)
    assert main(["status"]) == 0
    capsys.readouterr()
    proc = _import_until(db, db_url, links, chunks=2)
    try:
        assert main(["status", "--json"]) == 0
        live = json.loads(capsys.readouterr().out)["imports"]
        assert main(["status"]) == 0
        text = capsys.readouterr().out
    finally:
        proc.kill()
        proc.wait(timeout=10)
    _gone(db)
    assert [(run["kind"], run["source"]) for run in live] == [("pwc-links", str(links))]
    assert live[0]["writes_logged"] >= 2
    assert f"Import running: pwc-links {links}" in text and "leaderboard syncs wait for it" in text
    assert main(["status", "--json"]) == 0  # killed: undone at this command's start, nothing running
    assert json.loads(capsys.readouterr().out)["imports"] == []
