"""The config sections of the sources layer: politeness, upstream URLs and intervals, metric directions."""

from __future__ import annotations

from dataclasses import dataclass, field

from sotabot.storage.config import NO_SECRET, YEAR_SECONDS, ConfigError, Secret, StorageConfig, require_positive


@dataclass
class HttpConfig:
    """Politeness and robustness shared by every upstream client."""

    timeout_seconds: float = 20.0
    max_retries: int = 5
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    max_body_bytes: int = 64 * 1024 * 1024
    # Wall-clock bounds: one request (connect, headers and the whole body, however slowly it
    # drips), one poll run, and the longest Retry-After waited out (longer: an error, retried
    # at the next poll).
    request_deadline_seconds: float = 120.0
    poll_deadline_seconds: float = 1800.0
    max_retry_after_seconds: float = 120.0


@dataclass
class ArxivConfig:
    rss_url: str = "https://rss.arxiv.org/rss"
    api_url: str = "https://export.arxiv.org/api"
    categories: list[str] = field(default_factory=lambda: ["cs.CV", "cs.LG", "cs.CL", "cs.AI"])
    contact: str = "sotabot-operator@example.org"
    min_interval_seconds: float = 3.0
    page_size: int = 100
    poll_interval_minutes: int = 60
    code_recheck_days: int = 5


@dataclass
class GithubConfig:
    api_url: str = "https://api.github.com"
    graphql_url: str = "https://api.github.com/graphql"
    token: Secret = NO_SECRET
    refresh_interval_minutes: int = 360
    search_per_minute: int = 30
    # A primary rate-limit pause longer than this ends the poll; the next one resumes after the reset.
    max_rate_limit_wait_seconds: float = 900.0


@dataclass
class HuggingfaceConfig:
    api_url: str = "https://huggingface.co/api"
    token: Secret = NO_SECRET
    poll_interval_minutes: int = 60
    # The Hub's official benchmark leaderboards (sources/upstream/hf_leaderboards.py); 0 turns them off.
    leaderboards_interval_minutes: int = 30


@dataclass
class PapersWithCodeConfig:
    api_url: str = "https://paperswithcode.co/api/v1"
    requests_per_second: float = 1.0
    max_body_bytes: int = 2 * 1024 * 1024
    poll_interval_minutes: int = 30
    tasks_per_poll: int = 150
    # Requests one poll may send, retries included (0: no limit); the poll stops cleanly there.
    requests_per_poll: int = 600
    catalog_refresh_hours: int = 24
    missing_recheck_days: int = 7
    resources_recheck_days: int = 14


@dataclass
class ArchiveConfig:
    """The Papers with Code archive on the Hugging Face Hub (`sotabot data update`)."""

    endpoint: str = ""  # empty: $HF_ENDPOINT, else https://huggingface.co
    revision: str = "main"
    tables_repo: str = "pwc-archive/evaluation-tables"
    links_repo: str = "pwc-archive/links-between-paper-and-code"
    papers_repo: str = "pwc-archive/papers-with-abstracts"
    auto_update: bool = False  # `sotabot run` updates in the background at start


@dataclass
class SourcesConfig:
    http: HttpConfig = field(default_factory=HttpConfig)
    arxiv: ArxivConfig = field(default_factory=ArxivConfig)
    github: GithubConfig = field(default_factory=GithubConfig)
    huggingface: HuggingfaceConfig = field(default_factory=HuggingfaceConfig)
    paperswithcode: PapersWithCodeConfig = field(default_factory=PapersWithCodeConfig)
    archive: ArchiveConfig = field(default_factory=ArchiveConfig)


@dataclass
class SourcesSettings(StorageConfig):
    """The config tree as the sources layer reads it."""

    sources: SourcesConfig = field(default_factory=SourcesConfig)
    # metric name (case-insensitive) -> "higher" | "lower": overrides inferred direction
    metrics: dict[str, str] = field(default_factory=dict)
    # task name -> "Dataset" or "Dataset | Metric": the benchmark the task opens on (beats the curated one)
    canonical: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        super().validate()
        require_positive(
            self,
            "sources.http.timeout_seconds",
            "sources.http.request_deadline_seconds",
            "sources.http.poll_deadline_seconds",
            "sources.http.max_body_bytes",
            "sources.arxiv.page_size",
            "sources.github.search_per_minute",
            "sources.paperswithcode.max_body_bytes",
            "sources.paperswithcode.tasks_per_poll",
        )
        # A rate paces: 0 would turn pacing off, and the pause between requests (1/rate) must fit a span's bound.
        rate = self.sources.paperswithcode.requests_per_second
        if not rate * YEAR_SECONDS >= 1:
            message = f"must be greater than 0 (at least one request a year), got {rate!r}"
            raise ConfigError("sources.paperswithcode.requests_per_second", message)
        for name, value in self.canonical.items():
            if not isinstance(value, str) or not value.partition("|")[0].strip():
                raise ConfigError(f"canonical.{name}", f"must be 'Dataset' or 'Dataset | Metric', got {value!r}")
        for name, direction in self.metrics.items():
            if direction not in ("higher", "lower"):
                raise ConfigError(f"metrics.{name}", f"must be 'higher' or 'lower', got {direction!r}")
