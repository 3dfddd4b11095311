"""One benchmark per dataset, one task per task, one row per result: spellings of one dataset within
a task are one benchmark (and a later import of either spelling lands there), a task named by a
curated alias of an existing task joins it and keeps its name as an alias, HTML entities are decoded
and a row without a model is named after its paper."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, select

from sotabot.bot.lookup.resolve import resolve_task
from sotabot.bot.settings import Config
from sotabot.sources.archive.starter import ensure_starter_data
from sotabot.sources.archive.tables import import_tables
from sotabot.sources.normalise.variants import dataset_key
from sotabot.storage.leaderboards import leaderboard
from sotabot.storage.models import Benchmark, Dataset, Result, Task


def _dump(tmp_path: Path, name: str, tasks: list[dict]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(tasks))
    return path


def _table(task: str, dataset: str, rows: list[dict]) -> dict:
    return {"task": task, "datasets": [{"dataset": dataset, "sota": {"metrics": ["EM"], "rows": rows}}]}


def _row(model: str, em: str, arxiv: str, title: str = "A paper") -> dict:
    return {"model_name": model, "metrics": {"EM": em}, "paper_url": f"https://arxiv.org/abs/{arxiv}",
            "paper_title": title}


def _benchmarks(engine, task_slug: str) -> dict[str, int]:
    with Session(engine) as s:
        rows = s.exec(
            select(Dataset.name, Benchmark.result_count)
            .join(Benchmark, Benchmark.dataset_id == Dataset.id)
            .join(Task, Task.id == Benchmark.task_id)
            .where(Task.slug == task_slug)
        ).all()
    return dict(rows)


def test_dataset_keys_ignore_case_punctuation_spacing_and_a_version_v():
    assert dataset_key("SQuAD1.1") == dataset_key("SQuAD v1.1") == dataset_key("squad 1.1")
    assert dataset_key("LibriSpeech test-clean") == dataset_key("librispeech WER testclean")
    assert dataset_key("WMT 2014 EN-DE") == dataset_key("WMT2014 English-German")
    assert dataset_key("CIFAR-10") != dataset_key("CIFAR-100")


def test_spellings_of_one_dataset_are_one_benchmark_now_and_in_later_imports(engine, tmp_path):
    first = _dump(tmp_path, "a.json", [_table("Question Answering", "SQuAD1.1", [_row("BERT", "85.1", "1810.04805")])])
    import_tables(engine, first)
    later = _dump(tmp_path, "b.json", [_table("Question Answering", "SQuAD v1.1", [
        _row("BERT", "85.1", "1810.04805"),  # the same result again: one row
        _row("XLNet", "89.9", "1906.08237"),
    ])])
    report = import_tables(engine, later)
    assert _benchmarks(engine, "question-answering") == {"SQuAD1.1": 2}
    assert report.seen["merged datasets"] == 1
    assert not import_tables(engine, later).changed  # idempotent, the merge is no change


def test_a_task_named_by_an_alias_joins_the_task_and_keeps_its_name(engine, tmp_path):
    speech = [_table("Speech Recognition", "TIMIT", [_row("A", "1", "2101.00001")])]
    import_tables(engine, _dump(tmp_path, "a.json", speech))
    import_tables(engine, _dump(tmp_path, "b.json", [_table("ASR", "TIMIT", [_row("B", "2", "2101.00002")])]))
    with Session(engine) as s:
        assert s.exec(select(Task.slug)).all() == ["speech-recognition"]
        assert resolve_task(s, "ASR").task.slug == "speech-recognition"
    assert _benchmarks(engine, "speech-recognition") == {"TIMIT": 2}


def test_html_entities_are_decoded_and_a_row_without_a_model_is_named_after_its_paper(engine, tmp_path):
    rows = [_row("R&amp;D Net", "1", "2101.00001"), _row("", "2", "2101.00002", title="Deep &quot;Nets&quot;")]
    import_tables(engine, _dump(tmp_path, "a.json", [_table("Question Answering", "QA Set", rows)]))
    with Session(engine) as s:
        models = set(s.exec(select(Result.model)).all())
    assert models == {"R&D Net", 'Deep "Nets"'}


def test_on_the_starter_set_squad_is_one_benchmark_per_version_and_asr_is_speech_recognition(engine):
    ensure_starter_data(engine, Config())
    names = _benchmarks(engine, "question-answering")
    assert "SQuAD1.1" in names and "SQuAD v1.1" not in names and "SQuAD v2.0" not in names
    with Session(engine) as s:
        assert s.exec(select(Task).where(Task.slug == "asr")).first() is None
        assert resolve_task(s, "asr").task.slug == "speech-recognition"
        qa = s.exec(select(Task).where(Task.slug == "question-answering")).one()
        board = leaderboard(s, qa.id, dataset="SQuAD1.1", metric="F1", limit=500)
    assert any(not row.verified for row in board.rows)  # the abstract claims joined the archive's board
