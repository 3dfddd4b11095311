"""The starter set: old leaderboards plus recent abstract claims, so headline tasks answer offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from bench.claims_eval import LABELLED
from sotabot.bot.lookup.resolve import resolve_task
from sotabot.bot.settings import Config
from sotabot.digests.alerts import build_alerts
from sotabot.sources.archive.starter import CLAIMS_FILE, ensure_starter_data
from sotabot.sources.claims.extract import split_sentences
from sotabot.storage.leaderboards import leaderboard
from sotabot.storage.models import (
    Benchmark,
    BenchmarkMetric,
    Dataset,
    Metric,
    Paper,
    Result,
    ResultEvent,
    ResultValue,
    Task,
    TaskAlias,
)

TABLES = (Task, TaskAlias, Dataset, Benchmark, Metric, BenchmarkMetric, Result, ResultValue, ResultEvent)


def counts(engine) -> dict[str, int]:
    with Session(engine) as s:
        return {t.__tablename__: s.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def task_id(engine, slug: str) -> int:
    with Session(engine) as s:
        return s.exec(select(Task.id).where(Task.slug == slug)).one()


def test_object_detection_answers_from_a_fresh_install_with_dino_first_as_an_unverified_claim(engine):
    assert ensure_starter_data(engine, Config()) is True
    with Session(engine) as s:
        board = leaderboard(s, task_id(engine, "object-detection"))
    assert board is not None
    assert (board.task_name, board.dataset, board.metric) == ("Object Detection", "COCO test-dev", "box AP")
    assert board.higher_is_better is True
    top = board.rows[0]
    assert (top.model, top.value, top.verified, top.source) == ("DINO", 63.3, False, "claim")
    assert top.paper_url == "https://arxiv.org/abs/2203.03605"
    assert [r.model for r in board.rows] == ["DINO", "Swin Transformer", "DetectoRS"]
    with Session(engine) as s:
        evidence = s.exec(select(Result.evidence).where(Result.model == "DINO")).one()
    assert "test-dev (63.3AP)" in evidence  # the abstract's own sentence


def test_curated_aliases_reach_the_tasks_the_claims_created(engine):
    ensure_starter_data(engine, Config())
    with Session(engine) as s:
        assert resolve_task(s, "obj det").task.slug == "object-detection"
        assert resolve_task(s, "semseg").task.slug == "semantic-segmentation"
        assert resolve_task(s, "object detection").task.name == "Object Detection"


def test_starter_claims_never_become_events_or_alerts(engine):
    """Seeded data is no news: no event at all (before, they were written and stamped as alerted,
    so `sotabot events` listed 45 "new" results stamped with the install time)."""
    ensure_starter_data(engine, Config())
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(ResultEvent)).one() == 0
        assert s.exec(select(func.count()).select_from(Result).where(Result.source == "claim")).one() > 0
    assert build_alerts(engine, datetime.now(UTC)).events == 0


def test_a_claim_points_to_its_paper_record_and_so_to_its_code(engine):
    ensure_starter_data(engine, Config())
    with Session(engine) as s:
        dino = s.exec(select(Result).where(Result.model == "DINO")).first()
        paper = s.get(Paper, dino.paper_id)
        assert paper is not None and paper.arxiv_id == dino.paper_key


def test_a_second_starter_call_changes_nothing(engine):
    ensure_starter_data(engine, Config())
    before = counts(engine)
    assert ensure_starter_data(engine, Config()) is False
    assert counts(engine) == before


def test_existing_tasks_are_reused_and_keep_their_main_benchmark(engine):
    ensure_starter_data(engine, Config())
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Task).where(Task.slug == "image-classification")).one() == 1
        board = leaderboard(s, task_id(engine, "image-classification"))
        speech = leaderboard(s, task_id(engine, "speech-recognition"))
    assert board is not None and speech is not None
    assert board.dataset == "CIFAR-10 Image Recognition"  # 55 results beat the 10 ImageNet claims
    imagenet = [b for b in board.other_benchmarks if b.dataset == "ImageNet"]
    assert [(b.metric, b.results) for b in imagenet] == [("Top-1 Accuracy", 10)]
    assert {"LibriSpeech test-clean", "LibriSpeech test-other"} <= {b.dataset for b in speech.other_benchmarks}


def test_lower_is_better_claims_rank_lowest_first(engine):
    """The two WER claims rank among the archive's five LibriSpeech test-clean rows (its "Percentage
    error" is WER), not on a board of their own."""
    ensure_starter_data(engine, Config())
    with Session(engine) as s:
        board = leaderboard(s, task_id(engine, "speech-recognition"), dataset="LibriSpeech test-clean")
    assert board is not None and board.higher_is_better is False
    assert [(r.model, r.value) for r in board.rows[:2]] == [("wav2vec 2.0", 1.8), ("Conformer", 1.9)]
    assert [r.value for r in board.rows] == [1.8, 1.9, 4.28, 4.83, 5.33, 5.51, 8.01]
    assert [r.verified for r in board.rows] == [False, False, True, True, True, True, True]


def test_the_shipped_claims_file_is_rebuilt_byte_for_byte_and_quotes_its_evidence(tmp_path):
    from tools.build_starter_claims import build

    out = build(out=tmp_path / "claims.json", log=lambda _line: None)
    assert out.read_bytes() == CLAIMS_FILE.read_bytes()
    entries = json.loads(out.read_text(encoding="utf-8"))["claims"]
    abstracts = {p["arxiv_id"]: p["abstract"] for p in map(json.loads, LABELLED.read_text().splitlines())}
    for entry in entries:
        assert entry["raw"] in entry["evidence"]
        assert entry["evidence"] in split_sentences(abstracts[entry["arxiv_id"]])  # quoted, never invented
    keys = [(e["arxiv_id"], e["task"], e["dataset"], e["metric"]) for e in entries]
    assert len(keys) == len(set(keys))  # one value per paper and benchmark metric: its best
