"""SQLModel tables for the whole data model (see docs/architecture.md).

The unique constraints are what make imports, polls and deliveries idempotent: every
writer upserts on them, so running any job twice stores nothing twice. Times are UTC,
stored naive-free as timezone-aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Column widths. Every writer (archive import, live syncs, channel settings) clips to these
# names rather than to literals, so a value never fails on PostgreSQL's varchar limits.
ARXIV_ID_CHARS = 64
CATEGORY_CHARS = 64
URL_CHARS = 1000  # paper URLs, result paper/code URLs, result paper keys
REPO_URL_CHARS = 300  # normalised https://github.com/owner/name
LABEL_CHARS = 100  # short labels: language, licence, external ids, workspace and channel ids
NAME_CHARS = 300  # task, dataset and metric names, slugs, aliases, subscription targets
AREA_CHARS = 200
MODEL_CHARS = 500
RAW_VALUE_CHARS = 500
FRAMEWORK_CHARS = 50
SOURCE_CHARS = 32  # found_by, result source, alias source, event kind
ETAG_CHARS = 200
STATE_ETAG_CHARS = 300
EVENT_KEY_CHARS = 300
DELIVERY_KEY_CHARS = 200
CHANNEL_NAME_CHARS = 200
REASON_CHARS = 200
TIMEZONE_CHARS = 64
ERROR_CHARS = 2000  # last_error texts (unbounded columns, clipped so one error cannot grow a row)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC, so say so."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _ts(nullable: bool = True, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class Paper(SQLModel, table=True):
    """An arXiv paper (or a non-arXiv paper keyed by its URL, for archive rows)."""

    __tablename__ = "papers"
    id: int | None = Field(default=None, primary_key=True)
    arxiv_id: str | None = Field(default=None, unique=True, index=True, max_length=ARXIV_ID_CHARS)
    url: str | None = Field(default=None, unique=True, max_length=URL_CHARS)
    version: int = 1
    title: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    abstract: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    authors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    primary_category: str | None = Field(default=None, index=True, max_length=CATEGORY_CHARS)
    published: datetime | None = Field(default=None, sa_column=_ts(index=True))
    updated: datetime | None = Field(default=None, sa_column=_ts())
    comment: str | None = Field(default=None, sa_column=Column(Text))
    hf_upvotes: int | None = None
    hf_summary: str | None = Field(default=None, sa_column=Column(Text))
    code_checked_at: datetime | None = Field(default=None, sa_column=_ts())
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False, index=True))


class Repo(SQLModel, table=True):
    __tablename__ = "repos"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True, index=True, max_length=REPO_URL_CHARS)  # https://github.com/owner/name
    stars: int | None = None
    language: str | None = Field(default=None, max_length=LABEL_CHARS)
    license: str | None = Field(default=None, max_length=LABEL_CHARS)
    pushed_at: datetime | None = Field(default=None, sa_column=_ts())
    archived: bool = False
    deleted: bool = False
    moved_to: str | None = Field(default=None, max_length=REPO_URL_CHARS)
    etag: str | None = Field(default=None, max_length=ETAG_CHARS)
    checked_at: datetime | None = Field(default=None, sa_column=_ts(index=True))


class StarSnapshot(SQLModel, table=True):
    __tablename__ = "star_snapshots"
    __table_args__ = (UniqueConstraint("repo_id", "taken_at"),)
    id: int | None = Field(default=None, primary_key=True)
    repo_id: int = Field(foreign_key="repos.id", index=True, ondelete="CASCADE")
    taken_at: datetime = Field(sa_column=_ts(nullable=False))
    stars: int


class PaperRepo(SQLModel, table=True):
    __tablename__ = "paper_repos"
    __table_args__ = (UniqueConstraint("paper_id", "repo_id"),)
    id: int | None = Field(default=None, primary_key=True)
    paper_id: int = Field(foreign_key="papers.id", index=True, ondelete="CASCADE")
    repo_id: int = Field(foreign_key="repos.id", index=True, ondelete="CASCADE")
    official: bool = False
    # abstract | comment | huggingface | pwc | github_search | manual
    found_by: str = Field(max_length=SOURCE_CHARS)
    framework: str | None = Field(default=None, max_length=FRAMEWORK_CHARS)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True, max_length=NAME_CHARS)
    name: str = Field(max_length=NAME_CHARS)
    area: str | None = Field(default=None, max_length=AREA_CHARS)
    description: str | None = Field(default=None, sa_column=Column(Text))
    parent_id: int | None = Field(default=None, foreign_key="tasks.id", index=True)  # subtasks: leaderboards
    # benchmark chosen upstream (PwC API priority) or by operator; else the rule in leaderboards
    default_benchmark_id: int | None = Field(default=None)
    synced_at: datetime | None = Field(default=None, sa_column=_ts())


class TaskAlias(SQLModel, table=True):
    __tablename__ = "task_aliases"
    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(unique=True, index=True, max_length=NAME_CHARS)  # normalised text
    task_id: int = Field(foreign_key="tasks.id", index=True, ondelete="CASCADE")
    source: str = Field(default="dump", max_length=SOURCE_CHARS)  # dump | curated | name | slug


class Dataset(SQLModel, table=True):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("name", "parent_id"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=NAME_CHARS)
    parent_id: int | None = Field(default=None, foreign_key="datasets.id")
    description: str | None = Field(default=None, sa_column=Column(Text))


class Benchmark(SQLModel, table=True):
    __tablename__ = "benchmarks"
    __table_args__ = (UniqueConstraint("task_id", "dataset_id"),)
    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", index=True, ondelete="CASCADE")
    dataset_id: int = Field(foreign_key="datasets.id", index=True)
    primary_metric_id: int | None = Field(default=None, foreign_key="metrics.id")
    priority: int | None = None  # upstream priority order (0 = first); None when unknown
    result_count: int = 0
    last_result_date: date | None = None
    external_id: str | None = Field(default=None, max_length=LABEL_CHARS)


class Metric(SQLModel, table=True):
    __tablename__ = "metrics"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=NAME_CHARS)
    direction: str = Field(default="unknown", max_length=10)  # higher | lower | unknown


class BenchmarkMetric(SQLModel, table=True):
    """The metrics a benchmark declares, in the order the source lists them."""

    __tablename__ = "benchmark_metrics"
    __table_args__ = (UniqueConstraint("benchmark_id", "metric_id"),)
    id: int | None = Field(default=None, primary_key=True)
    benchmark_id: int = Field(foreign_key="benchmarks.id", index=True, ondelete="CASCADE")
    metric_id: int = Field(foreign_key="metrics.id")
    position: int = 0


class Result(SQLModel, table=True):
    """One row of a leaderboard: a model's numbers on a benchmark, from one paper."""

    __tablename__ = "results"
    __table_args__ = (
        UniqueConstraint("benchmark_id", "model", "paper_key", name="uq_result"),
        Index("ix_results_benchmark_date", "benchmark_id", "result_date"),
    )
    id: int | None = Field(default=None, primary_key=True)
    benchmark_id: int = Field(foreign_key="benchmarks.id", ondelete="CASCADE")
    model: str = Field(max_length=MODEL_CHARS)
    # arxiv id or paper URL or "" : part of the unique key, never NULL (NULLs are distinct)
    paper_key: str = Field(default="", max_length=URL_CHARS)
    paper_id: int | None = Field(default=None, foreign_key="papers.id", index=True)
    paper_title: str | None = Field(default=None, sa_column=Column(Text))
    paper_url: str | None = Field(default=None, max_length=URL_CHARS)
    code_url: str | None = Field(default=None, max_length=URL_CHARS)
    result_date: date | None = None
    extra_data: bool = False
    source: str = Field(default="pwc_archive", max_length=SOURCE_CHARS)  # pwc_archive | pwc_api | hf | claim
    verified: bool = True
    evidence: str | None = Field(default=None, sa_column=Column(Text))  # claim sentence
    external_id: str | None = Field(default=None, max_length=LABEL_CHARS)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class ResultValue(SQLModel, table=True):
    """A metric value of a result: float when it parses, raw string always."""

    __tablename__ = "result_values"
    __table_args__ = (
        UniqueConstraint("result_id", "metric_id"),
        Index("ix_result_values_metric_value", "metric_id", "value"),
    )
    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="results.id", ondelete="CASCADE")
    metric_id: int = Field(foreign_key="metrics.id")
    value: float | None = None
    raw: str = Field(default="", max_length=RAW_VALUE_CHARS)


