"""The real Bolt app in HTTP mode on a loopback port, fed signed (and forged) slash commands.

Requests keep the body shape of Bolt's own slash-command fixture; the answer must reach a
local fake `response_url`, and chart uploads a local fake Web API (`slack.api_url`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sotabot.bot.platforms.slack import (
    build_http_app,
    build_slack_app,
    build_socket_mode_handler,
    close_slack_app,
    context_from_body,
    deliver_payloads,
    render_payloads,
    workspace_key,
)
from sotabot.bot.settings import Config
from sotabot.digests.message import Image, Message, Section
from sotabot.storage.config import ConfigError, Secret
from sotabot.storage.models import Channel, Subscription
from tests.bot.platform_limits import slack_problems
from tests.bot.seed_leaderboards import IMAGENET_MODELS, TOP_MODEL, seed_leaderboards
from tests.fakes.upstream import FakeUpstream, LoggedRequest, Reply

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ACK_DEADLINE = 3.0
ANSWER_TIMEOUT = 20.0


@dataclass
class FakeSlack:
    """response_url endpoints and the Web API calls of files_upload_v2, on one local server."""

    server: FakeUpstream

    @property
    def api_url(self) -> str:
        return self.server.url + "/api/"

    def response_url(self, name: str) -> str:
        return f"{self.server.url}/commands/T111/{name}/xxxxx"

    def answers(self, name: str) -> list[dict]:
        return [json.loads(r.body) for r in self.server.requests_to(f"/commands/T111/{name}/")]

    async def wait_for_answers(self, name: str, count: int = 1) -> list[dict]:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while time.monotonic() < deadline:
            got = self.answers(name)
            if len(got) >= count:
                return got
            await asyncio.sleep(0.02)
        raise AssertionError(f"no answer reached response_url {name!r} within {ANSWER_TIMEOUT}s")


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeUpstream() as server:
        fake = FakeSlack(server)

        def get_upload_url(req: LoggedRequest) -> Reply:
            return Reply.json({"ok": True, "upload_url": f"{server.url}/upload/v1/F0001", "file_id": "F0001"})

        server.route("/api/files.getUploadURLExternal", get_upload_url, method="POST")
        server.route("/upload/v1/F0001", Reply(200, b"OK - 1234", {"Content-Type": "text/plain"}), method="POST")
        server.route(
            "/api/files.completeUploadExternal",
            Reply.json({"ok": True, "files": [{"id": "F0001", "title": "chart"}]}),
            method="POST",
        )
        server.route("/api/auth.test", Reply.json({"ok": True, "user_id": "UBOT", "team_id": "T111"}), method="POST")
        for name in ("sota", "subscribe", "typo", "chart", "forged", "stale", "valid"):
            server.route(f"/commands/T111/{name}/xxxxx", Reply(200, b"ok", {"Content-Type": "text/plain"}), "POST")
        yield fake


def slack_config(fake: FakeSlack, **slack: object) -> Config:
    config = Config()
    config.slack.mode = "http"
    config.slack.signing_secret = Secret(SECRET)
    config.slack.api_url = fake.api_url
    for key, value in slack.items():
        setattr(config.slack, key, value)
    return config


@pytest.fixture(scope="module")
def bolt_body(fixture_files) -> str:
    """Bolt's own slash-command fixture body, form-encoded."""
    return (fixture_files.upstream / "slack_slash_command_body_bolt.txt").read_text()


@pytest.fixture(scope="module")
def slash_body(bolt_body: str) -> Callable[..., bytes]:
    """`slash_body(text, response_url, command="/sota")`: Bolt's fixture body with our command, text and
    response_url, re-encoded the same way."""

    def build(text: str, response_url: str, command: str = "/sota") -> bytes:
        fields = dict(parse_qsl(bolt_body, keep_blank_values=True))
        fields.update(command=command, text=text, response_url=response_url)
        return urlencode(fields).encode()

    return build


