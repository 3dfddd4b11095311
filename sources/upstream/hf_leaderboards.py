"""Hugging Face Hub benchmark leaderboards: official benchmark datasets and their ranked scores.

Read with the Hub's own client: `HfApi.list_datasets(benchmark=True)` lists
the benchmark datasets (`GET /api/datasets?filter=benchmark:official&expand=tags&expand=cardData`,
paged by `Link` headers; a default listing carries no `cardData`, so without `expand` a card's
`pretty_name` and metric would never be seen) and
`HfApi.get_dataset_leaderboard` gives each one's rows (`GET /api/datasets/{repo_id}/leaderboard`:
`rank`, `modelId`, `value`, `verified`, optional `source`, `notes`, ...; a 404 means "no
leaderboard"). The endpoint is `sources.huggingface.api_url` without its `/api`, or HF_ENDPOINT
(a mirror) while api_url is the public Hub's. Every row becomes a result through
`storage.results.record_results` with `source="hf"` and the row's own `verified` flag, so new
results and new records write the same events as every other source.

How a Hub benchmark maps onto our data model (the Hub has no task or metric for a leaderboard):
- Benchmark: one per Hub dataset, found again by `external_id = "hf:{repo_id}"`, so it
  never moves once created. It never shares a benchmark row with another source: when
  (task, dataset) is already some other benchmark, the dataset is named by the full repo id.
- Dataset: the card's `pretty_name`, else the repository name (`allenai/olmOCR-bench` ->
  `olmOCR-bench`); an existing dataset of that name is reused.
- Task: a curated one for the benchmarks people ask for by name (CURATED_BENCHMARKS:
  SWE-bench Verified -> `swe-bench`, GPQA -> `gpqa`, MMLU-Pro -> `mmlu-pro`, ...); else the
  dataset's `task_ids:*` then `task_categories:*` tags (and the same keys of
  `cardData`), the first that names a stored task by slug, stored alias or curated alias;
  else a new task from the first task category (`image-to-text` -> "Image to text"); else
  a task named after the benchmark itself (`code-bench`). Task tags are coarse (HF pipeline
  names), so an existing finer task always wins over creating one.
- Metric: the leaderboard has one score. Its name is the card's `train-eval-index` metric
  when it declares one (`{"name": "WER"}`), else "Score". A new metric's direction comes
  from `sources.taxonomy.metric_direction` (the config `[metrics]` table wins); when the name
  says nothing, the server's own ranking decides (rank 1 above the last rank: higher is
  better). An undeclared score ranked lowest-first is stored as "Score (lower is better)" so
  it never shares the "Score" metric with higher-is-better leaderboards. Once a benchmark
  has a primary metric it keeps it.
- Result: model = `modelId`, paper_key = "" (rows name no paper; the key stays stable when
  a row's source changes), paper_url = the row's `source.url` else the model's Hub page,
  a paper we already store when the source is an arXiv URL. Rows carry no date: a result
  is dated the day it is first seen. Rows that disappear upstream are kept (history).

Politeness: huggingface_hub's HTTP runs through our PoliteClient while we call it
(sources/upstream/hub_http.py), paced to the Hub's budget (500 calls / 5 min anonymous, 1,000
with the `sources.huggingface.token`, sent as a Bearer token; never a token found on the
machine), retrying 408/429/5xx on our clock with backoff honouring Retry-After (so the Hub
client's own real-clock retries never run), with our body cap, deadlines, request count and
User-Agent; a next-page link or redirect to another host is not followed. Each leaderboard is
fetched first and written afterwards in its own transaction, so a fault (5xx, 429, truncated
JSON, a body over the cap) leaves the stored data as it was; the outcome is recorded in
source_state. The Hub client types every row and fails the whole answer on one it cannot
type (no `filename` or `author`): that answer is then read row by row, and rows without a
model, rank or numeric value are skipped, counted (`bad_rows`) and logged once a poll. A poll
reads at most `max_benchmarks` leaderboards: a subscribed task's boards every poll (so an alert
is one poll interval away), then the rest in rotation from the cursor; `since`
(which has no meaning for undated rows) makes it read every listed benchmark.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from huggingface_hub import CardData, DatasetInfo, HfApi
from huggingface_hub.errors import HfHubHTTPError, HFValidationError
from huggingface_hub.hf_api import DatasetLeaderboardEntry, ExpandDatasetProperty_T
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from sotabot.sources.normalise.taxonomy import CURATED_ALIASES, metric_direction, normalise, slugify
from sotabot.sources.poll import PollReport, get_state, run_poll
from sotabot.sources.settings import HuggingfaceConfig, SourcesSettings
from sotabot.sources.upstream.http import (
    ApiError,
    Clock,
    NotFound,
    PoliteClient,
    Politeness,
    UpstreamError,
    user_agent,
)
from sotabot.sources.upstream.hub_http import Refused, routed
from sotabot.sources.upstream.news import is_baseline
from sotabot.sources.upstream.pwc_plan import subscribed_tasks
from sotabot.storage.db import chunks, session_scope
from sotabot.storage.models import (
    LABEL_CHARS,
    MODEL_CHARS,
    NAME_CHARS,
    RAW_VALUE_CHARS,
    URL_CHARS,
    Benchmark,
    Dataset,
    Metric,
    Paper,
    Result,
    ResultValue,
    Task,
    TaskAlias,
)
from sotabot.storage.results import ResultRow, record_results

log = logging.getLogger(__name__)

SOURCE = "hf-leaderboards"  # source_state key and report name
RESULT_SOURCE = "hf"  # Result.source
DEFAULT_API_URL = HuggingfaceConfig.api_url  # the public Hub: HF_ENDPOINT (a mirror) replaces it
EXTERNAL_PREFIX = "hf:"
ANONYMOUS_CALLS_PER_5_MIN = 500
TOKEN_CALLS_PER_5_MIN = 1000
MAX_LIST_PAGES = 50  # listing pages followed per poll (the Hub pages with Link headers)
LISTING_FIELDS: list[ExpandDatasetProperty_T] = ["tags", "cardData"]  # what parse_benchmark reads
MAX_BENCHMARKS_PER_POLL = 200  # leaderboards read per poll, in rotation
DEFAULT_METRIC = "Score"
LOWER_DEFAULT_METRIC = "Score (lower is better)"

_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5}|[a-z][a-z.-]*/\d{7})(?:v\d+)?", re.IGNORECASE)


# ------------------------------------------------------------------------------------------
# Parsed API data


@dataclass
class HubBenchmark:
    """A benchmark dataset as the listing describes it."""

    repo_id: str
    name: str
    task_ids: list[str] = field(default_factory=list)
    task_categories: list[str] = field(default_factory=list)
    metric: str | None = None

    @property
    def external_id(self) -> str:
        return f"{EXTERNAL_PREFIX}{self.repo_id}"[:LABEL_CHARS]


@dataclass
class LeaderboardRow:
    rank: int
    model_id: str
    value: float
    raw: str
    verified: bool
    source_url: str | None = None
    arxiv_id: str | None = None

    @property
    def url(self) -> str:
        return self.source_url or f"https://huggingface.co/{self.model_id}"


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    return [t for t in (_text(v) for v in value) if t] if isinstance(value, list) else []


def _declared_metric(card: dict[str, Any]) -> str | None:
    """The metric named by the card's `train-eval-index` (`metrics: [{type, name}]`), if any."""
    index = card.get("train-eval-index")
    for entry in index if isinstance(index, list) else []:
        if not isinstance(entry, dict):
            continue
        for metric in entry.get("metrics") or []:
            fields = metric if isinstance(metric, dict) else {"name": metric}
            name = _text(fields.get("name")) or _text(fields.get("type"))
            if name:
                return name[:NAME_CHARS]
    return None