class ResultEvent(SQLModel, table=True):
    """new_result | new_sota | new_paper_with_code: the input of alerts."""

    __tablename__ = "result_events"
    __table_args__ = (UniqueConstraint("kind", "dedupe_key"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=SOURCE_CHARS, index=True)
    dedupe_key: str = Field(max_length=EVENT_KEY_CHARS)
    task_id: int | None = Field(default=None, foreign_key="tasks.id", index=True)
    # indexed: undoing an import (and any delete of a paper or result) asks whether an event refers to it
    benchmark_id: int | None = Field(default=None, foreign_key="benchmarks.id", index=True)
    result_id: int | None = Field(default=None, foreign_key="results.id", index=True)
    paper_id: int | None = Field(default=None, foreign_key="papers.id", index=True)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False, index=True))
    alerted_at: datetime | None = Field(default=None, sa_column=_ts(index=True))


class Channel(SQLModel, table=True):
    __tablename__ = "channels"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "channel"),
        # a channel found by its id under any spelling of its workspace (storage.channels.find_channel)
        Index("ix_channels_platform_channel", "platform", "channel"),
    )
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)  # slack | discord | terminal
    workspace: str = Field(max_length=LABEL_CHARS)  # Slack "E…:T…" or "T…"; Discord guild id
    channel: str = Field(max_length=LABEL_CHARS)
    name: str | None = Field(default=None, max_length=CHANNEL_NAME_CHARS)
    timezone: str = Field(default="UTC", max_length=TIMEZONE_CHARS)
    digest_enabled: bool = False
    digest_time: str = Field(default="09:00", max_length=5)  # HH:MM local
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    inactive_reason: str | None = Field(default=None, max_length=REASON_CHARS)
    last_digest_at: datetime | None = Field(default=None, sa_column=_ts())
    last_digest_date: date | None = None  # local date of the last queued digest
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Subscription(SQLModel, table=True):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("channel_id", "kind", "target"),)
    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)  # task | category | keyword
    target: str = Field(max_length=NAME_CHARS, index=True)  # task slug, arXiv category, keyword
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class Delivery(SQLModel, table=True):
    """The outbox: one row per message to send, unique per channel and dedupe key."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("channel_id", "dedupe_key"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id", index=True, ondelete="CASCADE")
    dedupe_key: str = Field(max_length=DELIVERY_KEY_CHARS)  # digest:2026-11-29, event:123, alerts:…
    kind: str = Field(default="message", max_length=32)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", max_length=16)  # pending | sending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_ts())


class SourceState(SQLModel, table=True):
    __tablename__ = "source_state"
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(unique=True, max_length=LABEL_CHARS)  # arxiv:rss:cs.CV, github, pwc:tasks, …
    cursor: str | None = Field(default=None, sa_column=Column(Text))
    etag: str | None = Field(default=None, max_length=STATE_ETAG_CHARS)
    last_success_at: datetime | None = Field(default=None, sa_column=_ts())
    last_error_at: datetime | None = Field(default=None, sa_column=_ts())
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    runs: int = Field(default=0, sa_type=BigInteger)
    snapshot_at: datetime | None = Field(default=None, sa_column=_ts())  # when upstream published what was imported


class ImportRun(SQLModel, table=True):
    """One archive file being imported in short transactions; it and its undo log go when it ends.

    A run still `running` with no importer holding the import lock was cut off (a crash, a
    kill): the next import or `sotabot run` start undoes it from `import_undo`.
    """

    __tablename__ = "import_runs"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=SOURCE_CHARS)
    source: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="running", max_length=16, index=True)  # running, done (log being dropped)
    started_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=_ts())


class ImportUndo(SQLModel, table=True):
    """What one write of an import run changed: the keys it inserted or the values it overwrote."""

    __tablename__ = "import_undo"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="import_runs.id", index=True)
    table_name: str = Field(max_length=64)
    op: str = Field(max_length=8)  # insert: rows are keys; update: rows are old values then the key
    columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    rows: list = Field(sa_column=Column(JSON, nullable=False))  # type: ignore[type-arg]
