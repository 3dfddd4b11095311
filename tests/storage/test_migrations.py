"""Migration 0002 merges what an older importer stored apart: benchmarks of one task on spellings of
one dataset become one, a task named by a curated alias joins its task (subscriptions follow, the
old name stays an alias), only exact duplicates are dropped, a second run changes nothing and a
later import of the old spelling lands in the merged benchmark."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from sotabot.sources.archive.tables import import_tables
from sotabot.storage.db import current_revision, head_revision, make_engine, upgrade
from sotabot.storage.models import (
    Benchmark,
    BenchmarkMetric,
    Channel,
    Dataset,
    Metric,
    Result,
    ResultValue,
    Subscription,
    Task,
    TaskAlias,
)


def _benchmark(s: Session, task: Task, name: str, metric: Metric) -> Benchmark:
    dataset = Dataset(name=name)
    s.add(dataset)
    s.flush()
    bench = Benchmark(task_id=task.id, dataset_id=dataset.id, primary_metric_id=metric.id)
    s.add(bench)
    s.flush()
    s.add(BenchmarkMetric(benchmark_id=bench.id, metric_id=metric.id, position=0))
    return bench


def _result(s: Session, bench: Benchmark, metric: Metric, model: str, arxiv: str, value: float, day: date) -> None:
    result = Result(benchmark_id=bench.id, model=model, paper_key=arxiv, result_date=day,
                    paper_url=f"https://arxiv.org/abs/{arxiv}")
    s.add(result)
    s.flush()
    s.add(ResultValue(result_id=result.id, metric_id=metric.id, value=value, raw=str(value)))
    bench.result_count += 1
    bench.last_result_date = max(filter(None, [bench.last_result_date, day]))


def _old_database(url: str) -> None:
    """At revision 0001, the duplicates an older importer left: two SQuAD spellings, a task 'ASR'."""
    engine = make_engine(url)
    upgrade(engine, "0001")
    with Session(engine) as s:
        em, wer = Metric(name="EM", direction="higher"), Metric(name="WER", direction="lower")
        qa = Task(slug="question-answering", name="Question Answering")
        speech = Task(slug="speech-recognition", name="Speech Recognition")
        asr = Task(slug="asr", name="ASR")
        s.add_all([em, wer, qa, speech, asr])
        s.flush()
        main = _benchmark(s, qa, "SQuAD1.1", em)
        variant = _benchmark(s, qa, "SQuAD v1.1", em)
        _result(s, main, em, "BERT", "1810.04805", 85.1, date(2018, 10, 11))
        _result(s, main, em, "RoBERTa", "1907.11692", 88.9, date(2019, 7, 26))
        _result(s, variant, em, "BERT", "1810.04805", 84.0, date(2018, 10, 11))  # the same model+paper
        _result(s, variant, em, "XLNet", "1906.08237", 89.9, date(2019, 6, 19))
        timit = _benchmark(s, speech, "TIMIT", wer)
        _result(s, timit, wer, "A", "2101.00001", 10.0, date(2021, 1, 1))
        libri = _benchmark(s, asr, "LibriSpeech test-clean", wer)
        _result(s, libri, wer, "Conformer", "2005.08100", 1.9, date(2020, 5, 16))
        channel = Channel(platform="slack", workspace="T1", channel="C1")
        s.add(channel)
        s.flush()
        s.add(Subscription(channel_id=channel.id, kind="task", target="asr"))
        s.commit()
    engine.dispose()


def _boards(s: Session) -> dict[tuple[str, str], tuple[int, date | None]]:
    rows = s.exec(
        select(Task.slug, Dataset.name, Benchmark.result_count, Benchmark.last_result_date)
        .join(Benchmark, Benchmark.task_id == Task.id)
        .join(Dataset, Dataset.id == Benchmark.dataset_id)
    ).all()
    return {(slug, name): (count, last) for slug, name, count, last in rows}


def _rows(s: Session) -> set[tuple[str, str, str, float | None]]:
    query = (
        select(Dataset.name, Result.model, Result.paper_key, ResultValue.value)
        .join(Benchmark, Benchmark.id == Result.benchmark_id)
        .join(Dataset, Dataset.id == Benchmark.dataset_id)
        .join(ResultValue, ResultValue.result_id == Result.id)
    )
    return set(s.exec(query).all())


def _snapshot(s: Session) -> tuple:
    tables = [Task, TaskAlias, Dataset, Benchmark, BenchmarkMetric, Result, ResultValue, Subscription]
    return tuple(tuple(sorted(map(tuple, s.exec(select(*t.__table__.c)).all()), key=repr)) for t in tables)


def test_an_old_database_is_merged_once_and_later_imports_land_in_the_merged_benchmark(db_url, tmp_path: Path):
    _old_database(db_url)
    engine = make_engine(db_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()  # 0002 and every later revision ran
    with Session(engine) as s:
        assert _boards(s) == {
            ("question-answering", "SQuAD1.1"): (3, date(2019, 7, 26)),
            ("speech-recognition", "TIMIT"): (1, date(2021, 1, 1)),
            ("speech-recognition", "LibriSpeech test-clean"): (1, date(2020, 5, 16)),
        }
        assert _rows(s) == {  # the kept spelling's BERT row wins over the exact duplicate
            ("SQuAD1.1", "BERT", "1810.04805", 85.1),
            ("SQuAD1.1", "RoBERTa", "1907.11692", 88.9),
            ("SQuAD1.1", "XLNet", "1906.08237", 89.9),
            ("TIMIT", "A", "2101.00001", 10.0),
            ("LibriSpeech test-clean", "Conformer", "2005.08100", 1.9),
        }
        assert s.exec(select(func.count()).select_from(ResultValue)).one() == 5
        assert "SQuAD v1.1" not in s.exec(select(Dataset.name)).all()  # no benchmark uses it any more
        assert s.exec(select(Task.slug)).all() == ["question-answering", "speech-recognition"]
        assert s.exec(select(Subscription.kind, Subscription.target)).all() == [("task", "speech-recognition")]
        speech = s.exec(select(Task.id).where(Task.slug == "speech-recognition")).one()
        assert s.exec(select(TaskAlias.task_id).where(TaskAlias.alias == "asr")).one() == speech
        before = _snapshot(s)

    upgrade(engine)  # at head already: nothing runs
    engine.dispose()
    _rerun_0002(db_url)  # and the merge itself, run again on the merged database, changes nothing
    engine = make_engine(db_url)
    with Session(engine) as s:
        assert _snapshot(s) == before

    later = tmp_path / "later.json"
    later.write_text(json.dumps([
        {"task": "Question Answering", "datasets": [{"dataset": "SQuAD v1.1", "sota": {"metrics": ["EM"], "rows": [
            {"model_name": "XLNet", "metrics": {"EM": "89.9"}, "paper_url": "https://arxiv.org/abs/1906.08237"},
            {"model_name": "T5", "metrics": {"EM": "90.1"}, "paper_url": "https://arxiv.org/abs/1910.10683",
             "paper_date": "2019-10-23"},
        ]}}]},
        {"task": "ASR", "datasets": [{"dataset": "librispeech WER testclean", "sota": {"metrics": ["WER"], "rows": [
            {"model_name": "Whisper", "metrics": {"WER": "2.7"}, "paper_url": "https://arxiv.org/abs/2212.04356"},
        ]}}]},
    ]))
    import_tables(engine, later)
    with Session(engine) as s:
        boards = _boards(s)
        assert set(boards) == {
            ("question-answering", "SQuAD1.1"),
            ("speech-recognition", "TIMIT"),
            ("speech-recognition", "LibriSpeech test-clean"),
        }
        assert boards[("question-answering", "SQuAD1.1")][0] == 4  # T5 added, XLNet the same row
        assert boards[("speech-recognition", "LibriSpeech test-clean")][0] == 2
    engine.dispose()


def test_on_a_clean_database_the_merge_changes_nothing(db_url, tmp_path: Path):
    from alembic import command

    from sotabot.storage.db import alembic_config

    engine = make_engine(db_url)
    upgrade(engine)  # today's importer needs today's schema; the data is then stepped back to 0001
    dump = tmp_path / "clean.json"
    dump.write_text(json.dumps([{"task": "Question Answering", "datasets": [
        {"dataset": "SQuAD1.1", "sota": {"metrics": ["EM"], "rows": [
            {"model_name": "BERT", "metrics": {"EM": "85.1"}, "paper_url": "https://arxiv.org/abs/1810.04805"}]}},
        {"dataset": "SQuAD2.0", "sota": {"metrics": ["EM"], "rows": [
            {"model_name": "BERT", "metrics": {"EM": "80.0"}, "paper_url": "https://arxiv.org/abs/1810.04805"}]}},
    ]}]))
    import_tables(engine, dump)
    command.downgrade(alembic_config(engine), "0001")
    with Session(engine) as s:
        before = _snapshot(s)
    upgrade(engine)
    with Session(engine) as s:
        assert _snapshot(s) == before
    engine.dispose()


def _rerun_0002(url: str) -> None:
    """Step back to 0001 (downgrade 0002 is a no-op) and apply 0002 again."""
    from alembic import command

    from sotabot.storage.db import alembic_config

    engine = make_engine(url)
    command.downgrade(alembic_config(engine), "0001")
    upgrade(engine)
    engine.dispose()


def test_a_merged_task_on_the_same_dataset_keeps_one_board_one_subscription_and_its_events(db_url):
    from sotabot.storage.models import ResultEvent

    engine = make_engine(db_url)
    upgrade(engine, "0001")
    with Session(engine) as s:
        wer = Metric(name="WER", direction="lower")
        cer = Metric(name="CER", direction="lower")
        speech = Task(slug="speech-recognition", name="Speech Recognition")
        asr = Task(slug="asr", name="ASR")
        sub = Task(slug="noisy-asr", name="Noisy ASR")
        s.add_all([wer, cer, speech, asr, sub])
        s.flush()
        sub.parent_id = asr.id
        timit = Dataset(name="TIMIT")
        s.add(timit)
        s.flush()
        kept = Benchmark(task_id=speech.id, dataset_id=timit.id, primary_metric_id=wer.id)
        gone = Benchmark(task_id=asr.id, dataset_id=timit.id, primary_metric_id=wer.id)
        s.add_all([kept, gone])
        s.flush()
        asr.default_benchmark_id = gone.id
        s.add_all([BenchmarkMetric(benchmark_id=kept.id, metric_id=wer.id, position=0),
                   BenchmarkMetric(benchmark_id=gone.id, metric_id=wer.id, position=0),
                   BenchmarkMetric(benchmark_id=gone.id, metric_id=cer.id, position=1)])
        _result(s, kept, wer, "A", "2101.00001", 10.0, date(2021, 1, 1))
        _result(s, gone, wer, "A", "2101.00001", 11.0, date(2021, 1, 1))  # exact duplicate: dropped
        _result(s, gone, wer, "B", "2102.00002", 9.0, date(2021, 2, 2))
        s.flush()
        dropped = s.exec(select(Result.id).where(Result.benchmark_id == gone.id, Result.model == "A")).one()
        s.add(ResultEvent(kind="new_result", dedupe_key="x", task_id=asr.id, benchmark_id=gone.id, result_id=dropped))
        channel = Channel(platform="slack", workspace="T1", channel="C1")
        s.add(channel)
        s.flush()
        s.add_all([Subscription(channel_id=channel.id, kind="task", target="asr"),
                   Subscription(channel_id=channel.id, kind="task", target="speech-recognition")])
        s.commit()
    upgrade(engine)
    with Session(engine) as s:
        speech_id, default = s.exec(
            select(Task.id, Task.default_benchmark_id).where(Task.slug == "speech-recognition")
        ).one()
        assert _boards(s) == {("speech-recognition", "TIMIT"): (2, date(2021, 2, 2))}
        board = s.exec(select(Benchmark.id)).one()
        assert default == board  # the merged task's chosen board, now the kept one
        assert _rows(s) == {("TIMIT", "A", "2101.00001", 10.0), ("TIMIT", "B", "2102.00002", 9.0)}
        metrics = s.exec(
            select(Metric.name).join(BenchmarkMetric, BenchmarkMetric.metric_id == Metric.id)
            .order_by(BenchmarkMetric.position)
        ).all()
        assert metrics == ["WER", "CER"]
        kept_a = s.exec(select(Result.id).where(Result.model == "A")).one()
        assert s.exec(select(ResultEvent.task_id, ResultEvent.benchmark_id, ResultEvent.result_id)).all() == [
            (speech_id, board, kept_a)
        ]
        assert s.exec(select(Subscription.target)).all() == ["speech-recognition"]
        assert s.exec(select(Task.parent_id).where(Task.slug == "noisy-asr")).one() == speech_id
        assert s.exec(select(TaskAlias.task_id).where(TaskAlias.alias == "asr")).one() == speech_id
    engine.dispose()


def test_a_subdataset_of_a_variant_spelling_moves_under_the_kept_spelling(db_url):
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    with Session(engine) as s:
        em = Metric(name="EM", direction="higher")
        qa = Task(slug="question-answering", name="Question Answering")
        s.add_all([em, qa])
        s.flush()
        main = _benchmark(s, qa, "SQuAD1.1", em)
        main_dataset = s.exec(select(Dataset.id).where(Dataset.name == "SQuAD1.1")).one()
        other = Dataset(name="SQuAD v1.1")
        s.add(other)
        s.flush()
        dev = Dataset(name="dev", parent_id=other.id)
        s.add(dev)
        s.flush()
        on_dev = Benchmark(task_id=qa.id, dataset_id=dev.id, primary_metric_id=em.id)
        s.add(on_dev)
        s.flush()
        _result(s, main, em, "BERT", "1810.04805", 85.1, date(2018, 10, 11))
        _result(s, on_dev, em, "BERT", "1810.04805", 84.0, date(2018, 10, 11))
        s.commit()
    upgrade(engine)
    with Session(engine) as s:
        paths = s.exec(
            select(Dataset.name, Dataset.parent_id).join(Benchmark, Benchmark.dataset_id == Dataset.id)
        ).all()
        assert sorted(paths, key=repr) == sorted([("SQuAD1.1", None), ("dev", main_dataset)], key=repr)
        assert "SQuAD v1.1" not in s.exec(select(Dataset.name)).all()
        assert len(_rows(s)) == 2  # a subdataset is its own board: nothing dropped
    engine.dispose()


# -- 0005: a dataset whatever its metric is called, models named with their year ----------------


def _value(s: Session, bench: Benchmark, metric: Metric, model: str, paper: str, value: float,
           source: str = "pwc_archive") -> Result:
    result = Result(benchmark_id=bench.id, model=model, paper_key=paper, source=source,
                    verified=source == "pwc_archive")
    s.add(result)
    s.flush()
    s.add(ResultValue(result_id=result.id, metric_id=metric.id, value=value, raw=str(value)))
    bench.result_count += 1
    return result


def _fresh_install_at_0003(url: str) -> None:
    """What the starter set left before 0005: the archive's "librispeech WER testclean" (Percentage error)
    beside the claims' "LibriSpeech test-clean" (WER), PTB beside Penn Treebank, an empty task
    "Automatic speech recognition (ASR)", and one result under two model spellings."""
    from sotabot.storage.models import ResultEvent

    engine = make_engine(url)
    upgrade(engine, "0003")
    with Session(engine) as s:
        pct, wer = Metric(name="Percentage error", direction="lower"), Metric(name="WER", direction="lower")
        ppl, bleu = Metric(name="Perplexity", direction="lower"), Metric(name="BLEU", direction="higher")
        speech = Task(slug="speech-recognition", name="Speech Recognition")
        lm = Task(slug="language-modelling", name="Language Modelling")
        mt = Task(slug="machine-translation", name="Machine Translation")
        empty = Task(slug="automatic-speech-recognition-asr", name="Automatic speech recognition (ASR)")
        s.add_all([pct, wer, ppl, bleu, speech, lm, mt, empty])
        s.flush()
        archive = _benchmark(s, speech, "librispeech WER testclean", pct)
        _value(s, archive, pct, "HMM-TDNN + iVectors", "kaldi", 4.83)
        _value(s, archive, pct, "Deep Speech 2", "1512.02595", 5.33)
        claims_dataset = Dataset(name="LibriSpeech test-clean")
        s.add(claims_dataset)
        s.flush()
        claims = Benchmark(task_id=speech.id, dataset_id=claims_dataset.id, primary_metric_id=wer.id)  # none declared
        s.add(claims)
        s.flush()
        _value(s, claims, wer, "wav2vec 2.0", "2006.11477", 1.8, source="claim")
        penn = _benchmark(s, lm, "Penn Treebank (Perplexity when parsing English sentences)", ppl)
        _value(s, penn, ppl, "RHN", "1607.03474", 71.3)
        ptb = _benchmark(s, lm, "PTB", ppl)
        _value(s, ptb, ppl, "AWD-LSTM", "1708.02182", 52.8)
        wmt = _benchmark(s, mt, "WMT2014 English-German", bleu)
        twin = _value(s, wmt, bleu, "Transformer Big + BT (2018)", "1808.09381", 35.0)
        _value(s, wmt, bleu, "Transformer Big + BT", "1808.09381", 35.0)
        _value(s, wmt, bleu, "Transformer Big (2018)", "1806.00187", 29.3)
        _value(s, wmt, bleu, "Transformer Big", "1806.00187", 28.4)  # other values: another result
        s.add(ResultEvent(kind="new_result", dedupe_key="x", task_id=mt.id, benchmark_id=wmt.id, result_id=twin.id))
        s.commit()
    engine.dispose()


def _board_rows(s: Session, task: str, dataset: str) -> list[tuple[str, float | None, str]]:
    from sotabot.storage.leaderboards import leaderboard

    tid = s.exec(select(Task.id).where(Task.slug == task)).one()
    board = leaderboard(s, tid, dataset=dataset)
    return [(row.model, row.value, board.metric) for row in board.rows]


def test_0005_merges_a_dataset_whatever_its_metric_is_called_and_models_named_with_their_year(db_url):
    from sotabot.storage.models import ResultEvent

    _fresh_install_at_0003(db_url)
    engine = make_engine(db_url)
    upgrade(engine)
    with Session(engine) as s:
        boards = {key: count for key, (count, _day) in _boards(s).items()}
        assert boards == {
            ("speech-recognition", "LibriSpeech test-clean"): 3,
            ("language-modelling", "Penn Treebank (Perplexity when parsing English sentences)"): 2,
            ("machine-translation", "WMT2014 English-German"): 3,
        }
        assert _board_rows(s, "speech-recognition", "LibriSpeech test-clean") == [  # one metric: one ranking
            ("wav2vec 2.0", 1.8, "Percentage error"),
            ("HMM-TDNN + iVectors", 4.83, "Percentage error"),
            ("Deep Speech 2", 5.33, "Percentage error"),
        ]
        assert s.exec(select(func.count()).select_from(Metric).where(Metric.name == "WER")).one() == 1
        assert [m for m, *_ in _board_rows(s, "machine-translation", "WMT2014 English-German")] == [
            "Transformer Big + BT", "Transformer Big (2018)", "Transformer Big",
        ]
        kept = s.exec(select(Result.id).where(Result.model == "Transformer Big + BT")).one()
        assert s.exec(select(ResultEvent.result_id)).all() == [kept]  # the event follows the kept row
        assert s.exec(select(Task.slug).order_by(Task.slug)).all() == [
            "language-modelling", "machine-translation", "speech-recognition",
        ]
        speech = s.exec(select(Task.id).where(Task.slug == "speech-recognition")).one()
        alias = s.exec(select(TaskAlias.task_id).where(TaskAlias.alias == "automatic speech recognition asr")).one()
        assert alias == speech
        before = _snapshot(s)
    engine.dispose()
    _rerun(db_url, "0003")  # run again on the merged database: nothing changes
    engine = make_engine(db_url)
    with Session(engine) as s:
        assert _snapshot(s) == before
    engine.dispose()


def _rerun(url: str, back_to: str) -> None:
    from alembic import command

    from sotabot.storage.db import alembic_config

    engine = make_engine(url)
    command.downgrade(alembic_config(engine), back_to)
    upgrade(engine)
    engine.dispose()