def _summary(info: DatasetInfo) -> dict[str, Any]:
    """A DatasetInfo as the listing's JSON summary (the fields we read)."""
    card = info.card_data
    return {"id": info.id, "tags": info.tags, "cardData": card.to_dict() if isinstance(card, CardData) else card}


def parse_benchmark(item: Any) -> HubBenchmark | None:
    """One dataset of the listing (a DatasetInfo or its JSON summary); None when it has no usable id."""
    if isinstance(item, DatasetInfo):
        item = _summary(item)
    if not isinstance(item, dict):
        return None
    repo_id = _text(item.get("id"))
    if repo_id is None:
        return None
    card = item.get("cardData") if isinstance(item.get("cardData"), dict) else {}
    tags = _strings(item.get("tags"))
    task_ids = [t.split(":", 1)[1] for t in tags if t.startswith("task_ids:")] + _strings(card.get("task_ids"))
    categories = [t.split(":", 1)[1] for t in tags if t.startswith("task_categories:")]
    categories += _strings(card.get("task_categories"))
    name = _text(card.get("pretty_name")) or repo_id.rsplit("/", 1)[-1]
    return HubBenchmark(
        repo_id=repo_id,
        name=name[:NAME_CHARS],
        task_ids=list(dict.fromkeys(t for t in task_ids if t.strip())),
        task_categories=list(dict.fromkeys(t for t in categories if t.strip())),
        metric=_declared_metric(card),
    )


