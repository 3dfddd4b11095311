"""Import runs: one importer at a time, and an undo log that puts back exactly what a run changed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from sotabot.sources.archive.writer import T_PAPER, T_TASK, ArchiveDb
from sotabot.storage import imports
from sotabot.storage.models import ImportRun, ImportUndo, Paper, Task
from tests.sources.archive.test_importer import snapshot


def _seed(engine) -> None:
    with Session(engine) as s:
        s.add(Task(slug="kept", name="Kept", area=None))
        s.add(Paper(arxiv_id="2101.00001", title="", authors=[], published=datetime(2021, 1, 1, tzinfo=UTC)))
        s.commit()


def _half_done_run(engine) -> int:
    """A run that committed two chunks: inserted a task and a paper, overwrote a paper's fields."""
    run_id = imports.start_run(engine, "pwc-test", "test.json")
    with engine.connect() as conn:
        db = ArchiveDb(conn, run_id)
        with db.chunk():
            (tid,) = db.take_ids(T_TASK, 1)
            db.insert(T_TASK, ("id", "slug", "name", "area", "description"), [(tid, "new", "New", None, None)])
        with db.chunk():
            (pid,) = conn.execute(select(T_PAPER.c.id).where(T_PAPER.c.arxiv_id == "2101.00001")).one()
            db.update(
                T_PAPER, ("title", "authors", "published"),
                [("Filled", ["A. Author"], datetime(2022, 2, 2, tzinfo=UTC), pid)],
            )
    return run_id


def test_undoing_a_run_puts_back_every_row_it_inserted_or_overwrote_and_forgets_the_run(engine):
    _seed(engine)
    before = snapshot(engine)
    run_id = _half_done_run(engine)
    assert snapshot(engine) != before  # the chunks were committed: others could see them
    assert imports.undo_run(engine, run_id) == 2
    assert snapshot(engine) == before  # dates, JSON lists and empty strings come back as they were


def test_a_run_a_crash_left_running_is_undone_by_the_next_importer_and_a_done_one_kept(engine):
    _seed(engine)
    before = snapshot(engine)
    _half_done_run(engine)  # never finished: what a SIGKILL leaves
    with imports.import_lock(engine):
        messages = imports.recover(engine)
    assert len(messages) == 1 and "interrupted pwc-test import of test.json was undone" in messages[0]
    assert snapshot(engine) == before

    run_id = _half_done_run(engine)
    with engine.begin() as conn:
        imports.finish_run(conn, run_id)  # done, but the crash came before its log was dropped
    after = snapshot(engine)
    assert imports.recover_if_idle(engine) == []
    with Session(engine) as s:
        assert s.exec(select(ImportRun)).all() == [] and s.exec(select(ImportUndo)).all() == []
        assert s.exec(select(Task.slug).where(Task.slug == "new")).all() == ["new"]  # a done run stays
    assert {k: v for k, v in snapshot(engine).items() if not k.startswith("import")} == {
        k: v for k, v in after.items() if not k.startswith("import")
    }


@pytest.mark.parametrize("reference", ["event", "alias"])
def test_a_row_others_came_to_depend_on_is_kept_with_what_refers_to_it_when_its_run_is_undone(engine, reference):
    # an alias refers to its task ON DELETE CASCADE: deleting the task would silently take it along
    from sotabot.storage.models import ResultEvent, TaskAlias

    _seed(engine)
    run_id = _half_done_run(engine)
    with Session(engine) as s:  # written meanwhile by another writer
        new = s.exec(select(Task).where(Task.slug == "new")).one()
        if reference == "event":
            s.add(ResultEvent(kind="new_result", dedupe_key="k", task_id=new.id))
        else:
            s.add(TaskAlias(alias="brand new", task_id=new.id, source="curated"))
        s.commit()
    imports.undo_run(engine, run_id)
    with Session(engine) as s:
        assert s.exec(select(Task.slug).where(Task.slug == "new")).all() == ["new"]
        assert len(s.exec(select(ResultEvent)).all()) + len(s.exec(select(TaskAlias)).all()) == 1
        assert s.exec(select(Paper.title)).all() == [""]  # the rest of the run is undone
        assert s.exec(select(ImportRun)).all() == []


def test_one_importer_at_a_time_and_the_lock_says_who_is_live(engine):
    assert not imports.import_running(engine)
    with imports.import_lock(engine):
        assert imports.import_running(engine)
        with pytest.raises(imports.ImportBusy), imports.import_lock(engine, wait=False):
            pass
        assert imports.recover_if_idle(engine) == []  # a live importer's run is never undone
    assert not imports.import_running(engine)


def test_a_write_outside_a_chunk_is_refused_rather_than_left_without_undo(engine):
    run_id = imports.start_run(engine, "pwc-test", "test.json")
    with engine.connect() as conn:
        db = ArchiveDb(conn, run_id)
        with pytest.raises(RuntimeError, match=r"outside ArchiveDb\.chunk"):
            db.insert(T_TASK, ("id", "slug", "name", "area", "description"), [(99, "x", "X", None, None)])


def test_undo_log_values_keep_their_types():
    values = [datetime(2020, 1, 2, 3, 4, tzinfo=UTC), date(2020, 1, 2), ["a", "b"], {"k": [1]}, None, True, 1.5, ""]
    assert imports._decode(imports._encode(values)) == values
