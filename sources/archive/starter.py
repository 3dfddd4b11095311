"""Starter leaderboards: real data loaded into an empty database, so `sotabot sota` answers offline.

The file shipped in the package (`sources/data/starter-tables.json.gz`, rebuilt by
`python -m tools.build_starter`) holds the sota-extractor task files (133 tasks, 267
benchmarks, 3,497 results once imported; Apache-2.0). It is imported once, the first time a
database with no tasks is opened; a database that already has tasks (from the archive or a
poll) is never touched. Two processes starting together are serialised by the importer's
writer lock, and the second import changes nothing.

Right after that import, `sources/data/starter-claims.json` (rebuilt by
`python -m tools.build_starter_claims`) adds a small set of recent results as their authors
claim them in their abstracts (Object Detection, Semantic Segmentation, ImageNet, ...), stored
as unverified claims with the abstract sentence as evidence. The events these writes create
are deleted in the same transaction: starter history is never listed or announced as news.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sotabot.sources.archive.hub import record_import
from sotabot.sources.archive.report import ArchiveError
from sotabot.sources.archive.tables import import_tables
from sotabot.sources.normalise.taxonomy import CURATED_ALIASES, metric_direction, normalise, slugify
from sotabot.sources.normalise.values import arxiv_month
from sotabot.sources.normalise.variants import dataset_key, is_variant_spelling, metric_key
from sotabot.storage.models import NAME_CHARS, Benchmark, BenchmarkMetric, Dataset, Metric, Paper, Task, TaskAlias
from sotabot.storage.results import CLAIM_SOURCE, record_result

log = logging.getLogger(__name__)


DATA_DIR = Path(__file__).resolve().parents[1] / "data"  # the package data of sotabot.sources.data
STARTER_FILE = DATA_DIR / "starter-tables.json.gz"
CLAIMS_FILE = DATA_DIR / "starter-claims.json"


def has_tasks(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(Task.id).limit(1)).first() is not None  # type: ignore[arg-type]


def ensure_starter_data(
    engine: Engine, config: Any = None, path: Path = STARTER_FILE, claims_path: Path = CLAIMS_FILE
) -> bool:
    """Import the starter leaderboards when the database has no tasks; True if it did."""
    if has_tasks(engine):
        return False
    if not path.exists():
        log.warning("starter leaderboards not found at %s; the database stays empty", path)
        return False
    try:
        report = import_tables(engine, path, config)
    except ArchiveError as exc:  # a broken package must not stop the bot from starting
        log.error("starter leaderboards not loaded: %s", exc)
        return False
    log.info(
        "loaded the starter leaderboards: %d tasks, %d benchmarks, %d results",
        report.inserted.get("tasks", 0), report.inserted.get("benchmarks", 0), report.inserted.get("results", 0),
    )
    if report.changed:  # this process did the import (a concurrent second one changes nothing)
        record_import(engine, "starter", path.name)
        try:
            added = load_starter_claims(engine, claims_path, config)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a broken file must not stop the bot
            log.error("starter claims not loaded: %s", exc)
        else:
            log.info("loaded %d starter claims from paper abstracts (unverified)", added)
    return report.changed


# ------------------------------------------------------------------------------------------
# Starter claims


def _task(session: Session, name: str, created: list[Task]) -> Task:
    """The stored task of this name (by slug, then normalised name), created when missing."""
    slug = slugify(name)
    task = session.exec(select(Task).where(Task.slug == slug)).first()
    if task is None:
        task = session.exec(select(Task).where(func.lower(Task.name) == name.lower())).first()
    if task is None:
        aliased = col(TaskAlias.task_id) == col(Task.id)
        task = session.exec(select(Task).join(TaskAlias, aliased).where(TaskAlias.alias == normalise(name))).first()
    if task is None:
        task = Task(slug=slug, name=name)
        session.add(task)
        session.flush()
        created.append(task)
    return task


def _task_dataset(session: Session, task: Task, name: str, metric: str) -> tuple[Dataset, str]:
    """The dataset of the task's benchmark spelled like `name` ("SQuAD v1.1" is SQuAD1.1, "LibriSpeech test-clean"
    is "librispeech WER testclean"), else `_dataset`; and the metric name to record the claim under.

    Whatever metric the stored benchmark declares: one dataset is one board. When it declares the claim's
    metric under another name of the same quantity ("Percentage error" for WER in speech recognition), the
    claim is recorded under that name, so it ranks beside the archive's rows instead of as missing there.
    """
    key = dataset_key(name, task.slug)
    stored = session.exec(
        select(Dataset, Benchmark.id)
        .join(Benchmark, col(Benchmark.dataset_id) == col(Dataset.id))
        .where(Benchmark.task_id == task.id, col(Dataset.parent_id).is_(None))
        .order_by(col(Benchmark.result_count).desc(), col(Benchmark.id))
    ).all()
    for dataset, bench_id in stored:
        if dataset_key(dataset.name, task.slug) != key:
            continue
        taken = session.exec(select(Dataset).where(Dataset.name == name, col(Dataset.parent_id).is_(None))).first()
        if is_variant_spelling(dataset.name) and not is_variant_spelling(name) and taken is None:
            dataset.name = name  # show "LibriSpeech test-clean", not "librispeech WER testclean"
            session.add(dataset)
            session.flush()
        declared = session.exec(
            select(Metric.name)
            .join(BenchmarkMetric, col(BenchmarkMetric.metric_id) == col(Metric.id))
            .where(BenchmarkMetric.benchmark_id == bench_id)
            .order_by(col(BenchmarkMetric.position))
        ).all()
        same = [m for m in declared if metric_key(m, task.slug) == metric_key(metric, task.slug)]
        return dataset, (metric if metric in same or not same else same[0])
    return _dataset(session, name), metric


def _paper_id(session: Session, arxiv_id: str, title: str) -> int:
    """The paper record of a claim (created when missing), so its code links reach the claim's row."""
    paper = session.exec(select(Paper).where(Paper.arxiv_id == arxiv_id)).first()
    if paper is None:
        paper = Paper(arxiv_id=arxiv_id, title=title)
        session.add(paper)
        session.flush()
    return paper.id or 0