def signed_headers(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


@dataclass
class BotServer:
    base: str
    http: aiohttp.ClientSession

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, float]:
        started = time.monotonic()
        async with self.http.post(self.base + "/slack/events", data=body, headers=headers) as resp:
            return resp.status, await resp.text(), time.monotonic() - started


async def serve(engine: Engine, config: Config, **kwargs: object) -> tuple[TestServer, str]:
    app = build_http_app(engine, config, build_slack_app(engine, config, **kwargs))  # type: ignore[arg-type]
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    return server, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def bot(engine: Engine, fake_slack: FakeSlack) -> AsyncIterator[BotServer]:
    seed_leaderboards(engine)
    server, base = await serve(engine, slack_config(fake_slack, bot_token=Secret("xoxb-test-token")))
    async with aiohttp.ClientSession() as http:
        yield BotServer(base, http)
    await server.close()


def answer_text(answer: dict) -> str:
    return json.dumps(answer.get("blocks", [])) + answer.get("text", "")


def count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


async def test_a_signed_sota_command_is_acked_in_time_and_the_leaderboard_reaches_response_url(
    bot, fake_slack, slash_body
):
    body = slash_body("image classification", fake_slack.response_url("sota"))
    status, ack_body, elapsed = await bot.post(body, signed_headers(body))
    assert status == 200
    assert ack_body == ""  # a bare ack: the answer follows through response_url
    assert elapsed < ACK_DEADLINE
    (answer,) = await fake_slack.wait_for_answers("sota")
    assert answer["response_type"] == "in_channel"
    text = answer_text(answer)
    assert "ImageNet" in text
    assert TOP_MODEL in text
    assert all(model in text for model, *_ in IMAGENET_MODELS[:3])
    assert slack_problems([{"text": answer["text"], "blocks": answer["blocks"]}]) == []


async def test_a_typo_still_gets_the_task_or_a_did_you_mean_naming_it(bot, fake_slack, slash_body):
    body = slash_body("imagge clasification", fake_slack.response_url("typo"))
    status, _, _ = await bot.post(body, signed_headers(body))
    assert status == 200
    (answer,) = await fake_slack.wait_for_answers("typo")
    text = answer_text(answer)
    # resolved to the task, or a "did you mean" that names it
    assert TOP_MODEL in text or "Image Classification" in text


async def test_a_forged_signature_gets_401_and_subscribes_nothing(bot, fake_slack, engine, slash_body):
    body = slash_body("subscribe image-classification", fake_slack.response_url("forged"))
    status, _, _ = await bot.post(body, signed_headers(body, secret="not-the-signing-secret"))
    assert status == 401
    headers = signed_headers(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    status, _, _ = await bot.post(body, headers)
    assert status == 401
    unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, _ = await bot.post(body, unsigned)
    assert status == 401
    assert count(engine, Subscription) == 0
    assert count(engine, Channel) == 0
    assert fake_slack.answers("forged") == []


async def test_a_body_changed_after_signing_gets_401(bot, fake_slack, engine, slash_body):
    body = slash_body("sota image classification", fake_slack.response_url("forged"))
    headers = signed_headers(body)
    tampered = slash_body("subscribe image-classification", fake_slack.response_url("forged"))
    status, _, _ = await bot.post(tampered, headers)
    assert status == 401
    assert count(engine, Subscription) == 0
    assert fake_slack.answers("forged") == []


async def test_a_timestamp_older_than_five_minutes_gets_401_and_changes_nothing(bot, fake_slack, engine, slash_body):
    body = slash_body("subscribe image-classification", fake_slack.response_url("stale"))
    status, _, _ = await bot.post(body, signed_headers(body, timestamp=int(time.time()) - 5 * 60 - 30))
    assert status == 401
    assert count(engine, Subscription) == 0
    assert count(engine, Channel) == 0
    assert fake_slack.answers("stale") == []


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "９９", "-5", "99999999999999999999"])
async def test_a_malformed_timestamp_gets_401_without_a_traceback(
    bot, fake_slack, engine, slash_body, caplog, timestamp
):
    body = slash_body("subscribe image-classification", fake_slack.response_url("garbage"))
    headers = {**signed_headers(body), "X-Slack-Request-Timestamp": timestamp}
    with caplog.at_level(logging.DEBUG):
        status, _, _ = await bot.post(body, headers)
    assert status == 401
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    assert count(engine, Subscription) == 0


