"""Configuration: TOML file, then `SOTABOT_<SECTION>__<KEY>` environment overrides.

It lives at the bottom layer so every package can read it. Every key is declared here with
its type and default, so `config.example.toml` can document all of them and a wrong value
fails at start naming the key (the CLI turns `ConfigError` into exit code 2).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "SOTABOT_"


class ConfigError(ValueError):
    """A config value is wrong; `key` is the dotted name the user has to fix."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config {key}: {message}")
        self.key = key


class Secret(str):
    """A string that never shows itself in repr, logs or tracebacks."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"

    def reveal(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:  # f-strings and logging call __str__/__format__
        return "***" if self else ""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


NO_SECRET = Secret("")


@dataclass
class DatabaseConfig:
    url: str = "sqlite:///sotabot.db"
    echo: bool = False


@dataclass
class LogConfig:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


@dataclass
class ServerConfig:
    """The HTTP port for /healthz, /metrics and, in Slack HTTP mode, /slack/events."""

    host: str = "127.0.0.1"
    port: int = 3000
    enabled: bool = True


@dataclass
class SlackConfig:
    bot_token: Secret = NO_SECRET
    app_token: Secret = NO_SECRET
    signing_secret: Secret = NO_SECRET
    mode: Literal["socket", "http"] = "socket"
    port: int = 3000
    path: str = "/slack/events"
    api_url: str = "https://slack.com/api/"
    command: str = "/sota"


@dataclass
class DiscordConfig:
    token: Secret = NO_SECRET
    application_id: str = ""
    guild_ids: list[int] = field(default_factory=list)
    api_url: str = "https://discord.com/api/v10"


@dataclass
class HttpConfig:
    """Politeness and robustness shared by every upstream client."""

    timeout_seconds: float = 20.0
    max_retries: int = 5
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    max_body_bytes: int = 64 * 1024 * 1024


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


@dataclass
class PapersWithCodeConfig:
    api_url: str = "https://paperswithcode.co/api/v1"
    requests_per_second: float = 1.0
    max_body_bytes: int = 2 * 1024 * 1024
    poll_interval_minutes: int = 120
    tasks_per_poll: int = 50


@dataclass
class SourcesConfig:
    http: HttpConfig = field(default_factory=HttpConfig)
    arxiv: ArxivConfig = field(default_factory=ArxivConfig)
    github: GithubConfig = field(default_factory=GithubConfig)
    huggingface: HuggingfaceConfig = field(default_factory=HuggingfaceConfig)
    paperswithcode: PapersWithCodeConfig = field(default_factory=PapersWithCodeConfig)


@dataclass
class DigestConfig:
    default_time: str = "09:00"
    default_timezone: str = "UTC"
    grace_minutes: int = 180
    send_empty: bool = False
    max_new_papers: int = 10
    max_trending: int = 5
    tick_seconds: int = 60


@dataclass
class DeliveryConfig:
    concurrency: int = 8
    per_channel_interval_seconds: float = 1.0
    max_attempts: int = 8
    backoff_base_seconds: float = 5.0
    # A send claimed by a process that then died is retried after this long.
    lease_seconds: float = 300.0
    # Rate-limit waits up to this long happen in place; longer ones reschedule the delivery.
    max_inline_wait_seconds: float = 60.0


@dataclass
class SchedulerConfig:
    enabled: bool = True
    misfire_grace_seconds: int = 300


@dataclass
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    log: LogConfig = field(default_factory=LogConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    # metric name (case-insensitive) -> "higher" | "lower": overrides inferred direction
    metrics: dict[str, str] = field(default_factory=dict)

    source_path: ClassVar[Path | None] = None

    def secrets(self) -> dict[str, bool]:
        """Which secrets are set, by dotted key, without their values (for `doctor`)."""
        return {key: bool(value) for key, value in _walk(self) if isinstance(value, Secret)}


def _walk(obj: Any, prefix: str = "") -> typing.Iterator[tuple[str, Any]]:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from _walk(value, key + ".")
        else:
            yield key, value


def _suggest(name: str, choices: typing.Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _coerce(key: str, tp: Any, raw: Any, from_env: bool) -> Any:
    """Turn a TOML or env value into the declared type, or fail naming the key."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        allowed = typing.get_args(tp)
        value = raw.upper() if from_env and isinstance(raw, str) and key.endswith("level") else raw
        if value not in allowed:
            raise ConfigError(key, f"must be one of {', '.join(map(repr, allowed))}, got {raw!r}")
        return value
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        if raw is None or (from_env and raw == ""):
            return None
        return _coerce(key, inner[0], raw, from_env)
    if tp is Secret:
        if not isinstance(raw, str):
            raise ConfigError(key, "must be a string")
        return Secret(raw)
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        if from_env and isinstance(raw, str) and raw.lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return raw.lower() in {"1", "true", "yes", "on"}
        raise ConfigError(key, f"must be true or false, got {raw!r}")
    if tp in (int, float):
        if isinstance(raw, bool):
            raise ConfigError(key, f"must be a number, got {raw!r}")
        try:
            value = tp(raw) if (from_env or isinstance(raw, int | float)) else None
        except ValueError:
            value = None
        if value is None or (tp is int and isinstance(raw, float) and not raw.is_integer()):
            raise ConfigError(key, f"must be {'an integer' if tp is int else 'a number'}, got {raw!r}")
        if value < 0:
            raise ConfigError(key, f"must not be negative, got {raw!r}")
        return value
    if tp is str:
        if not isinstance(raw, str):
            raise ConfigError(key, f"must be a string, got {raw!r}")
        return raw
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if from_env and isinstance(raw, str):
            raw = [part.strip() for part in raw.split(",") if part.strip()]
        if not isinstance(raw, list):
            raise ConfigError(key, f"must be a list, got {raw!r}")
        return [_coerce(f"{key}[{i}]", item_tp, item, from_env) for i, item in enumerate(raw)]
    if origin is dict:
        if not isinstance(raw, dict):
            raise ConfigError(key, f"must be a table, got {raw!r}")
        _, val_tp = typing.get_args(tp)
        return {str(k): _coerce(f"{key}.{k}", val_tp, v, from_env) for k, v in raw.items()}
    raise ConfigError(key, f"unsupported type {tp!r}")  # pragma: no cover - schema bug