def _dataset(session: Session, name: str) -> Dataset:
    found = session.exec(
        select(Dataset).where(Dataset.name == name, col(Dataset.parent_id).is_(None))
    ).first()
    if found is None:
        found = Dataset(name=name)
        session.add(found)
        session.flush()
    return found


def _metric(session: Session, name: str, overrides: dict[str, str]) -> Metric:
    found = session.exec(select(Metric).where(Metric.name == name)).first()
    if found is None:
        found = Metric(name=name, direction=metric_direction(name, overrides))
        session.add(found)
        session.flush()
    return found


def _benchmark(session: Session, task: Task, dataset: Dataset, metric: Metric) -> Benchmark:
    """The task's benchmark on this dataset; a new one ranks by the claimed metric. A stored one that
    declares metrics gains the claim's, so the metric can be chosen there (`--metric`)."""
    found = session.exec(
        select(Benchmark).where(Benchmark.task_id == task.id, Benchmark.dataset_id == dataset.id)
    ).first()
    if found is None:
        found = Benchmark(task_id=task.id or 0, dataset_id=dataset.id or 0, primary_metric_id=metric.id)
        session.add(found)
        session.flush()
        return found
    positions = dict(
        session.exec(
            select(BenchmarkMetric.metric_id, BenchmarkMetric.position).where(BenchmarkMetric.benchmark_id == found.id)
        ).all()
    )
    if positions and metric.id not in positions:
        session.add(BenchmarkMetric(benchmark_id=found.id or 0, metric_id=metric.id or 0,
                                    position=max(positions.values()) + 1))
        session.flush()
    return found


def _add_aliases(session: Session, created: list[Task]) -> None:
    """Name aliases of the new tasks, and curated aliases ("obj det") whose target now exists."""
    taken = set(session.exec(select(TaskAlias.alias)).all())
    wanted: list[tuple[str, int, str]] = [(normalise(t.name)[:NAME_CHARS], t.id or 0, "name") for t in created]
    slugs = {t.slug: t.id for t in created}
    for alias, target in CURATED_ALIASES.items():
        if target in slugs:
            wanted.append((normalise(alias)[:NAME_CHARS], slugs[target] or 0, "curated"))
    for alias, task_id, source in wanted:
        if alias and alias not in taken:
            session.add(TaskAlias(alias=alias, task_id=task_id, source=source))
            taken.add(alias)


def load_starter_claims(engine: Engine, path: Path = CLAIMS_FILE, config: Any = None) -> int:
    """Record the shipped abstract claims as unverified results; returns how many rows are new.

    One transaction: tasks, datasets, benchmarks, metrics, results and aliases; the events
    these writes created are deleted before it commits.
    """
    if not path.exists():
        log.warning("starter claims not found at %s", path)
        return 0
    entries = json.loads(path.read_text(encoding="utf-8"))["claims"]
    overrides = dict(getattr(config, "metrics", None) or {}) if config is not None else {}
    added = 0
    with Session(engine) as session:
        created: list[Task] = []
        events = []
        for entry in entries:
            task = _task(session, entry["task"], created)
            dataset, metric_name = _task_dataset(session, task, entry["dataset"], entry["metric"])
            metric = _metric(session, metric_name, overrides)
            bench = _benchmark(session, task, dataset, metric)
            arxiv_id = entry["arxiv_id"]
            outcome = record_result(
                session,
                benchmark_id=bench.id or 0,
                model=entry["model"],
                paper_key=arxiv_id,
                paper_id=_paper_id(session, arxiv_id, entry["paper_title"]),
                values={metric.id or 0: (float(entry["value"]), str(entry["raw"]))},
                paper_title=entry["paper_title"],
                paper_url=f"https://arxiv.org/abs/{arxiv_id}",
                result_date=arxiv_month(arxiv_id),  # the month the paper appeared
                source=CLAIM_SOURCE,
                verified=False,
                evidence=entry["evidence"],
            )
            added += outcome.created
            events.extend(outcome.events)
        _add_aliases(session, created)
        session.flush()
        for event in events:  # starter history, not news: never listed as new, never alerted
            session.delete(event)
        session.commit()
    return added
