"""Starter leaderboards: real data loaded into an empty database, so `sotabot sota` answers offline.

The file shipped in the package (`sources/data/starter-tables.json.gz`, rebuilt by
`python -m bench.build_starter`) holds the sota-extractor task files (136 tasks, 272
benchmarks, 3,727 results once imported; Apache-2.0). It is imported once, the first time a
database with no tasks is opened; a database that already has tasks (from the archive or a
poll) is never touched. Two processes starting together are serialised by the importer's
writer lock, and the second import changes nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from sources.pwc_archive import ArchiveError, import_tables
from storage.models import Task

log = logging.getLogger(__name__)

STARTER_FILE = Path(__file__).with_name("data") / "starter-tables.json.gz"


def has_tasks(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(Task.id).limit(1)).first() is not None  # type: ignore[arg-type]


def ensure_starter_data(engine: Engine, config: Any = None, path: Path = STARTER_FILE) -> bool:
    """Import the starter leaderboards when the database has no tasks; True if it did."""
    if has_tasks(engine):
        return False
    if not path.exists():
        log.warning("starter leaderboards not found at %s; the database stays empty", path)
        return False
    try:
        report = import_tables(engine, path, config)
    except ArchiveError as exc:  # a broken package must not stop the bot from starting
        log.error("starter leaderboards not loaded: %s", exc)
        return False
    log.info(
        "loaded the starter leaderboards: %d tasks, %d benchmarks, %d results",
        report.inserted.get("tasks", 0), report.inserted.get("benchmarks", 0), report.inserted.get("results", 0),
    )
    return report.changed
