"""Claims from new papers' abstracts, stored as unverified results on the matching benchmark.

`sources.claims` finds "63.1 box AP on COCO test-dev" in an abstract; this module ties such a
claim to one stored benchmark and records it through `storage.results.record_results` with
`source="claim"`, `verified=False` and the sentence as evidence, so a claim is never shown as
verified and alerts can say "claimed". The taxonomy the extractor uses is built from the
database (dataset and metric names) merged with `default_taxonomy()`, whose aliases are
attached to the stored names so a claim comes back in the names the leaderboards use.

Precision over recall: a claim is stored only when exactly one benchmark fits it (see
`choose_benchmark`); conflicting values for one metric are dropped; a paper that already has
a verified result on the benchmark gets no claim there.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sotabot.sources.claims.extract import Claim, Taxonomy, default_taxonomy, extract_claims
from sotabot.sources.normalise.taxonomy import normalise
from sotabot.sources.poll import PollReport, get_state, run_poll
from sotabot.sources.settings import SourcesSettings
from sotabot.sources.upstream.http import Clock
from sotabot.storage.db import session_scope
from sotabot.storage.models import Benchmark, BenchmarkMetric, Dataset, Metric, Paper, PaperRepo, Repo, Result, Task
from sotabot.storage.results import CLAIM_SOURCE, RecordOutcome, ResultRow, record_results

log = logging.getLogger(__name__)

SOURCE = "claims"
BATCH = 500  # papers read per transaction
MAX_PAPERS_PER_POLL = 5000
DOMINANCE = 2.0  # a benchmark wins an ambiguous claim only with this many times the runner-up's results

_TOKEN = re.compile(r"[a-z0-9]+|[^a-z0-9\s\-_'’]")


def _match_key(name: str) -> str:
    """Names that the extractor treats as the same alias ("Top-1 Accuracy" = "top 1 accuracy")."""
    folded = name.replace("\u2212", "-").replace("\u2013", "-").replace("\u00a0", " ").lower()
    return "".join(_TOKEN.findall(folded))


def _distinctive(name: str) -> bool:
    """Whether a stored name is safe to look for in free text on its own.

    The archive has datasets called "Cars", "Music" or "Places"; matched case-insensitively
    they would turn ordinary words into benchmark mentions. A name joins the taxonomy only if
    it has a digit, a capital after its first letter ("SQuAD"), punctuation, or two words.
    """
    text = name.strip()
    if len(text) < 2:
        return False
    if any(c.isdigit() for c in text) or any(c.isupper() for c in text[1:]):
        return True
    if re.search(r"[^\w\s]", text):
        return True
    return len(text.split()) >= 2 and len(text) >= 8


def _merge(stored: Sequence[str], builtin: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Stored names as canonical keys, each taking the aliases of the built-in entry it matches.

    Built-in entries that match no stored name stay as they are: the extractor still uses
    them to read the sentence precisely, and claims about them are simply not stored.
    Also returns where each built-in name went (built-in name -> canonical name used).
    """
    out: dict[str, list[str]] = {}
    by_key: dict[str, str] = {}
    moved: dict[str, str] = {}
    for name in stored:
        key = _match_key(name)
        if key and key not in by_key:
            by_key[key] = name
            out[name] = [name]
    for canonical, aliases in builtin.items():
        keys = [_match_key(canonical), *(_match_key(a) for a in aliases)]
        target = next((by_key[k] for k in keys if k in by_key), None)
        if target is None:
            out.setdefault(canonical, [])
            out[canonical].extend(a for a in aliases if a not in out[canonical])
            moved[canonical] = canonical
        else:
            out[target].extend(a for a in [canonical, *aliases] if a not in out[target])
            moved[canonical] = target
    return out, moved


