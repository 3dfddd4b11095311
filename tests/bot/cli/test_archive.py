"""`sotabot import ...`: a summary line per file; bad input is one line on stderr, a non-zero
exit, and the database exactly as it was."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from sotabot.bot.cli import main
from sotabot.storage.models import Paper, PaperRepo, Result, Task


@pytest.fixture(scope="module")
def snli(fixture_files) -> Path:
    return fixture_files.pwc_tables / "snli.json"


@pytest.fixture(scope="module")
def squad(fixture_files) -> Path:
    return fixture_files.pwc_tables / "squad.json"


def snapshot(engine) -> dict[str, list[tuple]]:
    out = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            out[table.name] = [tuple(r) for r in conn.execute(table.select().order_by(*table.primary_key.columns))]
    return out


def count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()[0]


def test_import_tables_prints_a_summary_and_stores_the_leaderboards(db, capsys, snli):
    assert main(["import", "pwc-tables", str(snli)]) == 0
    out = capsys.readouterr().out
    assert str(snli) in out and "64 results" in out
    assert count(db, Task) == 1  # the starter leaderboards are not mixed into an archive import
    assert count(db, Result) == 64


def test_import_accepts_several_files_and_gzip(db, tmp_path, capsys, snli, fixture_files):
    packed = tmp_path / "ogb.json.gz"
    packed.write_bytes(gzip.compress((fixture_files.pwc_tables / "ogb.json").read_bytes()))
    assert main(["import", "pwc-tables", str(snli), str(packed)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and str(packed) in lines[1]
    assert count(db, Task) == 4


def test_import_links_and_papers(db, capsys, fixture_files):
    upstream = fixture_files.upstream
    assert main(["import", "pwc-papers", str(upstream / "pwc_papers_with_abstracts_first_entry.json")]) == 0
    assert main(["import", "pwc-links", str(upstream / "pwc_links_between_papers_and_code_excerpts.json")]) == 0
    assert count(db, Paper) == 5
    assert count(db, PaperRepo) == 4


def test_reimporting_changes_nothing(db, capsys, snli):
    assert main(["import", "pwc-tables", str(snli)]) == 0
    before = snapshot(db)
    assert main(["import", "pwc-tables", str(snli)]) == 0
    assert "new nothing" in capsys.readouterr().out.splitlines()[-1]
    assert snapshot(db) == before


def _bad_files(tmp_path, squad: Path):
    """Broken inputs by case, written to `tmp_path`; two are cut from the real `squad` dump."""
    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(squad.read_bytes()[:40_000])
    not_json = tmp_path / "notes.json"
    not_json.write_text("these are my notes, not a dump\n")
    no_model = tmp_path / "no-model.json"
    no_model.write_text(json.dumps([{"task": "Image Classification", "datasets": [{"dataset": "ImageNet", "sota": {
        "metrics": ["Top-1 Accuracy"],
        "rows": [{"model_name": "ViT-H", "metrics": {"Top-1 Accuracy": "88.5"}},
                 {"paper_title": "Anonymous", "metrics": {"Top-1 Accuracy": "90.1"}}]}}]}]))
    cut_gzip = tmp_path / "cut.json.gz"
    packed = gzip.compress(squad.read_bytes())
    cut_gzip.write_bytes(packed[: len(packed) // 2])
    return {
        "truncated": (truncated, "truncated or invalid JSON"),
        "not-json": (not_json, "not JSON"),
        "no-model-name": (no_model, "row 1: row has no model name"),
        "cut-gzip": (cut_gzip, "truncated or corrupt gzip"),
        "missing": (tmp_path / "does-not-exist.json.gz", "no such file"),
    }


@pytest.mark.parametrize("case", ["truncated", "not-json", "no-model-name", "cut-gzip", "missing"])
def test_bad_input_is_one_line_a_non_zero_exit_and_nothing_changes(db, tmp_path, capsys, case, snli, squad):
    assert main(["import", "pwc-tables", str(snli)]) == 0
    capsys.readouterr()
    before = snapshot(db)
    path, problem = _bad_files(tmp_path, squad)[case]
    assert main(["import", "pwc-tables", str(path)]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sotabot: import pwc-tables: ") and str(path) in lines[0] and problem in lines[0]
    assert "Traceback" not in err
    assert snapshot(db) == before


def test_a_bad_file_after_a_good_one_keeps_the_good_one(db, tmp_path, capsys, snli, squad):
    path, _ = _bad_files(tmp_path, squad)["no-model-name"]
    assert main(["import", "pwc-tables", str(snli), str(path)]) == 1
    captured = capsys.readouterr()
    assert str(snli) in captured.out
    assert count(db, Result) == 64


def test_an_unknown_dump_kind_is_a_usage_error(db, capsys, snli):
    with pytest.raises(SystemExit) as exit_:
        main(["import", "pwc-everything", str(snli)])
    assert exit_.value.code == 2
