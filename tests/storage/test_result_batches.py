"""record_results: many rows at once, storing and announcing exactly what record_result would row by row."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from sotabot.storage.models import Benchmark, BenchmarkMetric, Dataset, Metric, Result, ResultEvent, ResultValue, Task
from sotabot.storage.results import NEW_RESULT, NEW_SOTA, ResultRow, record_result, record_results

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LONG_KEY = "https://example.org/paper/" + "k" * 1200  # cut to the column: 1,000 characters


def seed(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Two boards (top-1 accuracy, higher is better; WER, lower is better) and a second metric."""
    with Session(engine) as s:
        task = Task(slug="vision", name="Vision")
        acc, wer, top5 = (Metric(name="Top 1", direction="higher"), Metric(name="WER", direction="lower"),
                          Metric(name="Top 5", direction="higher"))
        s.add_all([task, acc, wer, top5, Dataset(name="ImageNet"), Dataset(name="LibriSpeech")])
        s.flush()
        imagenet, libri = s.exec(select(Dataset).order_by(Dataset.id)).all()
        boards = [Benchmark(task_id=task.id, dataset_id=imagenet.id, primary_metric_id=acc.id),
                  Benchmark(task_id=task.id, dataset_id=libri.id, primary_metric_id=wer.id)]
        s.add_all(boards)
        s.commit()
        return {"acc": boards[0].id, "wer": boards[1].id, "top1": acc.id, "wer_m": wer.id, "top5": top5.id}


def row(ids: dict[str, int], board: str, model: str, value: float, **kw) -> ResultRow:
    metric = ids["top1"] if board == "acc" else ids["wer_m"]
    values = kw.pop("values", {metric: (value, str(value))})
    kw.setdefault("source", "pwc_api")
    kw.setdefault("verified", True)
    kw.setdefault("paper_key", f"paper-of-{model}")
    kw.setdefault("result_date", date(2025, 6, 1))
    return ResultRow(benchmark_id=ids[board], model=model, values=values, **kw)


def syncs(ids: dict[str, int]) -> list[list[ResultRow]]:
    """Three syncs: a quiet baseline, a sync full of news, the same sync again plus one row."""
    baseline = [
        row(ids, "acc", "Old A", 80.0, news=False),
        row(ids, "acc", "Old B", 85.0, news=False, paper_title="B paper"),
        row(ids, "wer", "Old X", 3.0, news=False),
        row(ids, "wer", "Old Y", 2.5, news=False),
    ]
    news = [
        row(ids, "acc", "Tie", 85.0),  # ties the record: not a new one
        row(ids, "acc", "Better", 86.0, paper_title="Better paper"),  # beats Old B
        row(ids, "acc", "Best yet", 87.0),  # beats Better, earlier in this very batch
        row(ids, "acc", "Bold claim", 99.0, source="claim", evidence="We reach 99%."),  # announced, never the record
        row(ids, "acc", "Verified", 87.5),  # beats Best yet, not the claim
        row(ids, "acc", "Old A", 81.0),  # the same source corrects its row: changed, no news
        row(ids, "acc", "Better", 86.0, paper_title="Better paper"),  # a duplicate in the batch: unchanged
        row(ids, "acc", "Better", 88.0, paper_title="Better paper"),  # its value improves: a new record, said once
        row(ids, "acc", "Claimed", 70.0, source="claim", verified=False, evidence="We get 70."),
        row(ids, "acc", "Claimed", 89.0, code_url="https://github.com/a/b"),  # a verified source takes the claim over
        row(ids, "acc", "Claimed", 95.0, source="hf", code_url="https://github.com/x/y"),  # another source: no flip
        row(ids, "acc", "  Spaced   out ", 50.0, paper_key=LONG_KEY),  # whitespace collapsed, key cut
        row(ids, "acc", "Spaced out", 51.0, paper_key=LONG_KEY[:1000]),  # ... so this is the same row
        row(ids, "acc", "Broken", float("nan"), values={ids["top1"]: (float("nan"), "n/a"), ids["top5"]: (97.0, "97")}),
        row(ids, "acc", "Old B", 85.0, values={ids["top1"]: (85.0, "85.0"), ids["top5"]: (96.0, "96")}),  # a new metric
        row(ids, "wer", "Lower", 2.0, result_date=date(2026, 11, 30)),  # a lower WER is better
        row(ids, "wer", "Higher", 2.2),
        row(ids, "wer", "Lower still", 1.5, news=False),  # quiet, but the record to beat from now on
        row(ids, "wer", "Not quite", 1.7),
    ]
    return [baseline, news, [*news, row(ids, "wer", "Lowest", 1.2)]]


def row_by_row(session: Session, rows: list[ResultRow]) -> list:
    return [
        record_result(session, **asdict(r), now=NOW) for r in rows
    ]


