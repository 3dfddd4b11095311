"""One benchmark per dataset, one task per task, one row per result: spellings of one dataset within
a task are one benchmark (and a later import of either spelling lands there), a task named by a
curated alias of an existing task joins it and keeps its name as an alias, HTML entities are decoded
and a row without a model is named after its paper."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, select

from sotabot.bot.lookup.resolve import resolve_task, search_tasks
from sotabot.bot.settings import Config
from sotabot.sources.archive.starter import ensure_starter_data, load_starter_claims
from sotabot.sources.archive.tables import import_tables
from sotabot.sources.normalise.variants import dataset_key, metric_key
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


def test_metric_keys_join_the_names_of_one_quantity_only_within_their_task():
    assert metric_key("WER", "speech-recognition") == metric_key("Percentage error", "speech-recognition")
    assert metric_key("Word Error Rate (WER)", "speech-recognition") == metric_key("WER", "speech-recognition")
    assert metric_key("Percentage error", "image-classification") != metric_key("WER", "image-classification")
    assert dataset_key("PTB", "language-modelling") == dataset_key(
        "Penn Treebank (Perplexity when parsing English sentences)", "language-modelling"
    )
    assert dataset_key("PTB", "part-of-speech-tagging") != dataset_key("Penn Treebank (Word Level)", "")


def test_on_the_starter_set_librispeech_is_one_board_per_split_whatever_the_metric_is_called(engine):
    """The archive's "librispeech WER testclean" (Percentage error) and the claims' "LibriSpeech
    test-clean" (WER) are one benchmark, shown under the readable spelling."""
    ensure_starter_data(engine, Config())
    names = _benchmarks(engine, "speech-recognition")
    assert "librispeech WER testclean" not in names and "librispeech WER testother" not in names
    assert (names["LibriSpeech test-clean"], names["LibriSpeech test-other"]) == (5 + 2, 4 + 2)


def test_on_the_starter_set_ptb_is_the_penn_treebank_board_of_language_modelling(engine):
    ensure_starter_data(engine, Config())
    names = _benchmarks(engine, "language-modelling")
    assert "PTB" not in names
    assert names["Penn Treebank (Perplexity when parsing English sentences)"] == 16 + 5 - 2  # two rows in both


def test_on_the_starter_set_a_task_without_a_table_named_by_an_alias_is_that_task(engine):
    """NLP-progress's "Automatic speech recognition (ASR)" has no table: it is Speech Recognition, not an
    empty task `sotabot tasks asr` offers."""
    ensure_starter_data(engine, Config())
    with Session(engine) as s:
        assert s.exec(select(Task).where(Task.slug == "automatic-speech-recognition-asr")).first() is None
        assert [t.slug for t in search_tasks(s, "asr")] == ["speech-recognition"]
        assert resolve_task(s, "Automatic speech recognition (ASR)").task.slug == "speech-recognition"


def test_a_claim_joins_the_stored_board_of_its_dataset_and_the_board_declares_its_metric(engine, tmp_path):
    import_tables(engine, _dump(tmp_path, "a.json", [_table("Question Answering", "SQuAD1.1", [
        _row("BERT", "85.1", "1810.04805"),
    ])]))
    claim = {"task": "Question Answering", "dataset": "SQuAD v1.1", "metric": "F1", "value": 93.2, "raw": "93.2",
             "model": "XLNet", "arxiv_id": "1906.08237", "paper_title": "XLNet", "evidence": "93.2 F1."}
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps({"claims": [claim]}))
    assert load_starter_claims(engine, claims) == 1
    assert _benchmarks(engine, "question-answering") == {"SQuAD1.1": 2}
    with Session(engine) as s:
        qa = s.exec(select(Task).where(Task.slug == "question-answering")).one()
        board = leaderboard(s, qa.id, dataset="SQuAD1.1", metric="F1")
    assert [(r.model, r.value, r.verified) for r in board.rows] == [("XLNet", 93.2, False), ("BERT", None, True)]