def _number(value: Any) -> tuple[float, str] | None:
    """(value, raw) from a JSON number or a numeric string; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number, raw = float(value), str(value)
    elif isinstance(value, str):
        raw = value.strip()
        try:
            number = float(raw.removesuffix("%"))
        except ValueError:
            return None
    else:
        return None
    return (number, raw[:RAW_VALUE_CHARS]) if number == number and abs(number) != float("inf") else None


def _rank(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _fields(item: Any) -> dict[str, Any] | None:
    """The fields we read of a row: a DatasetLeaderboardEntry, or a row of the JSON answer."""
    if isinstance(item, DatasetLeaderboardEntry):
        return {"rank": item.rank, "modelId": item.model_id, "value": item.value, "verified": item.verified,
                "source": item.source}
    return item if isinstance(item, dict) else None


def read_leaderboard(data: Any) -> tuple[list[LeaderboardRow], int]:
    """Usable rows in rank order, one per model (its best rank), and the count of unusable rows skipped.

    A row is usable with a model id, an integer rank and a numeric value; other fields are optional
    and unknown ones ignored.
    """
    if not isinstance(data, list):
        raise ApiError(f"expected a list of leaderboard rows, got {type(data).__name__}")
    rows: dict[str, LeaderboardRow] = {}
    skipped = 0
    for item in data:
        fields = _fields(item)
        model = _text(fields.get("modelId")) if fields else None
        rank = _rank(fields.get("rank")) if fields else None
        number = _number(fields.get("value")) if fields else None
        if fields is None or model is None or rank is None or number is None:
            skipped += 1
            continue
        source = fields.get("source") if isinstance(fields.get("source"), dict) else {}
        url = _text(source.get("url"))
        match = _ARXIV_URL.search(url or "")
        row = LeaderboardRow(
            rank=rank,
            model_id=model[:MODEL_CHARS],
            value=number[0],
            raw=number[1],
            verified=fields.get("verified") is True,
            source_url=url[:URL_CHARS] if url and url.startswith(("http://", "https://")) else None,
            arxiv_id=match.group(1) if match else None,
        )
        known = rows.get(row.model_id)
        if known is None or row.rank < known.rank:
            rows[row.model_id] = row
    return sorted(rows.values(), key=lambda r: (r.rank, r.model_id)), skipped


def parse_leaderboard(data: Any) -> list[LeaderboardRow]:
    """Usable rows in rank order, one per model (its best rank); unusable rows skipped, unknown fields ignored."""
    return read_leaderboard(data)[0]


def ranking_direction(rows: list[LeaderboardRow]) -> str:
    """"higher" or "lower" from the server's ranking (rank 1 against the last rank), else "unknown"."""
    if len(rows) < 2 or rows[0].value == rows[-1].value:
        return "unknown"
    return "higher" if rows[0].value > rows[-1].value else "lower"


# ------------------------------------------------------------------------------------------
# The client


def hub_endpoint(api_url: str) -> str:
    """HfApi's endpoint: `api_url` without its `/api`; HF_ENDPOINT (a mirror) while api_url is the default.

    Read at each poll, not at import as huggingface_hub reads it, so a changed environment applies.
    """
    api = api_url.rstrip("/")
    mirror = os.environ.get("HF_ENDPOINT", "").strip().rstrip("/")
    if mirror and api == DEFAULT_API_URL:
        return mirror
    return api.removesuffix("/api")


def _http_error(what: str, exc: HfHubHTTPError) -> ApiError:
    status = exc.response.status_code if exc.response is not None else None
    message = f"{what}: HTTP {status}: {str(exc).splitlines()[0][:200]}"
    return NotFound(message) if status == 404 else ApiError(message)