def build_taxonomy(session: Session) -> Taxonomy:
    """The extractor's taxonomy: stored benchmark datasets and metrics + the built-in one.

    The built-in headline metrics ("HumanEval" -> "Pass@1") come along, renamed to the
    stored names their dataset and metric were merged into.
    """
    builtin = default_taxonomy()
    builtin_dataset_keys = {_match_key(n) for name, al in builtin.datasets.items() for n in [name, *al]}
    builtin_metric_keys = {_match_key(n) for name, al in builtin.metrics.items() for n in [name, *al]}
    datasets = session.exec(
        select(Dataset.name).join(Benchmark, col(Benchmark.dataset_id) == col(Dataset.id)).distinct()
    ).all()
    metrics = session.exec(
        select(Metric.name).join(BenchmarkMetric, col(BenchmarkMetric.metric_id) == col(Metric.id)).distinct()
    ).all()
    datasets = sorted(n for n in datasets if _distinctive(n) or _match_key(n) in builtin_dataset_keys)
    metrics = sorted(n for n in metrics if _distinctive(n) or _match_key(n) in builtin_metric_keys)
    merged_datasets, dataset_names = _merge(datasets, builtin.datasets)
    merged_metrics, metric_names = _merge(metrics, builtin.metrics)
    # "67% on HumanEval": the bare-percentage rule, in the stored names the claims are matched to.
    headline = {
        dataset_names.get(dataset, dataset): metric_names.get(metric, metric)
        for dataset, metric in builtin.headline_metrics.items()
    }
    return Taxonomy(merged_datasets, merged_metrics, headline)


@dataclass
class Candidate:
    benchmark: Benchmark
    task: Task
    metric_id: int
    primary: bool


def candidates(session: Session, claim: Claim) -> list[Candidate]:
    """Benchmarks on the claim's dataset that declare the claim's metric."""
    metric = session.exec(select(Metric).where(Metric.name == claim.metric)).first()
    if metric is None or metric.id is None:
        return []
    rows = session.exec(
        select(Benchmark, Task)
        .join(Dataset, col(Dataset.id) == col(Benchmark.dataset_id))
        .join(Task, col(Task.id) == col(Benchmark.task_id))
        .join(BenchmarkMetric, col(BenchmarkMetric.benchmark_id) == col(Benchmark.id))
        .where(Dataset.name == claim.dataset, BenchmarkMetric.metric_id == metric.id)
        .order_by(col(Benchmark.id))
    ).all()
    return [Candidate(b, t, metric.id, b.primary_metric_id == metric.id) for b, t in rows]


def choose_benchmark(
    cands: list[Candidate], abstract: str, paper_task_ids: set[int]
) -> Candidate | None:
    """The one benchmark a claim belongs to, or None when that would be a guess.

    Narrowing, in order: the tasks the paper already has results on; benchmarks whose
    primary metric is the claim's; tasks named in the abstract; and finally a benchmark with
    at least DOMINANCE times the runner-up's results (the task's main leaderboard).
    """
    pool = cands
    for narrow in (
        lambda c: c.task.id in paper_task_ids,
        lambda c: c.primary,
        lambda c: f" {normalise(c.task.name)} " in f" {normalise(abstract)} ",
    ):
        if len(pool) <= 1:
            break
        narrowed = [c for c in pool if narrow(c)]
        if narrowed:
            pool = narrowed
    if len(pool) == 1:
        return pool[0]
    ranked = sorted(pool, key=lambda c: c.benchmark.result_count, reverse=True)
    if ranked and ranked[0].benchmark.result_count >= DOMINANCE * max(ranked[1].benchmark.result_count, 1):
        return ranked[0]
    return None


def _model_from_title(title: str | None) -> str:
    """A model name for a claim that names none: "Swin Transformer: Hierarchical ..." -> "Swin Transformer"."""
    text = " ".join((title or "").split())
    head = text.split(":", 1)[0].strip()
    if ":" in text and 0 < len(head) <= 60:
        return head
    return text[:120] or "(unnamed model)"


def _paper_key(paper: Paper) -> str:
    return paper.arxiv_id or paper.url or f"paper:{paper.id}"