def stored(engine) -> dict[str, list]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return {
            "results": [r.model_dump() for r in s.exec(select(Result).order_by(Result.id))],
            "values": sorted((v.result_id, v.metric_id, v.value, v.raw) for v in s.exec(select(ResultValue))),
            "events": [e.model_dump() for e in s.exec(select(ResultEvent).order_by(ResultEvent.id))],
            "benchmarks": [b.model_dump() for b in s.exec(select(Benchmark).order_by(Benchmark.id))],
            "declared": sorted((m.benchmark_id, m.metric_id, m.position) for m in s.exec(select(BenchmarkMetric))),
        }


def outcome_view(outcomes: list) -> list[tuple]:
    return [(o.result_id, o.created, o.changed, [(e.id, e.kind) for e in o.events]) for o in outcomes]


def test_a_batch_stores_and_announces_exactly_what_row_by_row_calls_do(twin_engines):
    one_by_one, batched = twin_engines
    ids = seed(one_by_one)
    assert seed(batched) == ids
    seen: dict[str, list] = {"row": [], "batch": []}
    for rows in syncs(ids):
        with Session(one_by_one) as s:
            seen["row"].append(outcome_view(row_by_row(s, rows)))
            s.commit()
        with Session(batched) as s:
            seen["batch"].append(outcome_view(record_results(s, rows, now=NOW)))
            s.commit()
    assert seen["batch"] == seen["row"]
    assert stored(batched) == stored(one_by_one)

    events = stored(batched)["events"]
    sotas = [(e["payload"]["model"], e["payload"]["previous"]["model"]) for e in events if e["kind"] == NEW_SOTA]
    assert sotas == [
        ("Better", "Old B"), ("Best yet", "Better"), ("Bold claim", "Best yet"), ("Verified", "Best yet"),
        ("Claimed", "Better"), ("Lower", "Old Y"), ("Lowest", "Lower still"),
    ]  # Better's 88.0 beat Verified too, but Better's new_sota was said already
    news = [e["payload"]["model"] for e in events if e["kind"] == NEW_RESULT]
    assert news[:2] == ["Tie", "Better"] and "Old A" not in news and news[-1] == "Lowest"
    again = seen["batch"][2]
    assert [o[0] for o in again[:-1]] == [o[0] for o in seen["batch"][1]]  # the same rows, none created twice
    assert [o[1] for o in again] == [False] * (len(again) - 1) + [True]
    assert [i for i, o in enumerate(again) if o[3]] == [len(again) - 1]  # only the one new row is news
    claimed = next(r for r in stored(batched)["results"] if r["model"] == "Claimed")
    assert (claimed["source"], claimed["verified"], claimed["evidence"]) == ("pwc_api", True, None)
    assert claimed["code_url"] == "https://github.com/a/b"
    spaced = [r for r in stored(batched)["results"] if r["model"] == "Spaced out"]
    assert [len(r["paper_key"]) for r in spaced] == [1000]


def test_rows_of_one_batch_may_mix_benchmarks_and_keep_their_order(twin_engines):
    one_by_one, batched = twin_engines
    ids = seed(one_by_one)
    seed(batched)
    rows = [row(ids, board, f"M{i}", 80.0 + i if board == "acc" else 3.0 - i / 10) for i in range(12)
            for board in ("acc", "wer")]
    with Session(one_by_one) as s:
        expected = outcome_view(row_by_row(s, rows))
        s.commit()
    with Session(batched) as s:
        assert outcome_view(record_results(s, rows, now=NOW)) == expected
        s.commit()
    assert stored(batched) == stored(one_by_one)


def test_every_row_is_checked_before_anything_is_written(engine):
    ids = seed(engine)
    with Session(engine) as s:
        with pytest.raises(ValueError, match="model"):
            record_results(s, [row(ids, "acc", "Fine", 80.0), row(ids, "acc", "   ", 81.0)], now=NOW)
        with pytest.raises(ValueError, match="metric"):
            record_results(s, [row(ids, "acc", "Fine", 80.0, values={987654: (1.0, "1")})], now=NOW)
        assert s.exec(select(Result)).all() == []
        assert s.exec(select(ResultEvent)).all() == []


def test_a_batch_costs_a_few_statements_whatever_its_size(engine):
    ids = seed(engine)
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sizes = {}
    for n in (20, 400):
        rows = [row(ids, "acc", f"Model {n}-{i}", 50.0 + i / 10) for i in range(n)]
        with Session(engine) as s:
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            record_results(s, rows, now=NOW)
            event.remove(engine, "before_cursor_execute", count)
            s.commit()
        sizes[n] = len(statements)
    assert sizes[400] == sizes[20] < 30  # not one per row: the first sync of a board is one batch