class HubLeaderboardClient:
    """The Hub's own client (HfApi) with its HTTP routed through our PoliteClient (sources/upstream/hub_http)."""

    def __init__(
        self, config: SourcesSettings, *, clock: Clock | None = None, transport: httpx.BaseTransport | None = None
    ):
        hf = config.sources.huggingface
        token = hf.token.reveal()
        budget = TOKEN_CALLS_PER_5_MIN if token else ANONYMOUS_CALLS_PER_5_MIN
        agent = user_agent(config.sources.arxiv.contact)
        self.endpoint = hub_endpoint(hf.api_url)
        self.http = PoliteClient(
            self.endpoint,
            politeness=Politeness.from_config(config.sources.http, min_interval=300.0 / budget),
            user_agent=agent,
            headers={"Accept": "application/json"},
            clock=clock,
            transport=transport,
            name=SOURCE,
        )
        # token=False: only the configured token is sent, never one huggingface_hub finds on the machine
        self.api = HfApi(endpoint=self.endpoint, token=token or False, headers={"user-agent": agent})

    @property
    def requests(self) -> int:
        return self.http.requests

    def close(self) -> None:
        self.http.close()

    def benchmarks(self) -> list[HubBenchmark]:
        """Every official benchmark dataset (`list_datasets(benchmark=True)`, up to MAX_LIST_PAGES pages)."""
        listing = urlsplit(self.endpoint + "/api/datasets").path
        pages = 0

        def count_pages(request: httpx.Request) -> None:
            nonlocal pages
            if request.url.path == listing:
                if pages >= MAX_LIST_PAGES:
                    raise Refused(f"{SOURCE}: listing stops after {MAX_LIST_PAGES} pages")
                pages += 1

        found: dict[str, HubBenchmark] = {}
        with routed(self.http, self.endpoint, before=count_pages):
            try:
                for info in self.api.list_datasets(benchmark=True, expand=LISTING_FIELDS):
                    bench = parse_benchmark(info)
                    if bench is not None:
                        found.setdefault(bench.repo_id, bench)
            except Refused as exc:  # a next link elsewhere, or the page limit: keep what was listed
                log.info("%s", exc)
            except HfHubHTTPError as exc:
                raise _http_error("datasets", exc) from None
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ApiError(f"datasets: response is not valid JSON ({exc.__class__.__name__}: {exc})") from None
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ApiError(f"datasets: not a list of datasets ({exc.__class__.__name__}: {exc})") from None
        return list(found.values())

    def leaderboard(self, repo_id: str) -> tuple[list[LeaderboardRow], int]:
        """One leaderboard's usable rows (`get_dataset_leaderboard`) and how many rows were skipped.

        The Hub client types every row (DatasetLeaderboardEntry wants `filename` and `author` too);
        when one row breaks that, the same answer is read row by row, so one bad row never costs
        the board.
        """
        what = f"datasets/{repo_id}/leaderboard"
        with routed(self.http, self.endpoint) as route:
            try:
                entries: list[Any] = self.api.get_dataset_leaderboard(repo_id)
            except HFValidationError as exc:
                raise ApiError(f"{repo_id}: not a Hub repository id ({exc})") from None
            except HfHubHTTPError as exc:
                raise _http_error(what, exc) from None
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ApiError(f"{what}: response is not valid JSON ({exc.__class__.__name__}: {exc})") from None
            except (KeyError, TypeError, ValueError, AttributeError):
                assert route.last is not None  # the answer the typed client could not type
                entries = route.last.json()
        return read_leaderboard(entries)


# ------------------------------------------------------------------------------------------
# Mapping a Hub benchmark onto tasks, datasets, benchmarks and metrics


def _existing_task(session: Session, tag: str) -> Task | None:
    """The stored task a Hub task tag names: by slug, stored alias, then curated alias."""
    slug = slugify(tag)
    task = session.exec(select(Task).where(Task.slug == slug)).first() if slug else None
    if task is not None:
        return task
    key = normalise(tag)
    if not key:
        return None
    task = session.exec(
        select(Task).join(TaskAlias, col(TaskAlias.task_id) == col(Task.id)).where(TaskAlias.alias == key)
    ).first()
    if task is not None:
        return task
    curated = CURATED_ALIASES.get(key)
    return session.exec(select(Task).where(Task.slug == curated)).first() if curated else None


