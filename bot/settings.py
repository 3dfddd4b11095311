"""The whole config tree (`Config`): the chat layer's sections on top of every lower layer's."""

from __future__ import annotations

import os
import re
import typing
from dataclasses import dataclass, field
from typing import Literal

from sotabot.digests.settings import DigestsSettings
from sotabot.storage.config import NO_SECRET, ConfigError, Secret, load


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
    # Who may change a channel's subscriptions and digest: "everyone", "admins" (workspace
    # admins and owners, asked with users.info) or a list of user ids.
    managers: str | list[str] = "everyone"


@dataclass
class DiscordConfig:
    token: Secret = NO_SECRET
    application_id: str = ""
    guild_ids: list[int] = field(default_factory=list)
    api_url: str = "https://discord.com/api/v10"


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
class Config(DigestsSettings):
    """Everything `sotabot` reads from its TOML file and `SOTABOT_*` variables."""

    server: ServerConfig = field(default_factory=ServerConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)

    def validate(self) -> None:
        super().validate()
        for key, port in (("server.port", self.server.port), ("slack.port", self.slack.port)):
            if not 0 <= port <= 65535:
                raise ConfigError(key, f"must be a port number, got {port}")
        self.slack.managers = _managers(self.slack.managers)


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def _managers(value: str | list[str]) -> str | list[str]:
    """ "everyone", "admins" or user ids (a list, or "U1,U2" from the environment)."""
    if value in ("everyone", "admins"):
        return value
    ids = value if isinstance(value, list) else [v.strip() for v in value.split(",") if v.strip()]
    if not ids or not all(_SLACK_USER.match(i) for i in ids):
        raise ConfigError("slack.managers", f'must be "everyone", "admins" or a list of Slack user ids, got {value!r}')
    return ids


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: typing.Mapping[str, str] | None = None,
) -> Config:
    """Load and validate the configuration; raises ConfigError naming the bad key."""
    return load(Config, path, environ)
