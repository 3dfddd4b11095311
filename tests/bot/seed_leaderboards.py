"""A small, known leaderboard set written through the real write path (storage.results).

Chat-layer tests need answers they can recognise: Image Classification on ImageNet (five
models, Top 1 Accuracy), Object Detection on COCO, and 40 more "... Classification" tasks so
autocomplete has more matches than Discord's 25-choice limit.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import select

from sotabot.storage.db import session_scope
from sotabot.storage.models import Benchmark, Dataset, Metric, Task
from sotabot.storage.results import record_result

IMAGENET_MODELS = [
    ("CoCa (finetuned)", 91.0, "2205.01917", "https://github.com/lucidrains/CoCa-pytorch", date(2022, 5, 4)),
    ("Model soups (BASIC-L)", 90.98, "2203.05482", "https://github.com/mlfoundations/model-soups", date(2022, 3, 10)),
    ("ViT-G/14", 90.45, "2106.04560", "https://github.com/google-research/big_vision", date(2021, 6, 8)),
    ("EfficientNet-L2", 88.6, "1911.04252", "https://github.com/google-research/noisystudent", date(2019, 11, 11)),
    ("ResNet-50", 76.15, "1512.03385", "https://github.com/KaimingHe/deep-residual-networks", date(2015, 12, 10)),
]
TOP_MODEL = IMAGENET_MODELS[0][0]
EXTRA_CLASSIFICATION_TASKS = [f"Classification Variant {i:02d}" for i in range(40)]


def _benchmark(session, task: Task, dataset: str, metric: str, direction: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    d = Dataset(name=dataset)
    m = session.exec(select(Metric).where(Metric.name == metric)).first() or Metric(name=metric, direction=direction)
    session.add_all([d, m])
    session.flush()
    b = Benchmark(task_id=task.id, dataset_id=d.id, primary_metric_id=m.id, priority=0)
    session.add(b)
    session.flush()
    return b.id, m.id  # type: ignore[return-value]


def seed_leaderboards(engine: Engine) -> None:
    with session_scope(engine) as s:
        image = Task(slug="image-classification", name="Image Classification", area="Computer Vision")
        detection = Task(slug="object-detection", name="Object Detection", area="Computer Vision")
        s.add_all([image, detection])
        s.flush()
        bench, metric = _benchmark(s, image, "ImageNet", "Top 1 Accuracy", "higher")
        for model, value, arxiv, code, day in IMAGENET_MODELS:
            record_result(
                s, benchmark_id=bench, model=model, paper_key=arxiv, values={metric: (value, f"{value}%")},
                paper_title=f"Paper of {model}", paper_url=f"https://arxiv.org/abs/{arxiv}", code_url=code,
                result_date=day, source="pwc_archive", verified=True,
            )
        bench, metric = _benchmark(s, detection, "COCO test-dev", "box AP", "higher")
        record_result(
            s, benchmark_id=bench, model="Co-DETR", paper_key="2211.12860", values={metric: (66.0, "66.0")},
            paper_url="https://arxiv.org/abs/2211.12860", code_url="https://github.com/Sense-X/Co-DETR",
            result_date=date(2022, 11, 22), source="pwc_archive", verified=True,
        )
        for i, name in enumerate(EXTRA_CLASSIFICATION_TASKS):
            s.add(Task(slug=f"classification-variant-{i:02d}", name=name))
