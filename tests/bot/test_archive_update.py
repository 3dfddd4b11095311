"""`sotabot run` and the full archive: one line saying how to load it while only the starter set is
there, nothing once the archive is in, and with auto_update the update itself as a background task."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from sotabot.bot.archive_update import attach
from sotabot.bot.settings import Config
from sotabot.sources.archive.starter import ensure_starter_data
from sotabot.sources.archive.state import starter_only
from sotabot.sources.archive.tables import import_tables
from sotabot.storage.models import Result, SourceState
from tests.bot.cli.test_data import TABLES, hub, shards  # noqa: F401 - the local Hub fixtures


@dataclass
class _Service:
    """What attach() uses of the Service: its engine, config and add_task."""

    engine: Any
    config: Config
    tasks: list[tuple[str, Any]] = field(default_factory=list)

    def add_task(self, name: str, task: Any) -> None:
        self.tasks.append((name, task))


def _results(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Result)).one()[0]


def test_with_only_the_starter_set_run_says_how_to_load_the_archive(engine, caplog):
    ensure_starter_data(engine)
    assert starter_only(engine)
    service = _Service(engine, Config())
    with caplog.at_level(logging.INFO, logger="sotabot.bot.archive_update"):
        attach(service)
    lines = [r.getMessage() for r in caplog.records if "sotabot data update" in r.getMessage()]
    assert len(lines) == 1 and "starter set" in lines[0]
    assert service.tasks == []


def test_once_an_archive_file_is_imported_by_hand_nothing_is_said(engine, caplog, tmp_path, monkeypatch):
    from sotabot.bot.cli import main

    ensure_starter_data(engine)
    dump = tmp_path / "tables.json"
    rows = [{"model_name": "M", "paper_url": "https://arxiv.org/abs/2101.00001", "metrics": {"Accuracy": "90"}}]
    sota = {"metrics": ["Accuracy"], "rows": rows}
    dump.write_text(json.dumps([{"task": "New Task", "datasets": [{"dataset": "New Set", "sota": sota}]}]))
    import_tables(engine, dump)  # the importer alone records nothing...
    assert starter_only(engine)
    dump.write_text(dump.read_text().replace("New", "Other"))
    monkeypatch.setenv("SOTABOT_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    assert main(["import", "pwc-tables", str(dump)]) == 0  # ...the command does
    assert not starter_only(engine)
    with caplog.at_level(logging.INFO, logger="sotabot.bot.archive_update"):
        attach(_Service(engine, Config()))
    assert not [r for r in caplog.records if "sotabot data update" in r.getMessage()]


def test_auto_update_runs_the_update_as_a_background_task(engine, hub):  # noqa: F811
    ensure_starter_data(engine)
    before = _results(engine)
    config = Config()
    config.sources.archive.auto_update = True
    service = _Service(engine, config)
    attach(service)
    [(name, task)] = service.tasks
    assert name == "archive-update"
    asyncio.run(task(asyncio.Event()))
    assert _results(engine) >= before  # the starter set is a slice of these same tables
    assert not starter_only(engine)
    with Session(engine) as s:
        state = s.exec(select(SourceState).where(SourceState.source == f"archive:{TABLES}")).scalar_one()
    assert state.cursor and state.last_error is None
    assert hub.requests_to(f"/api/datasets/{TABLES}/revision/main")


def test_a_failed_background_update_is_logged_and_the_service_goes_on(engine, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    config = Config()
    config.sources.archive.auto_update = True
    service = _Service(engine, config)
    attach(service)
    with caplog.at_level(logging.ERROR, logger="sotabot.bot.archive_update"):
        asyncio.run(service.tasks[0][1](asyncio.Event()))  # returns instead of raising
    assert any(TABLES in r.getMessage() for r in caplog.records)
