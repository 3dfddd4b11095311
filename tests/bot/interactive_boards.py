"""Leaderboard data with something to click: two benchmarks, two metrics, more rows than a page."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import select

from sotabot.storage.db import session_scope
from sotabot.storage.models import Benchmark, BenchmarkMetric, Dataset, Metric, Task
from sotabot.storage.results import record_result

TASK = "Image Classification"
MODELS = [f"Model {i:02d}" for i in range(14)]  # ImageNet: more than one page of ten


def seed_interactive(engine: Engine) -> int:
    """The task id; ImageNet (Top 1 and Top 5 Accuracy, 14 rows) and CIFAR-10 (3 rows)."""
    with session_scope(engine) as s:
        task = Task(slug="image-classification", name=TASK, area="Computer Vision")
        s.add(task)
        s.flush()
        top1, top5, pct = (Metric(name=n, direction="higher") for n in ("Top 1 Accuracy", "Top 5 Accuracy",
                                                                        "Percentage correct"))
        imagenet, cifar = Dataset(name="ImageNet"), Dataset(name="CIFAR-10")
        s.add_all([top1, top5, pct, imagenet, cifar])
        s.flush()
        b1 = Benchmark(task_id=task.id, dataset_id=imagenet.id, primary_metric_id=top1.id, priority=0)
        b2 = Benchmark(task_id=task.id, dataset_id=cifar.id, primary_metric_id=pct.id, priority=1)
        s.add_all([b1, b2])
        s.flush()
        s.add_all([BenchmarkMetric(benchmark_id=b1.id, metric_id=top1.id, position=0),
                   BenchmarkMetric(benchmark_id=b1.id, metric_id=top5.id, position=1),
                   BenchmarkMetric(benchmark_id=b2.id, metric_id=pct.id, position=0)])
        for i, model in enumerate(MODELS):
            record_result(s, benchmark_id=b1.id, model=model, paper_key=f"2101.{i:05d}",
                          values={top1.id: (90.0 - i, f"{90.0 - i}"), top5.id: (99.0 - i / 10, f"{99.0 - i / 10}")},
                          paper_title=f"Paper {i}", paper_url=f"https://arxiv.org/abs/2101.{i:05d}",
                          result_date=date(2021, 1, 1 + i), source="pwc_archive", verified=True)
        for i, model in enumerate(["Cifar A", "Cifar B", "Cifar C"]):
            record_result(s, benchmark_id=b2.id, model=model, paper_key=f"2102.{i:05d}",
                          values={pct.id: (99.0 - i, f"{99.0 - i}")}, result_date=date(2021, 2, 1 + i),
                          source="pwc_archive", verified=True)
        return int(s.exec(select(Task.id).where(Task.slug == "image-classification")).one())