# The popular Hub benchmarks people ask for by name (`/sota swe-bench`): their own task,
# named as the community names it, rather than a coarse pipeline tag ("text-generation").
# repo id (lowercase) -> (task slug, task name, dataset name).
CURATED_BENCHMARKS: dict[str, tuple[str, str, str]] = {
    "swe-bench/swe-bench_verified": ("swe-bench", "SWE-bench", "SWE-bench Verified"),
    "princeton-nlp/swe-bench_verified": ("swe-bench", "SWE-bench", "SWE-bench Verified"),
    "swe-bench/swe-bench": ("swe-bench", "SWE-bench", "SWE-bench"),
    "swe-bench/swe-bench_lite": ("swe-bench", "SWE-bench", "SWE-bench Lite"),
    "idavidrein/gpqa": ("gpqa", "GPQA", "GPQA"),
    "tiger-lab/mmlu-pro": ("mmlu-pro", "MMLU-Pro", "MMLU-Pro"),
    "cais/hle": ("humanitys-last-exam", "Humanity's Last Exam", "HLE"),
    "allenai/olmocr-bench": ("image-to-text", "Image to text", "olmOCR-bench"),
}


def _curated_task(session: Session, bench: HubBenchmark) -> Task | None:
    curated = CURATED_BENCHMARKS.get(bench.repo_id.lower())
    if curated is None:
        return None
    slug, name, _ = curated
    task = session.exec(select(Task).where(Task.slug == slug)).first()
    if task is None:
        task = Task(slug=slug, name=name)
        session.add(task)
        session.flush()
    return task


def choose_task(session: Session, bench: HubBenchmark) -> Task:
    """The task a Hub benchmark belongs to (see the module docstring), created when missing."""
    curated = _curated_task(session, bench)
    if curated is not None:
        return curated
    for tag in [*bench.task_ids, *bench.task_categories]:
        task = _existing_task(session, tag)
        if task is not None:
            return task
    tags = bench.task_categories or bench.task_ids
    if tags:
        slug, name = slugify(tags[0]), tags[0].replace("-", " ").replace("_", " ").strip().capitalize()
    else:
        slug, name = slugify(bench.name) or slugify(bench.repo_id), bench.name
    task = session.exec(select(Task).where(Task.slug == slug[:NAME_CHARS])).first()
    if task is None:
        task = Task(slug=slug[:NAME_CHARS], name=name[:NAME_CHARS] or slug[:NAME_CHARS])
        session.add(task)
        session.flush()
    return task


def _dataset(session: Session, name: str, description: str) -> Dataset:
    found = session.exec(select(Dataset).where(Dataset.name == name, col(Dataset.parent_id).is_(None))).first()
    if found is None:
        found = Dataset(name=name[:NAME_CHARS], description=description)
        session.add(found)
        session.flush()
    return found


def find_benchmark(session: Session, bench: HubBenchmark) -> Benchmark | None:
    return session.exec(select(Benchmark).where(Benchmark.external_id == bench.external_id)).first()


def ensure_benchmark(session: Session, bench: HubBenchmark) -> Benchmark:
    """Our benchmark for a Hub dataset: found by external id, else created (never shared)."""
    found = find_benchmark(session, bench)
    if found is not None:
        return found
    task = choose_task(session, bench)
    description = f"Hugging Face benchmark dataset {bench.repo_id}"
    curated = CURATED_BENCHMARKS.get(bench.repo_id.lower())
    for name in dict.fromkeys([curated[2] if curated else bench.name, bench.repo_id]):
        dataset = _dataset(session, name, description)
        taken = session.exec(
            select(Benchmark).where(Benchmark.task_id == task.id, Benchmark.dataset_id == dataset.id)
        ).first()
        if taken is None:
            created = Benchmark(task_id=task.id or 0, dataset_id=dataset.id or 0, external_id=bench.external_id)
            session.add(created)
            session.flush()
            return created
    raise ApiError(f"{bench.repo_id}: task {task.slug!r} already has a benchmark on {bench.repo_id!r}")


def _metric_by_name(session: Session, name: str) -> Metric | None:
    found = session.exec(select(Metric).where(Metric.name == name)).first()
    if found is None:
        found = session.exec(select(Metric).where(func.lower(Metric.name) == name.lower())).first()
    return found