def _build(cls: type, data: dict[str, Any], prefix: str, env_keys: set[str]) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for name in data:
        if name not in names:
            raise ConfigError(f"{prefix}{name}", "unknown key" + _suggest(name, names))
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        tp = hints[f.name]
        if f.name not in data:
            continue
        raw = data[f.name]
        if dataclasses.is_dataclass(tp):
            if not isinstance(raw, dict):
                raise ConfigError(key, "must be a table")
            kwargs[f.name] = _build(tp, raw, key + ".", env_keys)
        else:
            kwargs[f.name] = _coerce(key, tp, raw, key in env_keys)
    return cls(**kwargs)


def _env_overrides(environ: typing.Mapping[str, str]) -> tuple[dict[str, Any], set[str]]:
    tree: dict[str, Any] = {}
    keys: set[str] = set()
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if any(not p for p in parts):
            continue
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(".".join(parts), "conflicting environment overrides")
        node[parts[-1]] = value
        keys.add(".".join(parts))
    return tree, keys


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _validate(cfg: Config) -> None:
    for key in ("digest.default_time",):
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", cfg.digest.default_time):
            raise ConfigError(key, f"must be HH:MM, got {cfg.digest.default_time!r}")
    try:
        ZoneInfo(cfg.digest.default_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("digest.default_timezone", f"unknown time zone {cfg.digest.default_timezone!r}") from None
    for name, direction in cfg.metrics.items():
        if direction not in ("higher", "lower"):
            raise ConfigError(f"metrics.{name}", f"must be 'higher' or 'lower', got {direction!r}")
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", cfg.database.url):
        raise ConfigError("database.url", "must be a sqlite:// or postgresql+psycopg:// URL")
    for key, value in _walk(cfg):
        if key.endswith("_url") and key != "database.url" and not re.match(r"^https?://", value):
            raise ConfigError(key, f"must be an http(s) URL, got {value!r}")
    for key in ("server.port", "slack.port"):
        port = cfg.server.port if key == "server.port" else cfg.slack.port
        if not 0 <= port <= 65535:
            raise ConfigError(key, f"must be a port number, got {port}")


def default_path(explicit: str | os.PathLike[str] | None, environ: typing.Mapping[str, str]) -> Path | None:
    """`--config`, else `$SOTABOT_CONFIG`, else `./sotabot.toml` if present, else none."""
    if explicit:
        return Path(explicit)
    if environ.get("SOTABOT_CONFIG"):
        return Path(environ["SOTABOT_CONFIG"])
    local = Path("sotabot.toml")
    return local if local.exists() else None


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: typing.Mapping[str, str] | None = None,
) -> Config:
    """Load and validate the configuration; raises ConfigError naming the bad key."""
    environ = os.environ if environ is None else environ
    file_path = default_path(path, environ)
    data: dict[str, Any] = {}
    if file_path is not None:
        try:
            with open(file_path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError("--config", f"file not found: {file_path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("--config", f"{file_path} is not valid TOML: {exc}") from None
    overrides, env_keys = _env_overrides(environ)
    cfg = _build(Config, _merge(data, overrides), "", env_keys)
    _validate(cfg)
    Config.source_path = file_path
    return cfg
