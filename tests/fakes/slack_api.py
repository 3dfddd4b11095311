"""A fake Slack Web API (chat.postMessage) on loopback, recording every message.

Faults on demand: a 429 with Retry-After on every Nth call, and channels that answer
`channel_not_found`. Each accepted post is recorded with its arrival time so tests can
check pacing and that nothing arrives before a Retry-After has passed.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from tests.fakes.upstream import FakeUpstream, LoggedRequest, Reply


@dataclass
class Post:
    channel: str
    text: str
    blocks: list
    at: float


@dataclass
class FakeSlackApi:
    rate_limit_every: int = 0  # 0 = never
    retry_after: float = 2.0
    gone_channels: set[str] = field(default_factory=set)
    failing_channels: set[str] = field(default_factory=set)  # answer internal_error every time
    delay: float = 0.0  # seconds each post takes, to keep sends in flight
    posts: list[Post] = field(default_factory=list)
    limited: list[tuple[str, float]] = field(default_factory=list)  # (channel, time of the 429)
    calls: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = FakeUpstream()
        self._server.route("/api/chat.postMessage", self._post_message, method="POST")
        self._server.route("/api/auth.test", lambda r: Reply.json({"ok": True, "user_id": "UBOT"}), method="POST")

    @property
    def url(self) -> str:
        return self._server.url + "/api/"

    def __enter__(self) -> FakeSlackApi:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def _post_message(self, req: LoggedRequest) -> Reply:
        if req.headers.get("content-type", "").startswith("application/json"):
            data = json.loads(req.body or b"{}")
        else:
            data = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
            if isinstance(data.get("blocks"), str):
                data["blocks"] = json.loads(data["blocks"])
        channel = str(data.get("channel", ""))
        if self.delay:
            time.sleep(self.delay)
        now = time.monotonic()
        with self._lock:
            self.calls += 1
            if self.rate_limit_every and self.calls % self.rate_limit_every == 0:
                self.limited.append((channel, now))
                return Reply.json(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(self.retry_after)}
                )
            if channel in self.gone_channels:
                return Reply.json({"ok": False, "error": "channel_not_found"})
            if channel in self.failing_channels:
                return Reply.json({"ok": False, "error": "internal_error"})
            self.posts.append(Post(channel, str(data.get("text", "")), data.get("blocks") or [], now))
        return Reply.json({"ok": True, "channel": channel, "ts": f"{now:.6f}"})

    def by_channel(self) -> dict[str, list[Post]]:
        out: dict[str, list[Post]] = {}
        for post in self.posts:
            out.setdefault(post.channel, []).append(post)
        return out
