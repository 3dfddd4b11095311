"""A channel that lost the bot comes back: not_in_channel, re-invite, the digest arrives the next day.

The real Bolt app in HTTP mode receives signed Events API requests (member_joined_channel,
app_uninstalled, channel_archive); its Web API calls and the delivery loop's go to the fake
Slack API in tests/fakes/slack_api.py, which answers `not_in_channel` for a private channel
until the bot is invited.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.delivery import DeliveryLoop, SlackSender
from sotabot.bot.platforms.slack import build_http_app, build_slack_app
from sotabot.bot.settings import Config
from sotabot.digests.digest import send_due
from sotabot.digests.message import Context, Message
from sotabot.storage.config import Secret
from sotabot.storage.models import Channel, Delivery, Subscription
from tests.bot.seed_leaderboards import seed_leaderboards
from tests.fakes.slack_api import FakeSlackApi

SECRET = "lifecycle-signing-secret"
TOKEN = "xoxb-lifecycle"
DAY_1 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # after the real clock, so queued rows are due
DAY_2 = DAY_1 + timedelta(days=1)


def config_for(api: FakeSlackApi) -> Config:
    config = Config()
    config.slack.mode = "http"
    config.slack.signing_secret = Secret(SECRET)
    config.slack.bot_token = Secret(TOKEN)
    config.slack.api_url = api.url
    config.digest.send_empty = True  # the scenario is about reaching the channel, not the content
    config.delivery.per_channel_interval_seconds = 0
    return config


def add_channel(engine: Engine, channel: str, workspace: str = "T111", **kw: object) -> int:
    with Session(engine) as s:
        row = Channel(platform="slack", workspace=workspace, channel=channel, timezone="UTC", digest_time="09:00",
                      digest_enabled=True, categories=["cs.CV"], created_at=datetime(2020, 1, 1, tzinfo=UTC), **kw)
        s.add(row)
        s.commit()
        assert row.id is not None
        return row.id


def channel_row(engine: Engine, channel_id: int) -> Channel:
    with Session(engine) as s:
        row = s.get(Channel, channel_id)
        assert row is not None
        s.expunge(row)
        return row


def event_body(event: dict, team: str = "T111", enterprise: str | None = None) -> bytes:
    body = {
        "token": "legacy", "team_id": team, "enterprise_id": enterprise, "api_app_id": "A111",
        "type": "event_callback", "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()),
        "event": {"event_ts": f"{time.time():.6f}", **event},
        "authorizations": [{"enterprise_id": enterprise, "team_id": team, "user_id": "UBOT", "is_bot": True}],
    }
    return json.dumps(body).encode()


def signed(body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Bot:
    base: str
    http: aiohttp.ClientSession

    async def event(self, event: dict, **kw: str | None) -> int:
        body = event_body(event, **kw)
        async with self.http.post(self.base + "/slack/events", data=body, headers=signed(body)) as resp:
            return resp.status


@pytest.fixture
def api() -> FakeSlackApi:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
async def bot(engine: Engine, api: FakeSlackApi) -> AsyncIterator[Bot]:
    config = config_for(api)
    server = TestServer(build_http_app(engine, config, build_slack_app(engine, config)), host="127.0.0.1", port=0)
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Bot(str(server.make_url("")).rstrip("/"), http)
    await server.close()


async def deliver(engine: Engine, api: FakeSlackApi, now: datetime) -> None:
    loop = DeliveryLoop(engine, config_for(api), {"slack": SlackSender(TOKEN, api.url)}, now=lambda: now)
    await loop.drain_once()


async def wait_until(check, timeout: float = 10.0) -> None:
    import asyncio

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_not_in_channel_then_reinvited_gets_the_digest_again_the_next_day(engine, api, bot, caplog) -> None:
    caplog.set_level(logging.INFO)
    config = config_for(api)
    channel_id = add_channel(engine, "G0PRIVATE")
    api.not_member.add("G0PRIVATE")

    # day 1: the digest is queued, the send answers not_in_channel, the channel is switched off
    assert len(send_due(engine, config, DAY_1).queued) == 1
    await deliver(engine, api, DAY_1 + timedelta(minutes=1))
    row = channel_row(engine, channel_id)
    assert (row.active, row.inactive_reason) == (False, "not_in_channel")
    assert api.posts == []

    # /sota subscriptions there (Slack says the bot is not a member) shows it switched off, and says how to fix it
    ctx = CommandContext(platform="slack", workspace="T111", channel="G0PRIVATE", can_post=False)
    shown = json.dumps(Message.to_dict(handle(engine, config, ctx, "subscriptions")))
    assert "Switched off" in shown and "/invite @sotabot" in shown
    assert channel_row(engine, channel_id).active is False  # a command where the bot cannot post changes nothing

    # someone invites the bot: Slack sends member_joined_channel for the bot user
    api.invite("G0PRIVATE")
    assert await bot.event({"type": "member_joined_channel", "user": "UBOT", "channel": "G0PRIVATE",
                            "channel_type": "G", "team": "T111"}) == 200
    # the row is committed before the line is logged, on the event's worker thread: wait for both
    await wait_until(lambda: channel_row(engine, channel_id).active
                     and "active again (the bot joined it)" in caplog.text)
    assert channel_row(engine, channel_id).inactive_reason is None

    # day 2: the digest is delivered again
    assert len(send_due(engine, config, DAY_2).queued) == 1
    await deliver(engine, api, DAY_2 + timedelta(minutes=1))
    assert [p.channel for p in api.posts] == ["G0PRIVATE"]
    assert "sotabot digest" in api.posts[0].text


async def test_another_member_joining_does_not_switch_a_channel_back_on(engine, api, bot) -> None:
    channel_id = add_channel(engine, "G0OTHER", active=False, inactive_reason="not_in_channel")
    assert await bot.event({"type": "member_joined_channel", "user": "UHUMAN", "channel": "G0OTHER",
                            "team": "T111"}) == 200
    await bot.event({"type": "member_joined_channel", "user": "UHUMAN", "channel": "G0OTHER", "team": "T111"})
    assert channel_row(engine, channel_id).active is False


async def test_any_command_that_reaches_the_channel_switches_it_back_on(engine, api) -> None:
    seed_leaderboards(engine)
    channel_id = add_channel(engine, "C0PUBLIC", active=False, inactive_reason="not_in_channel")
    ctx = CommandContext(platform="slack", workspace="T111", channel="C0PUBLIC")
    handle(engine, config_for(api), ctx, "image classification")
    assert channel_row(engine, channel_id).active is True


async def test_a_failed_command_does_not_switch_it_back_on(engine, api) -> None:
    channel_id = add_channel(engine, "C0PUBLIC", active=False, inactive_reason="not_in_channel")
    ctx = CommandContext(platform="slack", workspace="T111", channel="C0PUBLIC")
    assert handle(engine, config_for(api), ctx, "digest at 25:99").kind == "error"
    assert channel_row(engine, channel_id).active is False


@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_subscribing_or_turning_the_digest_on_where_the_bot_cannot_post_says_how_to_invite_it(
    engine, api, platform
) -> None:
    seed_leaderboards(engine)
    ctx = CommandContext(platform=platform, workspace="T111", channel="G0PRIVATE", can_post=False)
    for text in ("subscribe image classification", "digest on"):
        reply = handle(engine, config_for(api), ctx, text)
        hints = [b.text for b in reply.blocks if isinstance(b, Context)]
        assert reply.kind != "error"
        assert any("can't post in this channel" in h for h in hints), text
        assert any(("/invite @sotabot" if platform == "slack" else "Send Messages") in h for h in hints)
    able = CommandContext(platform=platform, workspace="T111", channel="C0OK", can_post=True)
    reply = handle(engine, config_for(api), able, "subscribe image classification")
    assert not any("can't post" in getattr(b, "text", "") for b in reply.blocks)


async def test_subscribe_through_slack_asks_conversations_info_and_answers_invite_me(engine, api) -> None:
    """The whole path: a signed slash command; the bot checks its membership before answering."""
    from tests.fakes.upstream import FakeUpstream, Reply

    seed_leaderboards(engine)
    api.not_member.add("G0PRIVATE")
    config = config_for(api)
    with FakeUpstream() as hooks:
        hooks.route("/commands/T111/sub/x", Reply(200, b"ok"), "POST")
        app = build_http_app(engine, config, build_slack_app(engine, config))
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        from urllib.parse import urlencode

        form = urlencode({"token": "legacy", "team_id": "T111", "channel_id": "G0PRIVATE", "user_id": "U1",
                          "command": "/sota", "text": "subscribe image classification",
                          "response_url": hooks.url + "/commands/T111/sub/x", "trigger_id": "1.2.3"}).encode()
        headers = signed(form) | {"Content-Type": "application/x-www-form-urlencoded"}
        async with aiohttp.ClientSession() as http, \
                http.post(str(server.make_url("/slack/events")), data=form, headers=headers) as resp:
            assert resp.status == 200
        await wait_until(lambda: hooks.requests_to("/commands/T111/sub/x"))
        await server.close()
        answer = json.loads(hooks.requests_to("/commands/T111/sub/x")[0].body)
    assert "/invite @sotabot" in json.dumps(answer)
    with Session(engine) as s:
        assert s.exec(select(Subscription)).all()  # the subscription is kept: it works once the bot is invited


async def test_uninstall_switches_off_every_channel_of_the_team_with_a_log_line(engine, api, bot, caplog) -> None:
    caplog.set_level(logging.WARNING)
    plain = add_channel(engine, "C1")
    grid = add_channel(engine, "C2", workspace="E111:T111")
    other = add_channel(engine, "C3", workspace="T999")
    with Session(engine) as s:
        from sotabot.storage.outbox import enqueue

        enqueue(s, plain, "digest:2027-01-04", Message("x").to_dict(), kind="digest")
        s.commit()
    assert await bot.event({"type": "app_uninstalled"}) == 200
    # the rows are committed before the line is logged, on the event's worker thread: wait for both
    await wait_until(lambda: not channel_row(engine, plain).active and not channel_row(engine, grid).active
                     and "switched off: app_uninstalled" in caplog.text)
    assert channel_row(engine, other).active is True
    with Session(engine) as s:
        assert [d.state for d in s.exec(select(Delivery)).all()] == ["dead"]  # nothing left to send there


async def test_revoked_bot_tokens_and_archived_channels_switch_deliveries_off(engine, api, bot) -> None:
    archived = add_channel(engine, "C1")
    kept = add_channel(engine, "C2")
    assert await bot.event({"type": "channel_archive", "channel": "C1", "user": "U1"}) == 200
    await wait_until(lambda: not channel_row(engine, archived).active)
    assert channel_row(engine, kept).active is True
    assert await bot.event({"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}}) == 200  # a user token only
    time.sleep(0.2)
    assert channel_row(engine, kept).active is True
    assert await bot.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}) == 200
    await wait_until(lambda: not channel_row(engine, kept).active)
    assert channel_row(engine, kept).inactive_reason == "tokens_revoked"


@pytest.mark.parametrize(("code", "status"), [(50013, 403), (50083, 400), (10003, 404), (50001, 403)])
async def test_discord_cannot_post_here_switches_the_channel_off_without_retrying(engine, code, status) -> None:
    from sotabot.bot.delivery import DiscordSender
    from sotabot.storage.outbox import enqueue
    from tests.fakes.upstream import FakeUpstream, Reply

    with Session(engine) as s:
        row = Channel(platform="discord", workspace="111", channel="42")
        s.add(row)
        s.flush()
        channel_id = row.id
        enqueue(s, row.id, "digest:2027-01-04", Message("hi").to_dict(), kind="digest")
        s.commit()
    with FakeUpstream() as discord_api:
        discord_api.route("/api/v10/channels/42/messages",
                          Reply.json({"code": code, "message": "Missing Permissions"}, status=status), "POST")
        loop = DeliveryLoop(engine, Config(), {"discord": DiscordSender("token", discord_api.url + "/api/v10")})
        await loop.drain_once()
        await loop.drain_once()
        assert len(discord_api.requests_to("/api/v10/channels/42/messages")) == 1  # not retried
    row = channel_row(engine, channel_id)
    assert row.active is False and str(code) in (row.inactive_reason or "")
    with Session(engine) as s:
        assert s.exec(select(Delivery)).one().state == "dead"


async def test_discord_guild_removal_and_join_switch_its_channels_off_and_on(engine, caplog) -> None:
    from types import SimpleNamespace

    from sotabot.bot.platforms.discord import SotaBotClient

    caplog.set_level(logging.INFO)
    with Session(engine) as s:
        rows = [Channel(platform="discord", workspace=g, channel=c) for g, c in (("111", "1"), ("111", "2"),
                                                                                   ("222", "3"))]
        s.add_all(rows)
        s.commit()
        ids = [r.id for r in rows]
    client = SotaBotClient(engine, Config())
    await client.on_guild_remove(SimpleNamespace(id=111))
    assert [channel_row(engine, i).active for i in ids] == [False, False, True]
    assert "discord workspace 111: 2 channel(s) switched off: removed from guild" in caplog.text
    await client.on_guild_join(SimpleNamespace(id=111))
    assert [channel_row(engine, i).active for i in ids] == [True, True, True]
    await client.close()
