"""Claims from new papers' abstracts stored as unverified results on the one fitting benchmark.

The abstracts are real ones from the labelled set in tests/data/claims_labelled.jsonl.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import Session, col, select

from bench.claims_eval import LABELLED
from sotabot.sources.claims.extract import extract_claims
from sotabot.sources.claims.store import build_taxonomy, store_new_claims
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
)
from sotabot.storage.results import record_result


def abstract(arxiv_id: str) -> dict:
    for line in LABELLED.read_text().splitlines():
        item = json.loads(line)
        if item["arxiv_id"] == arxiv_id:
            return item
    raise LookupError(arxiv_id)


SWIN = "2103.14030"  # ImageNet 87.3 top-1, COCO test-dev 58.7 box AP / 51.1 mask AP, ADE20K 53.5 mIoU
DINO = "2203.03605"  # "DINO" reaches 49.4 and 51.3 AP on COCO (two numbers, one model)


def bench(s: Session, task: str, dataset: str, metrics: list[tuple[str, str]], results: int = 0) -> Benchmark:
    t = s.exec(select(Task).where(Task.slug == task)).first() or Task(slug=task, name=task.replace("-", " ").title())
    d = s.exec(select(Dataset).where(Dataset.name == dataset)).first() or Dataset(name=dataset)
    s.add_all([t, d])
    s.flush()
    b = Benchmark(task_id=t.id, dataset_id=d.id, result_count=results)
    s.add(b)
    s.flush()
    for position, (name, direction) in enumerate(metrics):
        m = s.exec(select(Metric).where(Metric.name == name)).first() or Metric(name=name, direction=direction)
        s.add(m)
        s.flush()
        s.add(BenchmarkMetric(benchmark_id=b.id, metric_id=m.id, position=position))
        if position == 0:
            b.primary_metric_id = m.id
    s.add(b)
    s.flush()
    return b


def add_paper(s: Session, arxiv_id: str) -> Paper:
    item = abstract(arxiv_id)
    paper = Paper(arxiv_id=arxiv_id, title=item["title"], abstract=item["abstract"])
    s.add(paper)
    s.flush()
    return paper


def stored(s: Session) -> dict[tuple[str, str, str], tuple[float, str]]:
    """(task, dataset, metric) -> (value, model) of every claim result."""
    rows = s.exec(
        select(Task.slug, Dataset.name, Metric.name, ResultValue.value, Result.model)
        .join(Benchmark, col(Benchmark.task_id) == col(Task.id))
        .join(Dataset, col(Dataset.id) == col(Benchmark.dataset_id))
        .join(Result, col(Result.benchmark_id) == col(Benchmark.id))
        .join(ResultValue, col(ResultValue.result_id) == col(Result.id))
        .join(Metric, col(Metric.id) == col(ResultValue.metric_id))
        .where(Result.source == "claim")
    ).all()
    return {(t, d, m): (v, model) for t, d, m, v, model in rows}


@pytest.fixture
def vision(engine):
    """Archive-style leaderboards: stored metric names differ from the extractor's ("Top 1 Accuracy")."""
    with Session(engine) as s:
        bench(s, "image-classification", "ImageNet", [("Top 1 Accuracy", "higher")], results=500)
        bench(s, "object-detection", "COCO test-dev", [("box AP", "higher"), ("AP50", "higher")], results=300)
        bench(s, "instance-segmentation", "COCO test-dev", [("mask AP", "higher")], results=100)
        bench(s, "semantic-segmentation", "ADE20K", [("Validation mIoU", "higher")], results=80)
        s.commit()
    return engine


def test_an_abstracts_claims_become_unverified_results_with_their_sentence(vision):
    with Session(vision) as s:
        add_paper(s, SWIN)
        s.commit()
    report = store_new_claims(vision)
    with Session(vision) as s:
        assert stored(s) == {
            ("image-classification", "ImageNet", "Top 1 Accuracy"): (87.3, "Swin Transformer"),
            ("object-detection", "COCO test-dev", "box AP"): (58.7, "Swin Transformer"),
            ("instance-segmentation", "COCO test-dev", "mask AP"): (51.1, "Swin Transformer"),
        }  # ADE20K's stored metric is "Validation mIoU": no benchmark declares "mIoU", so no guess
        results = s.exec(select(Result).where(Result.source == "claim")).all()
        assert {(r.verified, r.paper_key) for r in results} == {(False, SWIN)}
        text = " ".join(abstract(SWIN)["abstract"].split())
        for r in results:  # the evidence is the claim's sentence(s), word for word
            assert r.evidence and all(sentence in text for sentence in r.evidence.split("\n"))
        events = s.exec(select(ResultEvent)).all()
        assert events and all(e.payload["verified"] is False and e.payload["source"] == "claim" for e in events)
    assert report.new == 3


def test_a_second_run_reads_no_paper_twice_and_a_rerun_writes_nothing_new(vision):
    with Session(vision) as s:
        add_paper(s, SWIN)
        s.commit()
    store_new_claims(vision)
    again = store_new_claims(vision)
    assert (again.new, again.details["papers"]) == (0, 0)
    rerun = store_new_claims(vision, since=date(2000, 1, 1))
    assert (rerun.new, rerun.updated, rerun.unchanged, rerun.details["events"]) == (0, 0, 3, 0)