async def test_rejected_requests_are_logged_at_debug_without_their_body(bot, fake_slack, slash_body, caplog):
    body = slash_body("subscribe image-classification", fake_slack.response_url("forged"))
    headers = signed_headers(body, secret="not-the-secret")
    with caplog.at_level(logging.DEBUG):
        status, _, _ = await bot.post(body, headers)
    assert status == 401
    rejected = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert [r.levelno for r in rejected] == [logging.DEBUG]
    for needle in ("image-classification", "response_url", "W111", "hooks"):
        assert needle not in caplog.text


async def test_the_same_subscribe_correctly_signed_does_subscribe_the_channel(bot, fake_slack, engine, slash_body):
    body = slash_body("subscribe image-classification", fake_slack.response_url("valid"))
    status, _, elapsed = await bot.post(body, signed_headers(body))
    assert (status, elapsed < ACK_DEADLINE) == (200, True)
    await fake_slack.wait_for_answers("valid")
    with Session(engine) as s:
        (channel,) = s.exec(select(Channel)).all()
        subs = s.exec(select(Subscription)).all()
    # the fixture body carries enterprise_id E111 and team_id T111
    assert (channel.platform, channel.workspace, channel.channel) == ("slack", "E111:T111", "C111")
    assert [(sub.channel_id, sub.target) for sub in subs] == [(channel.id, "image-classification")]


async def test_when_the_answer_queue_is_full_a_command_is_still_acked_and_told_busy(engine, fake_slack, slash_body):
    seed_leaderboards(engine)
    server, base = await serve(engine, slack_config(fake_slack), max_pending=0)
    try:
        async with aiohttp.ClientSession() as http:
            body = slash_body("subscribe image-classification", fake_slack.response_url("sota"))
            status, _, elapsed = await BotServer(base, http).post(body, signed_headers(body))
        assert (status, elapsed < ACK_DEADLINE) == (200, True)
        (answer,) = await fake_slack.wait_for_answers("sota")
    finally:
        await server.close()
    assert answer["response_type"] == "ephemeral"
    assert "busy" in answer_text(answer)
    assert count(engine, Subscription) == 0  # not computed at all


async def test_healthz_answers_ok_when_the_database_does(bot):
    async with bot.http.get(bot.base + "/healthz") as resp:
        assert (resp.status, await resp.text()) == (200, "ok")


def test_channels_are_keyed_by_enterprise_and_team_when_there_is_an_enterprise(bolt_body):
    assert workspace_key("E111", "T111") == "E111:T111"
    assert workspace_key(None, "T111") == "T111"
    assert workspace_key("", "T222") == "T222"
    body = dict(parse_qsl(bolt_body))
    ctx = context_from_body(body)
    assert (ctx.platform, ctx.workspace, ctx.channel, ctx.user) == ("slack", "E111:T111", "C111", "W111")
    assert ctx.can_manage is True  # Slack: every member may manage by default (documented)
    assert context_from_body(body, can_manage=lambda b: b["user_id"] == "W999").can_manage is False


def test_http_mode_refuses_to_start_without_a_signing_secret(engine, fake_slack):
    config = slack_config(fake_slack, signing_secret=Secret(""))
    with pytest.raises(ConfigError) as err:
        build_slack_app(engine, config)
    assert err.value.key == "slack.signing_secret"


async def deliver_reply(msg: Message, channel: str, respond: AsyncRespond, client: AsyncWebClient | None) -> None:
    """What the app does with a computed answer (Answerer.compute, then .answer): render, then deliver."""
    await deliver_payloads(render_payloads(msg), msg.ephemeral, channel, respond, client)


