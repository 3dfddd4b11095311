"""The config sections of the digests layer: digest defaults and the scheduler."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sotabot.sources.settings import SourcesSettings
from sotabot.storage.config import ConfigError, require_positive


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
class SchedulerConfig:
    enabled: bool = True
    misfire_grace_seconds: int = 300


@dataclass
class DigestsSettings(SourcesSettings):
    """The config tree as the digests layer reads it."""

    digest: DigestConfig = field(default_factory=DigestConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)

    def validate(self) -> None:
        super().validate()
        require_positive(self, "digest.tick_seconds", "scheduler.misfire_grace_seconds")
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", self.digest.default_time):
            raise ConfigError("digest.default_time", f"must be HH:MM, got {self.digest.default_time!r}")
        try:
            ZoneInfo(self.digest.default_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                "digest.default_timezone", f"unknown time zone {self.digest.default_timezone!r}"
            ) from None
