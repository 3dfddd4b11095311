"""Configuration: TOML file, then `SOTABOT_<SECTION>__<KEY>` environment overrides.

The machinery lives at the bottom layer; each layer declares the sections it owns
(`sources/settings.py`, `digests/settings.py`, `bot/settings.py`, which assembles the whole
tree as `Config`). Every key has a type and default, so `config.example.toml` can document
all of them and a wrong value fails at start naming the key (the CLI exits 2).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

ENV_PREFIX = "SOTABOT_"
C = typing.TypeVar("C", bound="StorageConfig")


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
    # SQLite: how long a write waits for another writer before it fails (and is retried).
    busy_timeout_seconds: float = 30.0


@dataclass
class LogConfig:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


@dataclass
class StorageConfig:
    """The root of the config tree as the storage layer sees it; each layer above extends it.

    `sources.settings.SourcesSettings`, `digests.settings.DigestsSettings` and finally
    `bot.settings.Config` add their own sections, so no layer declares keys it does not own.
    """

    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    log: LogConfig = field(default_factory=LogConfig)

    source_path: ClassVar[Path | None] = None

    def secrets(self) -> dict[str, bool]:
        """Which secrets are set, by dotted key, without their values (for `doctor`)."""
        return {key: bool(value) for key, value in walk(self) if isinstance(value, Secret)}

    def validate(self) -> None:
        """Checks across keys; layers extend it (call super()). Raises ConfigError naming the key."""
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", self.database.url):
            raise ConfigError("database.url", "must be a sqlite:// or postgresql+psycopg:// URL")
        # URLs by key name: `*_url` always, `*endpoint` unless empty (empty: the library's default).
        for key, value in walk(self):
            if (key.endswith("_url") and key != "database.url") or (key.endswith("endpoint") and value != ""):
                check_http_url(key, value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                check_number(key, value)
        busy = self.database.busy_timeout_seconds
        if not BUSY_TIMEOUT_MIN_SECONDS <= busy <= BUSY_TIMEOUT_MAX_SECONDS:
            raise ConfigError(
                "database.busy_timeout_seconds",
                f"must be between {BUSY_TIMEOUT_MIN_SECONDS} and {BUSY_TIMEOUT_MAX_SECONDS} "
                f"(SQLite counts it in milliseconds in a 32-bit int), got {busy!r}",
            )


# Upper bounds by unit: a span longer than this is a typo, and longer ones overflow the
# scheduler's and datetime's arithmetic (`sources.arxiv.poll_interval_minutes = 99999999999`
# puts the next run past the year 9999). Counts, sizes and rates share one bound.
YEAR_SECONDS = 366 * 86400
SPAN_LIMITS = {"_seconds": YEAR_SECONDS, "_minutes": YEAR_SECONDS // 60, "_hours": YEAR_SECONDS // 3600, "_days": 3660}
COUNT_LIMIT = 2**31 - 1
# SQLite keeps its busy timeout in milliseconds in a C int: a longer one wraps and a shorter
# one rounds down, both to 0 (fail at once, the opposite of waiting).
BUSY_TIMEOUT_MIN_SECONDS = 0.001
BUSY_TIMEOUT_MAX_SECONDS = COUNT_LIMIT // 1000
HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?")


def check_number(key: str, value: float) -> None:
    """Finite, not negative, and within the bound its unit allows (the suffix of its name)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(key, f"must be a finite number, got {value!r}")
    if value < 0:
        raise ConfigError(key, f"must not be negative, got {value!r}")
    limit = next((n for suffix, n in SPAN_LIMITS.items() if key.endswith(suffix)), COUNT_LIMIT)
    if value > limit:
        raise ConfigError(key, f"must be at most {limit}, got {value!r}")


def require_positive(cfg: Any, *keys: str) -> None:
    """Keys where 0 cannot work (a lease, a timeout, a batch size): each must be above 0."""
    for key in keys:
        value: Any = cfg
        for part in key.split("."):
            value = getattr(value, part)
        if not value > 0:
            raise ConfigError(key, f"must be greater than 0, got {value!r}")


def check_http_url(key: str, value: str) -> None:
    """An http(s) URL with a host that can be resolved as written (no spaces, a valid port)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https"):
        raise ConfigError(key, f"must be an http(s) URL, got {value!r}")
    host = parts.hostname or ""
    is_ip6 = parts.netloc.split("@")[-1].startswith("[")
    if not host or (not is_ip6 and not HOSTNAME.fullmatch(host)) or any(c.isspace() for c in value):
        raise ConfigError(key, f"must be a URL with a valid host name, got {value!r}")
    if port == 0:
        raise ConfigError(key, f"must not use port 0, got {value!r}")


def walk(obj: Any, prefix: str = "") -> typing.Iterator[tuple[str, Any]]:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from walk(value, key + ".")
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
        if len(inner) < len(typing.get_args(tp)) and (raw is None or (from_env and raw == "")):
            return None
        error: ConfigError | None = None
        for option in inner:  # the first type the value fits (`str | list[str]`: a word or a list)
            try:
                return _coerce(key, option, raw, from_env)
            except ConfigError as exc:
                error = error or exc
        assert error is not None
        raise error
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
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(key, f"must be a finite number, got {raw!r}")
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


def default_path(explicit: str | os.PathLike[str] | None, environ: typing.Mapping[str, str]) -> Path | None:
    """`--config`, else `$SOTABOT_CONFIG`, else `./sotabot.toml` if present, else none."""
    if explicit:
        return Path(explicit)
    if environ.get("SOTABOT_CONFIG"):
        return Path(environ["SOTABOT_CONFIG"])
    local = Path("sotabot.toml")
    return local if local.exists() else None


def load(
    cls: type[C],
    path: str | os.PathLike[str] | None = None,
    environ: typing.Mapping[str, str] | None = None,
) -> C:
    """Load and validate a config tree of class `cls`; raises ConfigError naming the bad key."""
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
    cfg = _build(cls, _merge(data, overrides), "", env_keys)
    cfg.validate()
    cls.source_path = file_path
    return cfg
