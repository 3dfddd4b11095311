"""A fake Slack Web API (chat.postMessage, conversations.info, auth.test) on loopback, recording every message.

Faults on demand: a 429 with Retry-After on every Nth call, channels that answer
`channel_not_found`, and private channels the bot is not a member of (`not_in_channel` on
post, `is_member: false` from conversations.info) until `invite()` adds it. Each accepted
post is recorded with its arrival time (and thread_ts, unfurl flags) so tests can check
pacing and that nothing arrives before a Retry-After has passed.

Also the three calls of `files_upload_v2` (one file, FILE_ID) and slash-command response_urls
(`response_url(name)`; accepted messages in `answers`). With `reject_slack_files`, a message with
an image block showing an uploaded file is refused as Slack refuses one whose file is not yet
processed or not shared (slackapi/bolt-python#1251, python-slack-sdk#1521): chat.postMessage with
HTTP 200 and `invalid_blocks` plus the json-pointer of the block, a response_url with HTTP 404 and
`{"ok": false, "error": "invalid_blocks"}` (java-slack-sdk#1349).
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
    ts: str = ""
    thread_ts: str | None = None
    unfurl_links: object = None  # as sent: None when the call left it out
    unfurl_media: object = None


FILE_ID = "F0CHART0001"
PERMALINK = f"https://sotabot-test.slack.com/files/UBOT/{FILE_ID}/chart.png"


def _slack_file_pointers(blocks: object) -> list[str]:
    """json-pointers of the image blocks that show an uploaded file."""
    return [f"/blocks/{i}/slack_file" for i, b in enumerate(blocks if isinstance(blocks, list) else [])
            if isinstance(b, dict) and b.get("type") == "image" and b.get("slack_file")]


@dataclass
class FakeSlackApi:
    rate_limit_every: int = 0  # 0 = never
    retry_after: float = 2.0
    gone_channels: set[str] = field(default_factory=set)
    failing_channels: set[str] = field(default_factory=set)  # answer internal_error every time
    not_member: set[str] = field(default_factory=set)  # private channels the bot is not in
    admins: set[str] = field(default_factory=set)  # users.info says is_admin for these
    delay: float = 0.0  # seconds each post takes, to keep sends in flight
    reject_slack_files: bool = False  # image blocks showing an uploaded file: invalid_blocks
    answers: list[dict] = field(default_factory=list)  # messages accepted through a response_url
    rejected: list[dict] = field(default_factory=list)  # messages refused as invalid_blocks
    posts: list[Post] = field(default_factory=list)
    limited: list[tuple[str, float]] = field(default_factory=list)  # (channel, time of the 429)
    calls: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = FakeUpstream()
        self._server.route("/api/chat.postMessage", self._post_message, method="POST")
        self._server.route("/api/auth.test", lambda r: Reply.json({"ok": True, "user_id": "UBOT"}), method="POST")
        self._server.route("/api/files.getUploadURLExternal", self._upload_url, method="POST")
        self._server.route(f"/upload/v1/{FILE_ID}", Reply(200, b"OK", {"Content-Type": "text/plain"}), method="POST")
        self._server.route("/api/files.completeUploadExternal", Reply.json(
            {"ok": True, "files": [{"id": FILE_ID, "title": "chart", "permalink": PERMALINK}]}), method="POST")
        for method in ("GET", "POST"):  # slack_sdk sends conversations.info and users.info as GETs
            self._server.route("/api/conversations.info", self._conversation_info, method=method)
            self._server.route("/api/users.info", self._user_info, method=method)

    @property
    def url(self) -> str:
        return self._server.url + "/api/"

    def __enter__(self) -> FakeSlackApi:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def response_url(self, name: str) -> str:
        """A slash command's response_url."""
        self._server.route(f"/commands/T111/{name}", self._respond, method="POST")
        return f"{self._server.url}/commands/T111/{name}"

    def _upload_url(self, req: LoggedRequest) -> Reply:
        return Reply.json({"ok": True, "upload_url": f"{self._server.url}/upload/v1/{FILE_ID}", "file_id": FILE_ID})

    def _respond(self, req: LoggedRequest) -> Reply:
        data = self._data(req)
        with self._lock:
            if self.reject_slack_files and _slack_file_pointers(data.get("blocks")):
                self.rejected.append(data)
                return Reply.json({"ok": False, "error": "invalid_blocks"}, status=404)
            self.answers.append(data)
        return Reply(200, b"ok", {"Content-Type": "text/plain"})

    def requests_to(self, method: str) -> list[LoggedRequest]:
        """The calls of one Web API method ("conversations.info"), oldest first."""
        return self._server.requests_to(f"/api/{method}")

    def invite(self, channel: str) -> None:
        """The bot is added to a private channel."""
        self.not_member.discard(channel)

    @staticmethod
    def _data(req: LoggedRequest) -> dict:
        if req.headers.get("content-type", "").startswith("application/json"):
            return json.loads(req.body or b"{}")
        data = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if isinstance(data.get("blocks"), str):
            data["blocks"] = json.loads(data["blocks"])
        return data

    def _user_info(self, req: LoggedRequest) -> Reply:
        user = str({**{k: v[0] for k, v in req.query.items()}, **(self._data(req) if req.body else {})}.get("user"))
        return Reply.json({"ok": True, "user": {"id": user, "is_admin": user in self.admins, "is_owner": False}})

    def _conversation_info(self, req: LoggedRequest) -> Reply:
        query = {k: v[0] for k, v in req.query.items()}
        channel = str({**query, **(self._data(req) if req.body else {})}.get("channel", ""))
        if channel in self.gone_channels:
            return Reply.json({"ok": False, "error": "channel_not_found"})
        private = channel in self.not_member or channel.startswith("G")
        return Reply.json({"ok": True, "channel": {
            "id": channel, "is_channel": True, "is_private": private, "is_archived": False,
            "is_member": channel not in self.not_member,
        }})

    def _post_message(self, req: LoggedRequest) -> Reply:
        data = self._data(req)
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
            if channel in self.not_member:
                return Reply.json({"ok": False, "error": "not_in_channel"})
            if channel in self.failing_channels:
                return Reply.json({"ok": False, "error": "internal_error"})
            pointers = _slack_file_pointers(data.get("blocks")) if self.reject_slack_files else []
            if pointers:
                self.rejected.append(data)
                errors = [f"invalid slack file [json-pointer:{p}]" for p in pointers]
                return Reply.json({"ok": False, "error": "invalid_blocks", "errors": errors,
                                   "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]}})
            ts = f"{1_700_000_000 + len(self.posts)}.{self.calls:06d}"
            self.posts.append(Post(channel, str(data.get("text", "")), data.get("blocks") or [], now, ts,
                                   data.get("thread_ts"), data.get("unfurl_links"), data.get("unfurl_media")))
        return Reply.json({"ok": True, "channel": channel, "ts": ts})

    def by_channel(self) -> dict[str, list[Post]]:
        out: dict[str, list[Post]] = {}
        for post in self.posts:
            out.setdefault(post.channel, []).append(post)
        return out
