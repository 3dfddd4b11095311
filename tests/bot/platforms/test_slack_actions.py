"""Leaderboard controls on Slack: the real Bolt app in HTTP mode receives signed block_actions.

Each click's answer must reach the action's response_url (a local fake): board updates replace
the message in place, a refusal is ephemeral, and a control from before a restart (a new app,
nothing in memory) still works because its value carries the whole state.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_sdk.models.blocks import Block
from sqlmodel import Session, select

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.platforms.slack import build_http_app, build_slack_app
from sotabot.bot.render.slack import render_slack
from sotabot.bot.settings import Config
from sotabot.storage.config import Secret
from sotabot.storage.models import Subscription
from tests.bot.interactive_boards import MODELS, seed_interactive
from tests.bot.platform_limits import slack_problems
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.upstream import FakeUpstream, Reply

SECRET = "actions-signing-secret"


def config() -> Config:
    cfg = Config()
    cfg.slack.mode = "http"
    cfg.slack.signing_secret = Secret(SECRET)
    return cfg


def first_answer_blocks(engine, text: str = "image classification") -> list[dict]:
    """The leaderboard answer as Slack gets it, with its actions block."""
    ctx = CommandContext(platform="slack", workspace="T111", channel="C111", user="U1")
    (payload, *_) = render_slack(handle(engine, config(), ctx, text, charts=False))
    assert slack_problems([payload]) == []
    for raw in payload["blocks"]:
        Block.parse(raw).validate_json()
    return payload["blocks"]


def element(blocks: list[dict], action_id: str) -> dict:
    for b in blocks:
        for e in b.get("elements", []) if b["type"] == "actions" else []:
            if e["action_id"] == action_id:
                return e
    raise AssertionError(f"no {action_id} in the answer")


def block_actions(action: dict, response_url: str) -> bytes:
    payload = {
        "type": "block_actions", "team": {"id": "T111", "domain": "lab"}, "user": {"id": "U1", "team_id": "T111"},
        "api_app_id": "A111", "token": "legacy", "trigger_id": "1.2.3", "response_url": response_url,
        "channel": {"id": "C111", "name": "papers"}, "container": {"type": "message", "message_ts": "1.1"},
        "message": {"ts": "1.1", "type": "message"}, "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": f"v0={sig}"}


class Hooks:
    """The action's response_url and, for chart uploads, Slack's files API (files_upload_v2's three calls)."""

    def __init__(self, server: FakeUpstream) -> None:
        self.server = server
        server.route("/actions/1", Reply(200, b"ok"), "POST")
        server.route("/api/files.getUploadURLExternal",
                     Reply.json({"ok": True, "upload_url": f"{server.url}/upload/F0CHART", "file_id": "F0CHART"}),
                     method="POST")
        server.route("/upload/F0CHART", Reply(200, b"OK - 1", {"Content-Type": "text/plain"}), method="POST")
        server.route("/api/files.completeUploadExternal",
                     Reply.json({"ok": True, "files": [{"id": "F0CHART", "title": "chart"}]}), method="POST")

    @property
    def url(self) -> str:
        return self.server.url + "/actions/1"

    async def answers(self, n: int = 1) -> list[dict]:
        import asyncio

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            got = [json.loads(r.body) for r in self.server.requests_to("/actions/1")]
            if len(got) >= n:
                return got
            await asyncio.sleep(0.02)
        raise AssertionError("no answer at response_url")


async def click(engine, action: dict, hooks: Hooks, cfg: Config | None = None, **app_kw) -> tuple[int, dict]:
    """A fresh Bolt app each time: nothing survives from the click before (a restart)."""
    cfg = cfg or config()
    app = build_http_app(engine, cfg, build_slack_app(engine, cfg, **app_kw))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    before = len(hooks.server.requests_to("/actions/1"))
    body = block_actions(action, hooks.url)
    async with aiohttp.ClientSession() as http, \
            http.post(str(server.make_url("/slack/events")), data=body, headers=signed(body)) as resp:
        status = resp.status
    answers = await hooks.answers(before + 1) if status == 200 else []
    await server.close()
    return status, (answers[-1] if answers else {})


@pytest.fixture
def hooks():
    with FakeUpstream() as server:
        yield Hooks(server)


def texts(answer: dict) -> str:
    return json.dumps(answer.get("blocks", []))


async def test_more_rows_replaces_the_message_with_a_longer_board(engine, hooks) -> None:
    seed_interactive(engine)
    blocks = first_answer_blocks(engine)
    assert MODELS[12] not in json.dumps(blocks)
    more = element(blocks, "sota.more")
    status, answer = await click(engine, {"type": "button", "action_id": "sota.more", "value": more["value"]}, hooks)
    assert status == 200
    assert answer["replace_original"] is True and "response_type" not in answer
    assert MODELS[12] in texts(answer) and MODELS[0] in texts(answer)
    assert slack_problems([answer]) == []


async def test_the_metric_menu_reranks_the_board_in_place(engine, hooks) -> None:
    seed_interactive(engine)
    menu = element(first_answer_blocks(engine), "sota.metric")
    assert [o["text"]["text"] for o in menu["options"]] == ["Top 1 Accuracy", "Top 5 Accuracy"]
    assert menu["initial_option"]["text"]["text"] == "Top 1 Accuracy"
    top5 = menu["options"][1]
    action = {"type": "static_select", "action_id": "sota.metric", "selected_option": top5}
    _, answer = await click(engine, action, hooks)
    assert answer["replace_original"] is True
    assert "ranked by *Top 5 Accuracy*" in texts(answer)
    assert element(answer["blocks"], "sota.metric")["initial_option"]["text"]["text"] == "Top 5 Accuracy"


async def test_the_benchmark_menu_switches_to_another_dataset(engine, hooks) -> None:
    seed_interactive(engine)
    menu = element(first_answer_blocks(engine), "sota.dataset")
    cifar = next(o for o in menu["options"] if o["text"]["text"] == "CIFAR-10")
    _, answer = await click(engine, {"type": "static_select", "action_id": "sota.dataset",
                                     "selected_option": cifar}, hooks)
    assert answer["replace_original"] is True
    assert "CIFAR-10" in texts(answer) and "Cifar A" in texts(answer) and MODELS[0] not in texts(answer)


def has_element(blocks: list[dict], action_id: str) -> bool:
    try:
        element(blocks, action_id)
    except AssertionError:
        return False
    return True


async def test_a_private_answer_arrives_ephemeral_and_share_posts_it_to_the_channel(engine, hooks) -> None:
    seed_interactive(engine)
    with FakeUpstream() as slash:
        slash.route("/commands/1", Reply(200, b"ok"), "POST")
        app = build_http_app(engine, config(), build_slack_app(engine, config()))
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        form = urlencode({"token": "legacy", "team_id": "T111", "channel_id": "C111", "user_id": "U1",
                          "command": "/sota", "text": "image classification private",
                          "response_url": slash.url + "/commands/1", "trigger_id": "1.2.3"}).encode()
        async with aiohttp.ClientSession() as http, \
                http.post(str(server.make_url("/slack/events")), data=form, headers=signed(form)) as resp:
            assert resp.status == 200
        deadline = time.monotonic() + 15
        while not slash.requests_to("/commands/1") and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await server.close()
        (posted,) = [json.loads(r.body) for r in slash.requests_to("/commands/1")]
    assert posted["response_type"] == "ephemeral"  # only the asker sees it
    share = element(posted["blocks"], "sota.share")
    assert share["text"]["text"] == "Share to channel"
    more = element(posted["blocks"], "sota.more")
    _, paged = await click(engine, {"type": "button", "action_id": "sota.more", "value": more["value"]}, hooks)
    assert paged["replace_original"] is True and has_element(paged["blocks"], "sota.share")  # still private
    share = element(paged["blocks"], "sota.share")
    _, shared = await click(engine, {"type": "button", "action_id": "sota.share", "value": share["value"]}, hooks)
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert MODELS[12] in texts(shared) and not has_element(shared["blocks"], "sota.share")
    assert texts(shared).count("Papers with Code archive") == 1  # the provenance footer came along
    assert slack_problems([shared]) == []


async def test_the_chart_button_uploads_the_chart_and_shows_it_in_the_board(engine, hooks) -> None:
    seed_interactive(engine)
    chart = element(first_answer_blocks(engine), "sota.chart")
    cfg = config()
    cfg.slack.bot_token = Secret("xoxb-test")
    cfg.slack.api_url = hooks.server.url + "/api/"
    _, answer = await click(engine, {"type": "button", "action_id": "sota.chart", "value": chart["value"]}, hooks, cfg)
    assert answer["replace_original"] is True
    images = [b for b in answer["blocks"] if b["type"] == "image"]
    assert [b["slack_file"] for b in images] == [{"id": "F0CHART"}]
    kinds = [b["type"] for b in answer["blocks"]]
    assert kinds.index("image") < kinds.index("actions")  # inside the board, above its controls
    assert len(hooks.server.requests_to("/api/files.completeUploadExternal")) == 1
    for raw in answer["blocks"]:
        Block.parse(raw).validate_json()


async def test_subscribe_this_channel_subscribes_and_confirms_privately(engine, hooks) -> None:
    seed_interactive(engine)
    button = element(first_answer_blocks(engine), "sota.subscribe")
    _, answer = await click(engine, {"type": "button", "action_id": "sota.subscribe", "value": button["value"]},
                            hooks)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "now follows" in texts(answer)
    with Session(engine) as s:
        assert [x.target for x in s.exec(select(Subscription)).all()] == ["image-classification"]


async def test_subscribe_where_the_bot_cannot_post_asks_slack_and_says_invite_me_first(engine, hooks) -> None:
    """The button is checked like `/sota subscribe`: conversations.info first, then the same invite hint."""
    seed_interactive(engine)
    button = element(first_answer_blocks(engine), "sota.subscribe")
    with FakeSlackApi() as api:
        api.not_member.add("C111")  # a private channel the bot was never invited to
        cfg = config()
        cfg.slack.bot_token = Secret("xoxb-test")
        cfg.slack.api_url = api.url
        _, answer = await click(engine, {"type": "button", "action_id": "sota.subscribe", "value": button["value"]},
                                hooks, cfg)
        asked = api.requests_to("conversations.info")
    assert len(asked) == 1  # the bot asked whether it can post in C111
    assert answer["response_type"] == "ephemeral" and "now follows" in texts(answer)
    assert "/invite @sotabot" in texts(answer)
    with Session(engine) as s:  # kept, as the command keeps it: it works once the bot is invited
        assert [x.target for x in s.exec(select(Subscription)).all()] == ["image-classification"]


async def test_a_click_by_someone_who_may_not_change_the_channel_is_refused_privately(engine, hooks) -> None:
    seed_interactive(engine)
    button = element(first_answer_blocks(engine), "sota.subscribe")
    _, answer = await click(engine, {"type": "button", "action_id": "sota.subscribe", "value": button["value"]},
                            hooks, can_manage=lambda body: False)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "permission" in texts(answer)
    with Session(engine) as s:
        assert s.exec(select(Subscription)).all() == []


async def test_a_stale_or_forged_control_is_answered_privately_and_changes_nothing(engine, hooks) -> None:
    seed_interactive(engine)
    _, answer = await click(engine, {"type": "button", "action_id": "sota.more", "value": "999.999.0.20"}, hooks)
    assert answer["response_type"] == "ephemeral" and "out of date" in texts(answer)
    _, answer = await click(engine, {"type": "button", "action_id": "sota.more", "value": "drop table"}, hooks)
    assert answer["response_type"] == "ephemeral"


async def test_an_unsigned_click_gets_401(engine, hooks) -> None:
    seed_interactive(engine)
    app = build_http_app(engine, config(), build_slack_app(engine, config()))
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    body = block_actions({"type": "button", "action_id": "sota.subscribe", "value": "1.1.0.10"}, hooks.url)
    async with aiohttp.ClientSession() as http, \
            http.post(str(server.make_url("/slack/events")), data=body, headers=signed(body, "wrong")) as resp:
        assert resp.status == 401
    await server.close()
    with Session(engine) as s:
        assert s.exec(select(Subscription)).all() == []


async def test_a_chart_goes_above_the_controls() -> None:
    from sotabot.bot.platforms.slack_files import inline_files

    payload = {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "board"}},
                                       {"type": "actions", "elements": []}],
               "files": [{"type": "file", "path": "/tmp/none.png", "alt": "chart"}]}
    out = await inline_files(payload, None)  # no token: the note takes the chart's place
    assert [b["type"] for b in out["blocks"]] == ["section", "context", "actions"] and "files" not in out