def choose_metric(
    session: Session, bench: HubBenchmark, rows: list[LeaderboardRow], overrides: dict[str, str]
) -> Metric:
    """The metric of a Hub leaderboard's score (see the module docstring), created when missing."""
    ranked = ranking_direction(rows)
    if bench.metric:
        name = bench.metric
        direction = metric_direction(name, overrides)
        if direction == "unknown":
            direction = ranked
    else:
        lower = metric_direction(DEFAULT_METRIC, overrides) != "lower" and ranked == "lower"
        name = LOWER_DEFAULT_METRIC if lower else DEFAULT_METRIC
        direction = "lower" if lower else metric_direction(DEFAULT_METRIC, overrides)
    metric = _metric_by_name(session, name)
    if metric is None:
        metric = Metric(name=name[:NAME_CHARS], direction=direction)
        session.add(metric)
        session.flush()
    return metric


# ------------------------------------------------------------------------------------------
# Writing one leaderboard


Known = dict[str, tuple[str | None, bool, str]]  # model -> (raw primary value, verified, source)


def known_rows(session: Session, benchmark: Benchmark) -> Known:
    """The stored rows of a benchmark that an HF row would update (paper_key "")."""
    rows = session.exec(
        select(Result.model, ResultValue.raw, Result.verified, Result.source)
        .join(
            ResultValue,
            (col(ResultValue.result_id) == col(Result.id)) & (ResultValue.metric_id == benchmark.primary_metric_id),
            isouter=True,
        )
        .where(Result.benchmark_id == benchmark.id, Result.paper_key == "")
    ).all()
    return {model: (raw, verified, source) for model, raw, verified, source in rows}


def _paper_ids(session: Session, rows: list[LeaderboardRow]) -> dict[str, int]:
    """arXiv id -> stored paper id for a board's rows, in one query."""
    wanted = sorted({row.arxiv_id for row in rows if row.arxiv_id})
    if not wanted:
        return {}
    return dict(session.exec(select(Paper.arxiv_id, Paper.id).where(col(Paper.arxiv_id).in_(wanted))).all())



def store_leaderboard(
    session: Session,
    bench: HubBenchmark,
    rows: list[LeaderboardRow],
    config: SourcesSettings,
    report: PollReport,
    *,
    now: datetime,
) -> None:
    """Write one Hub leaderboard: rows in rank order (best first, so an import is not news)."""
    benchmark = ensure_benchmark(session, bench)
    if benchmark.primary_metric_id is None:
        benchmark.primary_metric_id = choose_metric(session, bench, rows, config.metrics).id
        session.add(benchmark)
        session.flush()
    metric_id = benchmark.primary_metric_id
    assert metric_id is not None and benchmark.id is not None
    known = known_rows(session, benchmark)
    baseline = is_baseline(session, benchmark.id, RESULT_SOURCE)  # rows are undated: a first read is all history
    today: date = now.date()
    papers = _paper_ids(session, rows)
    batch: list[ResultRow] = []
    for row in rows:
        stored = known.get(row.model_id)
        if stored is not None and stored == (row.raw, row.verified, RESULT_SOURCE):
            report.unchanged += 1
            continue
        batch.append(
            ResultRow(
                benchmark_id=benchmark.id,
                model=row.model_id,
                paper_key="",
                values={metric_id: (row.value, row.raw)},
                paper_id=papers.get(row.arxiv_id) if row.arxiv_id else None,
                paper_url=row.url,
                result_date=None if stored is not None else today,
                source=RESULT_SOURCE,
                verified=row.verified,
                news=not baseline,
            )
        )
    for outcome in record_results(session, batch, now=now):  # one batch a board: same rows, same events
        report.count_result(outcome)
    report.add("benchmarks")
    report.add("rows", len(rows))


# ------------------------------------------------------------------------------------------
# The poll


def plan(
    benchmarks: list[HubBenchmark], after: str | None, budget: int | None, followed: frozenset[str] = frozenset()
) -> list[HubBenchmark]:
    """Benchmarks to read this poll: the `followed` ones (a subscribed task's) every poll, then the
    rest sorted by id, starting after the cursor, wrapping round, up to `budget` in all."""
    ordered = sorted(benchmarks, key=lambda b: b.repo_id)
    if budget is None or budget >= len(ordered):
        budget = len(ordered)
    first = [b for b in ordered if b.repo_id in followed]
    rest = [b for b in ordered if b.repo_id not in followed]
    start = next((i for i, b in enumerate(rest) if after is not None and b.repo_id > after), 0)
    return (first + rest[start:] + rest[:start])[:budget]