async def test_the_chart_is_uploaded_first_and_shown_inside_the_answer(fake_slack, tmp_path: Path):
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    msg = Message(text="Leaderboard", blocks=[Section("**Leaderboard**"), Image(alt="SOTA over time", path=str(chart))])
    respond = AsyncRespond(response_url=fake_slack.response_url("chart"))
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
    await deliver_reply(msg, "C111", respond, client)
    (answer,) = fake_slack.answers("chart")
    assert answer["response_type"] == "in_channel"
    image = answer["blocks"][-1]
    assert image == {"type": "image", "slack_file": {"id": "F0001"}, "alt_text": "SOTA over time"}
    Block.parse(image).validate_json()
    complete = fake_slack.server.requests_to("/api/files.completeUploadExternal")
    assert len(complete) == 1
    params = {k: v[0] for k, v in complete[0].query.items()} | dict(parse_qsl(complete[0].body.decode()))
    assert "channel_id" not in params  # not shared to the channel on its own: it is part of the answer
    assert complete[0].headers["authorization"] == "Bearer xoxb-test-token"
    (upload,) = fake_slack.server.requests_to("/upload/v1/F0001")
    assert chart.read_bytes() in upload.body
    # the upload happened before the answer was posted
    order = [r.path for r in fake_slack.server.log if r.path.startswith(("/api/files.complete", "/commands/"))]
    assert order[0] == "/api/files.completeUploadExternal"


async def test_without_a_bot_token_the_answer_says_why_the_chart_is_missing(fake_slack, tmp_path: Path):
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n")
    msg = Message(text="Leaderboard", blocks=[Section("**Leaderboard**"), Image(alt="chart", path=str(chart))])
    await deliver_reply(msg, "C111", AsyncRespond(response_url=fake_slack.response_url("chart")), None)
    (answer,) = fake_slack.answers("chart")
    assert "no Slack bot token" in answer_text(answer)
    assert fake_slack.server.requests_to("/api/") == []


async def test_a_failed_upload_is_said_in_the_answer(fake_slack, tmp_path: Path):
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n")
    fake_slack.server.route("/api/files.getUploadURLExternal", Reply.json({"ok": False, "error": "missing_scope"}),
                            method="POST")
    msg = Message(text="Leaderboard", blocks=[Section("**Leaderboard**"), Image(alt="chart", path=str(chart))])
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
    await deliver_reply(msg, "C111", AsyncRespond(response_url=fake_slack.response_url("chart")), client)
    (answer,) = fake_slack.answers("chart")
    assert "could not be uploaded" in answer_text(answer) and "missing_scope" in answer_text(answer)


async def test_errors_are_answered_only_to_the_person_who_asked(fake_slack):
    msg = Message.error("Unknown task 'zzz'.", usage="/sota TASK [on DATASET] [by METRIC]")
    await deliver_reply(msg, "C111", AsyncRespond(response_url=fake_slack.response_url("typo")), None)
    (answer,) = fake_slack.answers("typo")
    assert answer["response_type"] == "ephemeral"
    assert "zzz" in answer_text(answer)


async def test_socket_mode_handler_is_built_from_the_app_token_against_the_configured_api(engine, fake_slack):
    config = slack_config(fake_slack, mode="socket", signing_secret=Secret(""), app_token=Secret("xapp-1-test"))
    app = build_slack_app(engine, config)
    handler = build_socket_mode_handler(app, config)
    assert isinstance(handler, AsyncSocketModeHandler)
    assert handler.app is app
    assert handler.client.web_client.base_url == fake_slack.api_url
    await close_slack_app(app)


def test_socket_mode_without_an_app_token_fails_naming_it(engine, fake_slack):
    config = slack_config(fake_slack, mode="socket", signing_secret=Secret(""))
    with pytest.raises(ConfigError) as err:
        build_socket_mode_handler(build_slack_app(engine, config), config)
    assert err.value.key == "slack.app_token"
