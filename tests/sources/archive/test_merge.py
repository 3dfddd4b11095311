"""One benchmark per dataset, one task per task, one row per result: spellings of one dataset within
a task are one benchmark (and a later import of either spelling lands there), a task named by a
curated alias of an existing task joins it and keeps its name as an alias, HTML entities are decoded
and a row without a model is named after its paper."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select

from sotabot.bot.lookup.resolve import resolve_task, search_tasks
from sotabot.bot.settings import Config
from sotabot.sources.archive.starter import ensure_starter_data, load_starter_claims
from sotabot.sources.archive.tables import import_tables
from sotabot.sources.normalise.variants import dataset_key, metric_key
from sotabot.storage.leaderboards import leaderboard
from sotabot.storage.models import Benchmark, Dataset, Result, ResultValue, Task


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
    assert metric_key("Q->AR") != metric_key("QA->R") and metric_key("ROUGE-2*") != metric_key("ROUGE-2")
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


def _bleu(model: str, bleu: str, arxiv: str) -> dict:
    return {"model_name": model, "metrics": {"BLEU": bleu}, "paper_url": f"https://arxiv.org/abs/{arxiv}"}


def _mt(dataset: str, rows: list[dict]) -> dict:
    return {"task": "Machine Translation", "datasets": [{"dataset": dataset, "sota": {"metrics": ["BLEU"],
                                                                                      "rows": rows}}]}


def _models(engine) -> list[str]:
    with Session(engine) as s:
        return sorted(s.exec(select(Result.model)).all())


@pytest.mark.parametrize("order", ["year first", "plain first"])
def test_a_model_named_with_its_year_by_another_export_is_the_same_result(engine, tmp_path, order):
    """One NLP-progress export writes "Transformer Big + BT (2018)", another "Transformer Big + BT": same
    paper, same value, one row, named without the year whichever came first."""
    with_year = _mt("WMT 2014 EN-DE", [_bleu("Transformer Big + BT (2018)", "35.0", "1808.09381")])
    plain = _mt("WMT2014 English-German", [_bleu("Transformer Big + BT", "35.0", "1808.09381")])
    files = [_dump(tmp_path, "a.json", [with_year]), _dump(tmp_path, "b.json", [plain])]
    if order == "plain first":
        files.reverse()
    for path in files:
        import_tables(engine, path)
    assert _models(engine) == ["Transformer Big + BT"]
    for path in files:  # either file again: nothing changes
        assert not import_tables(engine, path).changed
    assert _models(engine) == ["Transformer Big + BT"]


def test_both_spellings_in_one_file_are_one_row(engine, tmp_path):
    rows = [_bleu("RNMT+ (2018)", "28.5*", "1804.09849"), _bleu("RNMT+", "28.5*", "1804.09849"),
            _bleu("RNMT+ (2018)", "28.5*", "1804.09849")]
    report = import_tables(engine, _dump(tmp_path, "a.json", [_mt("WMT 2014 EN-DE", rows)]))
    assert _models(engine) == ["RNMT+"]
    assert report.duplicates == 2


def test_a_year_spelling_with_other_values_or_without_a_paper_stays_apart(engine, tmp_path):
    rows = [
        _bleu("Transformer Big (2018)", "29.3", "1806.00187"), _bleu("Transformer Big", "28.4", "1806.00187"),
        {"model_name": "DeepL (2017)", "metrics": {"BLEU": "33.3"}},  # no paper: nothing says they are one
        {"model_name": "DeepL", "metrics": {"BLEU": "33.3"}},
    ]
    import_tables(engine, _dump(tmp_path, "a.json", [_mt("WMT 2014 EN-DE", rows)]))
    assert _models(engine) == ["DeepL", "DeepL (2017)", "Transformer Big", "Transformer Big (2018)"]


def test_on_the_starter_set_the_wmt2014_board_lists_each_result_once(engine):
    ensure_starter_data(engine, Config())
    with Session(engine) as s:
        mt = s.exec(select(Task).where(Task.slug == "machine-translation")).one()
        board = leaderboard(s, mt.id, dataset="WMT2014 English-German", limit=100)
    models = [r.model for r in board.rows]
    assert models[:2] == ["Transformer Big + BT", "DeepL"]
    keys = [(r.paper_url, r.raw) for r in board.rows if r.verified]  # (a claim names its model its own way)
    assert len(keys) == len(set(keys)) == 11  # no paper with one value twice: nlpprogress's 8 rows are in there
    assert "Transformer Big + BT (2018)" not in models and "RNMT+ (2018)" not in models


def test_the_spelling_without_the_year_writes_the_row_and_the_other_overwrites_nothing(engine, tmp_path):
    first = _bleu("DPCNN (2017)", "30.0", "1701.00001") | {"paper_title": "Deep pyramid"}
    second = _bleu("DPCNN", "30.0", "1701.00001") | {"paper_title": "Deep Pyramid CNN",
                                                     "code_links": [{"url": "https://github.com/riejohnson/ConText"}]}
    a = _dump(tmp_path, "a.json", [_mt("WMT 2014 EN-DE", [first])])
    b = _dump(tmp_path, "b.json", [_mt("WMT 2014 EN-DE", [second])])
    for order in ((a, b), (b, a)):
        with Session(engine) as s:
            for table in (ResultValue, Result):
                for row in s.exec(select(table)).all():
                    s.delete(row)
            s.commit()
        for path in order:
            import_tables(engine, path)
        with Session(engine) as s:
            result = s.exec(select(Result)).one()
        assert (result.model, result.paper_title, result.code_url) == (
            "DPCNN", "Deep Pyramid CNN", "https://github.com/riejohnson/ConText"
        ), order
        for path in (a, b):
            assert not import_tables(engine, path).changed