def followed_benchmarks(session: Session, benchmarks: list[HubBenchmark]) -> frozenset[str]:
    """Repo ids whose board belongs to a subscribed task: stored on it, or curated onto it."""
    tasks = set(subscribed_tasks(session))
    if not tasks:
        return frozenset()
    ids = [EXTERNAL_PREFIX + b.repo_id for b in benchmarks]
    stored = set()
    for part in chunks(ids):
        stored.update(session.exec(
            select(Benchmark.external_id)
            .join(Task, col(Task.id) == col(Benchmark.task_id))
            .where(col(Benchmark.external_id).in_(part), col(Task.slug).in_(tasks))
        ).all())
    return frozenset(
        b.repo_id for b in benchmarks
        if EXTERNAL_PREFIX + b.repo_id in stored or CURATED_BENCHMARKS.get(b.repo_id.lower(), ("",))[0] in tasks
    )


def _load_cursor(raw: str | None) -> str | None:
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return None
    after = data.get("after") if isinstance(data, dict) else None
    return after if isinstance(after, str) else None


def _is_outage(exc: UpstreamError) -> bool:
    """Retries spent (no status), or a 429 asking for longer than we wait: the rest would fail too."""
    return exc.status is None or exc.status == 429


def _sync_one(
    engine: Engine, client: HubLeaderboardClient, config: SourcesSettings, report: PollReport, bench: HubBenchmark,
    now: datetime, bad: dict[str, int],
) -> bool:
    """Fetch then store one leaderboard (its unusable rows counted in `bad`); True when the upstream is down."""
    try:
        rows, skipped = client.leaderboard(bench.repo_id)
        if skipped:
            report.add("bad_rows", skipped)
            bad[bench.repo_id] = skipped
        with session_scope(engine) as session:
            store_leaderboard(session, bench, rows, config, report, now=now)
    except NotFound:
        report.add("no_leaderboard")
        log.info("%s: %s has no leaderboard", SOURCE, bench.repo_id)
    except UpstreamError as exc:
        report.errors.append(f"{bench.repo_id}: {exc}"[:500])
        log.warning("%s: %s not synced: %s", SOURCE, bench.repo_id, exc)
        return _is_outage(exc)
    except (ApiError, SQLAlchemyError, ValueError) as exc:
        report.errors.append(f"{bench.repo_id}: {exc}"[:500])
        log.warning("%s: %s not synced: %s", SOURCE, bench.repo_id, exc)
    return False


def poll(
    engine: Engine,
    config: SourcesSettings,
    since: date | None = None,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
    *,
    max_benchmarks: int = MAX_BENCHMARKS_PER_POLL,
) -> PollReport:
    """Read the official benchmarks' leaderboards; faults are reported and recorded, never raised."""
    now = datetime.fromtimestamp(clock.time(), UTC) if clock is not None else datetime.now(UTC)
    client = HubLeaderboardClient(config, clock=clock, transport=transport)

    def body(report: PollReport) -> None:
        try:
            listed = client.benchmarks()
        except (ApiError, UpstreamError) as exc:
            report.errors.append(f"benchmark list: {exc}"[:500])
            log.warning("%s: benchmark list not read: %s", SOURCE, exc)
            listed = []
        report.add("listed", len(listed))
        with Session(engine) as session:
            after = _load_cursor(get_state(session, SOURCE).cursor)
            followed = followed_benchmarks(session, listed)
            session.commit()
        chosen = plan(listed, after, None if since is not None else max_benchmarks, followed)
        bad: dict[str, int] = {}
        for bench in chosen:
            if _sync_one(engine, client, config, report, bench, now, bad):
                break
            if bench.repo_id not in followed:  # the rotation's place; followed boards are read every poll
                after = bench.repo_id
        if bad:  # once a poll, not once a row
            named = ", ".join(f"{repo} ({n})" for repo, n in list(bad.items())[:5])
            log.warning(
                "%s: %d leaderboard rows skipped (no model, rank or numeric value) on %d boards: %s%s",
                SOURCE, sum(bad.values()), len(bad), named, ", ..." if len(bad) > 5 else "",
            )
        if chosen:
            with session_scope(engine) as session:
                state = get_state(session, SOURCE)
                state.cursor = json.dumps({"after": after})
                session.add(state)

    return run_poll(engine, SOURCE, body, client=client, now=lambda: now)


__all__ = [
    "HubBenchmark",
    "HubLeaderboardClient",
    "LeaderboardRow",
    "choose_metric",
    "choose_task",
    "hub_endpoint",
    "parse_leaderboard",
    "poll",
    "ranking_direction",
    "read_leaderboard",
    "store_leaderboard",
]
