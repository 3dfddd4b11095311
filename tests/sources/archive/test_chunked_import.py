"""A long import commits chunk by chunk: others write between its chunks, and a failure still leaves nothing.

Before, a file was one transaction: SQLite's only write lock was held for the whole file
(89 s for a full archive), and everything else waiting on it failed with "database is locked".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from sotabot.sources.archive.report import ArchiveError
from sotabot.sources.archive.tables import import_tables
from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Channel
from tests.sources.archive.test_importer import snapshot

ROWS = 20_000  # four chunks of 5,000 rows, and a file of several MB (progress is reported per MB)


def _tables_file(tmp_path: Path, rows: int, bad_last: bool = False) -> Path:
    padding = "x" * 150
    records = [
        {"model_name": f"model {i}", "metrics": {"Accuracy": f"{i % 97}.5"}, "paper_title": f"Paper {i} {padding}",
         "paper_url": f"https://arxiv.org/abs/2001.{i:05d}"}
        for i in range(rows)
    ]
    if bad_last:
        records.append({"paper_title": "no model here", "metrics": {"Accuracy": "1"}})
    tasks = [{"task": "Bulk Task", "datasets": [{"dataset": "Bulk Set", "sota": {"metrics": ["Accuracy"],
                                                                                 "rows": records}}]}]
    path = tmp_path / ("bad.json" if bad_last else "bulk.json")
    path.write_text(json.dumps(tasks))
    return path


class _Neighbour:
    """Another process's writer with a short busy timeout, writing whenever the import reports progress."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url, busy_timeout=0.2)
        self.written: list[str] = []
        self.locked = 0

    def __call__(self, done: int, total: int | None, phase: str) -> None:
        name = f"C{len(self.written) + self.locked}"
        try:
            with Session(self.engine) as session:
                session.add(Channel(platform="slack", workspace="T", channel=name))
                session.commit()
        except OperationalError:  # "database is locked": the import held the write lock
            self.locked += 1
        else:
            self.written.append(name)


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'chunks.db'}"
    upgrade(make_engine(url))
    return url


def test_another_writer_gets_in_between_the_chunks_of_a_long_import(url, tmp_path):
    engine = make_engine(url)
    neighbour = _Neighbour(url)
    report = import_tables(engine, _tables_file(tmp_path, ROWS), progress=neighbour)
    assert report.inserted["results"] == ROWS
    assert report.transactions >= ROWS // 5000  # a chunk at a time, not one transaction for the file
    assert len(neighbour.written) >= 3 and neighbour.locked == 0, (neighbour.written, neighbour.locked)


def test_a_file_that_fails_after_committed_chunks_is_undone_but_what_others_wrote_meanwhile_stays(url, tmp_path):
    engine = make_engine(url)
    import_tables(engine, _tables_file(tmp_path, 10))  # something already stored, to prove it is kept
    before = snapshot(engine)
    neighbour = _Neighbour(url)
    with pytest.raises(ArchiveError, match=f"row {ROWS}") as err:
        import_tables(engine, _tables_file(tmp_path, ROWS, bad_last=True), progress=neighbour)
    assert err.value.rolled_back
    after = snapshot(engine)
    assert [row[3] for row in after.pop("channels")] == neighbour.written and neighbour.written
    before.pop("channels")
    assert after == before  # every committed chunk was undone; the import's run and log are gone too