def store_paper_claims(
    session: Session, paper: Paper, taxonomy: Taxonomy, now: datetime | None = None
) -> list[RecordOutcome]:
    """Extract the abstract's claims and record the ones that fit one benchmark."""
    if not paper.abstract or paper.id is None:
        return []
    claims = extract_claims(paper.abstract, taxonomy)
    if not claims:
        return []
    key = _paper_key(paper)
    own = session.exec(
        select(Result.benchmark_id, Result.verified, Benchmark.task_id)
        .join(Benchmark, col(Benchmark.id) == col(Result.benchmark_id))
        .where((Result.paper_id == paper.id) | (Result.paper_key == key))
    ).all()
    verified_benchmarks = {b for b, verified, _ in own if verified}
    paper_tasks = {t for _, _, t in own}
    grouped: dict[tuple[int, str], dict[int, list[Claim]]] = defaultdict(lambda: defaultdict(list))
    for claim in claims:
        chosen = choose_benchmark(candidates(session, claim), paper.abstract, paper_tasks)
        if chosen is None or chosen.benchmark.id in verified_benchmarks:
            continue
        model = claim.model or _model_from_title(paper.title)
        grouped[(chosen.benchmark.id or 0, model)][chosen.metric_id].append(claim)
    code_url = session.exec(
        select(Repo.url)
        .join(PaperRepo, col(PaperRepo.repo_id) == col(Repo.id))
        .where(PaperRepo.paper_id == paper.id)
        .order_by(col(PaperRepo.official).desc(), col(PaperRepo.id))
    ).first()
    published = paper.published.date() if paper.published else None
    rows = []
    for (benchmark_id, model), by_metric in grouped.items():
        values = {}
        sentences: list[str] = []
        for metric_id, found in by_metric.items():
            if len({c.value for c in found}) > 1:
                continue  # two numbers for one metric and no model to tell them apart: skip
            values[metric_id] = (found[0].value, found[0].raw)
            sentences.extend(c.sentence for c in found if c.sentence not in sentences)
        if not values:
            continue
        rows.append(
            ResultRow(
                benchmark_id=benchmark_id,
                model=model,
                paper_key=key,
                values=values,
                paper_id=paper.id,
                paper_title=paper.title or None,
                paper_url=f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else paper.url,
                code_url=code_url,
                result_date=published,
                source=CLAIM_SOURCE,
                verified=False,
                evidence="\n".join(sentences),
            )
        )
    return record_results(session, rows, now=now)


def store_new_claims(
    engine: Engine, *, since: date | None = None, limit: int = MAX_PAPERS_PER_POLL, report: PollReport | None = None
) -> PollReport:
    """Run the extractor over papers not yet read (by id, cursor in source_state).

    `since` re-reads papers first seen on or after that date, whatever the cursor says.
    """
    report = report or PollReport(source=SOURCE)
    with Session(engine) as session:
        state = get_state(session, SOURCE)
        session.commit()
        cursor = _cursor(state.cursor)
        taxonomy = build_taxonomy(session)
    start_after = 0 if since is not None else cursor
    seen = 0
    last = cursor
    while seen < limit:
        with session_scope(engine) as session:
            query = select(Paper).where(col(Paper.id) > start_after).order_by(col(Paper.id)).limit(BATCH)
            if since is not None:
                query = query.where(col(Paper.first_seen_at) >= datetime.combine(since, time(), tzinfo=UTC))
            papers = session.exec(query).all()
            if not papers:
                break
            for paper in papers:
                for outcome in store_paper_claims(session, paper, taxonomy):
                    report.count_result(outcome)
            seen += len(papers)
            start_after = papers[-1].id or start_after
            last = max(last, start_after)
            state = get_state(session, SOURCE)
            state.cursor = json.dumps({"paper_id": last})
            session.add(state)
    report.add("papers", seen)
    return report


def _cursor(raw: str | None) -> int:
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return 0
    value = data.get("paper_id") if isinstance(data, dict) else None
    return value if isinstance(value, int) else 0


def poll(
    engine: Engine,
    config: SourcesSettings,
    since: date | None = None,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
) -> PollReport:
    """The scheduler's entry: claims for papers stored since the last run (no network)."""
    return run_poll(engine, SOURCE, lambda report: store_new_claims(engine, since=since, report=report))
