"""record_result: the one write path for live results, and the events it writes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from sotabot.storage.models import (
    Benchmark,
    Dataset,
    Metric,
    Paper,
    PaperRepo,
    Repo,
    Result,
    ResultEvent,
    ResultValue,
    Task,
)
from sotabot.storage.results import (
    NEW_PAPER_WITH_CODE,
    NEW_RESULT,
    NEW_SOTA,
    list_events,
    paper_got_code,
    record_result,
)


def make_benchmark(session: Session, task: str, dataset: str, metric: str, direction: str) -> tuple[int, int]:
    t = session.exec(select(Task).where(Task.slug == task)).first() or Task(slug=task, name=task.title())
    session.add(t)
    d = Dataset(name=dataset)
    m = session.exec(select(Metric).where(Metric.name == metric)).first() or Metric(name=metric, direction=direction)
    session.add_all([d, m])
    session.flush()
    b = Benchmark(task_id=t.id, dataset_id=d.id, primary_metric_id=m.id)
    session.add(b)
    session.flush()
    return b.id, m.id


def rec(session: Session, bench: int, metric: int, model: str, value: float | None, **kw):
    kw.setdefault("source", "pwc_api")
    kw.setdefault("verified", True)
    kw.setdefault("paper_key", f"paper-of-{model}")
    return record_result(
        session, benchmark_id=bench, model=model, values={metric: (value, "" if value is None else str(value))}, **kw
    )


def kinds(outcome) -> list[str]:
    return sorted(e.kind for e in outcome.events)


def test_a_new_result_writes_a_new_result_event_and_nothing_on_the_second_sync(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "image-classification", "ImageNet", "Top 1 Accuracy", "higher")
        first = rec(s, b, m, "ViT-H", 88.5, result_date=date(2026, 1, 2))
        s.commit()
        again = rec(s, b, m, "ViT-H", 88.5, result_date=date(2026, 1, 2))
        s.commit()
        assert (first.created, first.changed, kinds(first)) == (True, True, [NEW_RESULT])
        assert (again.created, again.changed, again.events) == (False, False, [])
        assert again.result_id == first.result_id
        assert len(s.exec(select(ResultEvent)).all()) == 1
        assert len(s.exec(select(Result)).all()) == 1


def test_a_lower_wer_is_a_new_sota(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "speech-recognition", "LibriSpeech test-clean", "Word Error Rate (WER)", "lower")
        rec(s, b, m, "Old ASR", 2.5)
        better = rec(s, b, m, "New ASR", 1.9)
        s.commit()
        assert kinds(better) == [NEW_RESULT, NEW_SOTA]
        sota = next(e for e in better.events if e.kind == NEW_SOTA)
        assert sota.payload["value"] == 1.9
        assert sota.payload["previous"]["model"] == "Old ASR"
        assert sota.payload["direction"] == "lower"
        assert sota.payload["task"] == "speech-recognition"
        assert sota.payload["dataset"] == "LibriSpeech test-clean"


def test_a_higher_error_is_not_a_new_sota(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "image-classification", "CIFAR-10", "Percentage error", "lower")
        rec(s, b, m, "ResNet", 3.1)
        worse = rec(s, b, m, "Worse net", 4.0)
        assert kinds(worse) == [NEW_RESULT]


def test_a_higher_accuracy_is_a_new_sota_and_a_lower_one_is_not(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "image-classification", "ImageNet", "Top 1 Accuracy", "higher")
        rec(s, b, m, "A", 85.0)
        assert kinds(rec(s, b, m, "B", 86.0)) == [NEW_RESULT, NEW_SOTA]
        assert kinds(rec(s, b, m, "C", 85.5)) == [NEW_RESULT]


def test_a_tie_the_first_result_and_an_unknown_direction_are_not_new_sotas(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "qa", "SQuAD", "F1", "higher")
        assert kinds(rec(s, b, m, "first", 90.0)) == [NEW_RESULT]
        assert kinds(rec(s, b, m, "tie", 90.0)) == [NEW_RESULT]
        b2, m2 = make_benchmark(s, "misc", "Mystery", "Score", "unknown")
        rec(s, b2, m2, "one", 1.0)
        assert kinds(rec(s, b2, m2, "two", 1000.0)) == [NEW_RESULT]


def test_a_result_without_the_primary_metric_value_is_not_a_new_sota(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "qa", "SQuAD", "F1", "higher")
        rec(s, b, m, "first", 90.0)
        assert kinds(rec(s, b, m, "unparsed", None)) == [NEW_RESULT]


def test_a_claim_is_never_verified_and_never_hides_a_later_verified_record(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "image-classification", "ImageNet", "Top 1 Accuracy", "higher")
        rec(s, b, m, "Baseline", 85.0)
        claim = rec(s, b, m, "Bold claim", 99.0, source="claim", verified=True, evidence="We reach 99.0% top-1.")
        assert kinds(claim) == [NEW_RESULT, NEW_SOTA]
        assert all(e.payload["verified"] is False for e in claim.events)
        stored = s.get(Result, claim.result_id)
        assert (stored.source, stored.verified, stored.evidence) == ("claim", False, "We reach 99.0% top-1.")
        verified = rec(s, b, m, "Real model", 86.0)
        assert kinds(verified) == [NEW_RESULT, NEW_SOTA]
        sota = next(e for e in verified.events if e.kind == NEW_SOTA)
        assert sota.payload["previous"]["model"] == "Baseline"


def test_a_changed_value_updates_the_row_and_only_a_better_primary_value_is_news(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "image-classification", "ImageNet", "Top 1 Accuracy", "higher")
        rec(s, b, m, "Leader", 85.0)
        late = rec(s, b, m, "Late", 80.0)
        corrected = rec(s, b, m, "Late", 90.0)
        assert (corrected.created, corrected.changed, kinds(corrected)) == (False, True, [NEW_SOTA])
        value = s.exec(select(ResultValue).where(ResultValue.result_id == late.result_id)).one()
        assert (value.value, value.raw) == (90.0, "90.0")
        assert rec(s, b, m, "Late", 90.0).changed is False


def sota_models(session: Session) -> list[str]:
    events = session.exec(select(ResultEvent).where(ResultEvent.kind == NEW_SOTA).order_by(ResultEvent.id)).all()
    return [e.payload["model"] for e in events]


@pytest.mark.parametrize(
    ("direction", "held", "runner_up", "corrections"),
    [("higher", 85.0, 80.0, (85.5, 84.0)), ("lower", 2.0, 2.5, (1.9, 2.1))],
)
def test_a_record_holder_whose_value_is_corrected_is_not_announced_as_a_new_sota(
    engine, direction, held, runner_up, corrections
):
    with Session(engine) as s:
        b, m = make_benchmark(s, "task", "D", "Score", direction)
        rec(s, b, m, "Holder", held)  # the first result holds the record; with nothing to beat it was never news
        rec(s, b, m, "Runner-up", runner_up)
        s.commit()
        for value in corrections:  # the same source re-records the same benchmark+model+paper: a correction
            corrected = rec(s, b, m, "Holder", value)  # better, then worse, than before; still the record
            s.commit()
            assert (corrected.created, corrected.changed, corrected.events) == (False, True, [])
        assert s.exec(select(ResultValue.value).where(ResultValue.result_id == corrected.result_id)).one() == value
        assert sota_models(s) == []


def test_within_one_sync_a_corrected_record_holder_is_still_the_record_to_beat(engine):
    with Session(engine) as s:  # one transaction, as a poll writes a page of results
        b, m = make_benchmark(s, "image-classification", "ImageNet", "Top 1 Accuracy", "higher")
        rec(s, b, m, "Holder", 85.0)
        rec(s, b, m, "Runner-up", 80.0)
        assert rec(s, b, m, "Holder", 86.0).events == []
        assert kinds(rec(s, b, m, "Between", 83.0)) == [NEW_RESULT]  # beats the runner-up, not the holder
        challenger = rec(s, b, m, "Challenger", 87.0)
        assert kinds(challenger) == [NEW_RESULT, NEW_SOTA]
        sota = next(e for e in challenger.events if e.kind == NEW_SOTA)
        assert (sota.payload["previous"]["model"], sota.payload["previous"]["value"]) == ("Holder", 86.0)


@pytest.mark.parametrize(
    ("direction", "best", "claim", "updates", "beating", "beyond"),
    [
        ("higher", 85.0, 99.0, (80.0, 85.0, 83.0), 86.0, 87.0),
        ("lower", 2.0, 0.5, (2.5, 2.0, 2.2), 1.9, 1.8),
    ],
)
def test_an_updated_row_is_a_new_sota_only_when_it_beats_the_best_verified_value_and_only_once(
    engine, direction, best, claim, updates, beating, beyond
):
    with Session(engine) as s:
        b, m = make_benchmark(s, "task", "D", "Score", direction)
        rec(s, b, m, "Leader", best)
        rec(s, b, m, "Claim", claim, source="claim")  # unverified: announced, but not the value to beat
        for value in updates:  # created, then updated to a tie with the best, then below it
            assert NEW_SOTA not in kinds(rec(s, b, m, "Late", value))
        assert kinds(rec(s, b, m, "Late", beating)) == [NEW_SOTA]
        assert rec(s, b, m, "Late", beyond).events == []  # now the record holder: a correction is not news again
        s.commit()
        assert sota_models(s) == ["Claim", "Late"]


def test_a_verified_source_takes_over_an_unverified_row_but_never_the_reverse(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "image-classification", "ImageNet", "Top 1 Accuracy", "higher")
        rec(s, b, m, "M", 80.0, paper_key="2601.00001", source="claim", verified=False, evidence="sentence")
        taken = rec(s, b, m, "M", 81.0, paper_key="2601.00001", source="pwc_api", verified=True)
        row = s.get(Result, taken.result_id)
        assert (row.source, row.verified, row.evidence) == ("pwc_api", True, None)
        kept = rec(s, b, m, "M", 70.0, paper_key="2601.00001", source="claim", verified=False, evidence="x")
        s.refresh(row)
        assert kept.changed is False
        assert (row.source, row.verified) == ("pwc_api", True)
        assert s.exec(select(ResultValue.value).where(ResultValue.result_id == row.id)).one() == 81.0


def test_benchmark_counts_and_last_result_date_are_kept_current(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "qa", "SQuAD", "F1", "higher")
        rec(s, b, m, "a", 1.0, result_date=date(2025, 5, 1))
        rec(s, b, m, "b", 2.0, result_date=date(2026, 2, 1))
        rec(s, b, m, "c", 0.5, result_date=date(2024, 1, 1))
        rec(s, b, m, "c", 0.5, result_date=date(2024, 1, 1))
        bench = s.get(Benchmark, b)
        assert (bench.result_count, bench.last_result_date) == (3, date(2026, 2, 1))


def test_a_result_needs_a_model_name(engine):
    with Session(engine) as s:
        b, m = make_benchmark(s, "qa", "SQuAD", "F1", "higher")
        with pytest.raises(ValueError, match="model"):
            rec(s, b, m, "   ", 1.0)


def test_a_paper_getting_code_is_news_once_for_each_task_it_has_results_on(engine):
    with Session(engine) as s:
        b1, m1 = make_benchmark(s, "object-detection", "COCO test-dev", "box AP", "higher")
        b2, m2 = make_benchmark(s, "instance-segmentation", "COCO minival", "mask AP", "higher")
        paper = Paper(arxiv_id="2601.12345", title="A Detector")
        s.add(paper)
        s.flush()
        rec(s, b1, m1, "Det", 63.1, paper_id=paper.id)
        rec(s, b2, m2, "Det", 54.0, paper_id=paper.id)
        assert paper_got_code(s, paper.id) == []  # no code yet
        repo = Repo(url="https://github.com/example/det")
        s.add(repo)
        s.flush()
        s.add(PaperRepo(paper_id=paper.id, repo_id=repo.id, official=True, found_by="pwc"))
        s.flush()
        events = paper_got_code(s, paper.id)
        assert sorted(e.payload["task"] for e in events) == ["instance-segmentation", "object-detection"]
        assert {e.kind for e in events} == {NEW_PAPER_WITH_CODE}
        assert events[0].payload["code_url"] == "https://github.com/example/det"
        repo2 = Repo(url="https://github.com/someone/det-fork")
        s.add(repo2)
        s.flush()
        s.add(PaperRepo(paper_id=paper.id, repo_id=repo2.id, official=False, found_by="github_search"))
        s.commit()
        assert paper_got_code(s, paper.id) == []


def test_events_are_listed_newest_first_and_filtered(engine):
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    with Session(engine) as s:
        b, m = make_benchmark(s, "qa", "SQuAD", "F1", "higher")
        rec(s, b, m, "a", 1.0, now=t0)
        rec(s, b, m, "b", 2.0, now=t0 + timedelta(days=1))
        rec(s, b, m, "c", 3.0, now=t0 + timedelta(days=2))
        s.commit()
        newest = list_events(s, limit=2)
        assert [(e.kind, e.payload["model"]) for e in newest] == [(NEW_SOTA, "c"), (NEW_RESULT, "c")]
        assert [e.payload["model"] for e in list_events(s, kind=NEW_SOTA)] == ["c", "b"]
        assert [e.payload["model"] for e in list_events(s, kind=NEW_RESULT, since=t0 + timedelta(hours=12))] == [
            "c",
            "b",
        ]
