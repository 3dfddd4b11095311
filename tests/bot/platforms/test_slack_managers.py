"""Who may change a Slack channel (`slack.managers`), and a channel that keeps its settings when its
workspace joins an Enterprise Grid (key "TAAA" becoming "E111:TAAA").

Signed slash commands reach the real Bolt app in HTTP mode; users.info is the fake Slack API's.
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
from sqlmodel import Session, select

from sotabot.bot.commands import handle
from sotabot.bot.platforms.slack import build_http_app, build_slack_app, context_from_body
from sotabot.bot.settings import Config, load_config
from sotabot.storage.config import ConfigError, Secret
from sotabot.storage.models import Channel, Subscription
from tests.bot.seed_leaderboards import seed_leaderboards
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.upstream import FakeUpstream, Reply

SECRET = "managers-signing-secret"


def config(api: FakeSlackApi, managers: object) -> Config:
    cfg = Config()
    cfg.slack.mode = "http"
    cfg.slack.signing_secret = Secret(SECRET)
    cfg.slack.bot_token = Secret("xoxb-managers")
    cfg.slack.api_url = api.url
    cfg.slack.managers = managers  # type: ignore[assignment]
    cfg.validate()
    return cfg


async def command(engine, cfg: Config, user: str, text: str) -> str:
    with FakeUpstream() as hooks:
        hooks.route("/r/1", Reply(200, b"ok"), "POST")
        server = TestServer(build_http_app(engine, cfg, build_slack_app(engine, cfg)), host="127.0.0.1", port=0)
        await server.start_server()
        body = urlencode({"token": "legacy", "team_id": "TAAA", "channel_id": "C1", "user_id": user,
                          "command": "/sota", "text": text, "response_url": hooks.url + "/r/1",
                          "trigger_id": "1"}).encode()
        ts = str(int(time.time()))
        sig = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
                   "X-Slack-Signature": f"v0={sig}"}
        async with aiohttp.ClientSession() as http, \
                http.post(str(server.make_url("/slack/events")), data=body, headers=headers) as resp:
            assert resp.status == 200
        deadline = time.monotonic() + 15
        while not hooks.requests_to("/r/1") and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await server.close()
        return hooks.requests_to("/r/1")[0].body.decode()


def subscriptions(engine) -> list[str]:
    with Session(engine) as s:
        return [x.target for x in s.exec(select(Subscription)).all()]


@pytest.fixture
def api():
    with FakeSlackApi(admins={"UADMIN"}) as fake:
        yield fake


async def test_admins_only_refuses_a_member_and_lets_an_admin_subscribe(engine, api) -> None:
    seed_leaderboards(engine)
    cfg = config(api, "admins")
    refused = await command(engine, cfg, "UMEMBER", "subscribe image classification")
    assert "permission" in refused and json.loads(refused)["response_type"] == "ephemeral"
    assert subscriptions(engine) == []
    await command(engine, cfg, "UADMIN", "subscribe image classification")
    assert subscriptions(engine) == ["image-classification"]
    asked = [r for r in api._server.log if r.path == "/api/users.info"]
    assert {r.query.get("user", [""])[0] for r in asked} == {"UMEMBER", "UADMIN"}


async def test_a_list_of_user_ids_decides_without_asking_slack(engine, api) -> None:
    seed_leaderboards(engine)
    cfg = config(api, ["UFRIEND"])
    await command(engine, cfg, "UADMIN", "digest on")  # an admin, but not on the list
    with Session(engine) as s:
        assert all(not c.digest_enabled for c in s.exec(select(Channel)).all())
    await command(engine, cfg, "UFRIEND", "digest on")
    with Session(engine) as s:
        assert [c.digest_enabled for c in s.exec(select(Channel)).all()] == [True]
    assert not [r for r in api._server.log if r.path == "/api/users.info"]


async def test_reading_commands_never_need_permission(engine, api) -> None:
    seed_leaderboards(engine)
    answer = await command(engine, config(api, "admins"), "UMEMBER", "image classification")
    assert "ImageNet" in answer
    assert not [r for r in api._server.log if r.path == "/api/users.info"]


def test_managers_is_everyone_admins_or_user_ids_and_a_bad_value_names_the_key(tmp_path) -> None:
    assert Config().slack.managers == "everyone"
    path = tmp_path / "sotabot.toml"
    path.write_text('[slack]\nmanagers = ["U0123ABCD", "W0456EFGH"]\n')
    assert load_config(path, environ={}).slack.managers == ["U0123ABCD", "W0456EFGH"]
    assert load_config(None, environ={"SOTABOT_SLACK__MANAGERS": "admins"}).slack.managers == "admins"
    assert load_config(None, environ={"SOTABOT_SLACK__MANAGERS": "U1AAA,U2BBB"}).slack.managers == ["U1AAA", "U2BBB"]
    for bad in ('"moderators"', '["not a user"]', "3"):
        path.write_text(f"[slack]\nmanagers = {bad}\n")
        with pytest.raises(ConfigError) as err:
            load_config(path, environ={})
        assert err.value.key.startswith("slack.managers")


def test_a_workspace_that_joins_an_enterprise_grid_keeps_its_channels_settings(engine) -> None:
    seed_leaderboards(engine)
    before = {"team_id": "TAAA", "channel_id": "C1", "user_id": "U1"}
    handle(engine, Config(), context_from_body(before), "subscribe image classification")
    after = {**before, "enterprise_id": "E111"}  # the same team, now part of a Grid
    ctx = context_from_body(after)
    assert ctx.workspace == "E111:TAAA"
    shown = json.dumps(handle(engine, Config(), ctx, "subscriptions").to_dict())
    assert "image-classification" in shown
    handle(engine, Config(), ctx, "digest on")  # a change re-keys the row to today's key
    with Session(engine) as s:
        rows = s.exec(select(Channel)).all()
    assert [(r.workspace, r.channel, r.digest_enabled) for r in rows] == [("E111:TAAA", "C1", True)]
    # another team's channel with the same id is never taken for it
    other = context_from_body({"team_id": "TBBB", "channel_id": "C1", "user_id": "U1"})
    assert "image-classification" not in json.dumps(handle(engine, Config(), other, "subscriptions").to_dict())