def test_a_paper_with_a_verified_result_on_the_benchmark_gets_no_claim_there(vision):
    with Session(vision) as s:
        paper = add_paper(s, SWIN)
        b = s.exec(
            select(Benchmark).join(Task).where(Task.slug == "image-classification")
        ).one()
        record_result(
            s, benchmark_id=b.id, model="Swin-L", paper_key=SWIN, paper_id=paper.id,
            values={b.primary_metric_id: (87.3, "87.3")}, source="pwc_api", verified=True,
        )
        s.commit()
    store_new_claims(vision)
    with Session(vision) as s:
        assert ("image-classification", "ImageNet", "Top 1 Accuracy") not in stored(s)
        assert len(stored(s)) == 2


def test_two_numbers_for_one_metric_and_model_are_not_stored(engine):
    with Session(engine) as s:
        bench(s, "object-detection", "COCO", [("AP", "higher")])
        add_paper(s, DINO)
        s.commit()
    assert {(c.dataset, c.metric, c.model) for c in extract_claims(abstract(DINO)["abstract"])} >= {
        ("COCO", "AP", "DINO")
    }
    store_new_claims(engine)
    with Session(engine) as s:
        assert ("object-detection", "COCO", "AP") not in stored(s)


@pytest.mark.parametrize(
    ("boards", "expected"),
    [
        ({"image-classification": 100, "domain-generalization": 500}, "image-classification"),
        ({"self-supervised-image-classification": 500, "semi-supervised-image-classification": 100},
         "self-supervised-image-classification"),
        ({"self-supervised-image-classification": 500, "semi-supervised-image-classification": 400}, None),
    ],
    ids=["the task the abstract names", "the leaderboard that dominates", "too close to call: nowhere"],
)
def test_a_dataset_shared_by_tasks_gets_the_claim_only_when_one_benchmark_clearly_fits(engine, boards, expected):
    with Session(engine) as s:
        for task, results in boards.items():
            bench(s, task, "ImageNet", [("Top 1 Accuracy", "higher")], results=results)
        add_paper(s, SWIN)  # "... image classification (87.3 top-1 accuracy on ImageNet-1K) ..."
        s.commit()
    store_new_claims(engine)
    with Session(engine) as s:
        tasks = {t for (t, d, _m) in stored(s) if d == "ImageNet"}
        assert tasks == ({expected} if expected else set())


def test_the_taxonomy_uses_stored_names_and_leaves_out_ordinary_words(engine):
    with Session(engine) as s:
        bench(s, "image-classification", "ImageNet", [("Top 1 Accuracy", "higher")])
        bench(s, "fine-grained-image-classification", "Cars", [("Accuracy", "higher")])
        bench(s, "question-answering", "SQuAD1.1", [("EM", "higher")])
        s.commit()
        taxonomy = build_taxonomy(s)
    assert "top-1 accuracy" in taxonomy.metrics["Top 1 Accuracy"]  # built-in aliases moved onto it
    assert "Top-1 Accuracy" not in taxonomy.metrics
    assert "imagenet-1k" in taxonomy.datasets["ImageNet"]
    assert "SQuAD1.1" in taxonomy.datasets
    assert "Cars" not in taxonomy.datasets
    claims = extract_claims("Our model reaches 88.5% top-1 accuracy on ImageNet-1k.", taxonomy)
    assert [(c.dataset, c.metric, c.value) for c in claims] == [("ImageNet", "Top 1 Accuracy", 88.5)]


CODE_LLAMA = "2308.12950"  # "scores of up to 67% and 65% on HumanEval and MBPP, respectively": no metric named


def test_bare_percentages_on_a_benchmark_with_one_usual_metric_are_stored_from_the_database_pipeline(engine):
    with Session(engine) as s:
        bench(s, "code-generation", "HumanEval", [("pass@1", "higher")], results=50)
        bench(s, "code-generation", "MBPP", [("pass@1", "higher")], results=30)
        add_paper(s, CODE_LLAMA)
        s.commit()
        taxonomy = build_taxonomy(s)
    assert taxonomy.headline_metrics["HumanEval"] == "pass@1"  # the built-in rule, in the stored metric's name
    assert taxonomy.headline_metrics["MBPP"] == "pass@1"
    report = store_new_claims(engine)
    with Session(engine) as s:
        assert stored(s) == {
            ("code-generation", "HumanEval", "pass@1"): (67.0, "Code Llama"),
            ("code-generation", "MBPP", "pass@1"): (65.0, "Code Llama"),
        }
    assert report.new == 2


def test_the_poll_command_runs_the_claims_pass(tmp_path, monkeypatch, capsys):
    from sotabot.bot.cli import main

    monkeypatch.setenv("SOTABOT_DATABASE__URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["poll", "claims", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["source"], out["errors"]) == ("claims", [])
    assert "papers" in out["details"]  # the claims pass ran (over whatever papers the database holds)
