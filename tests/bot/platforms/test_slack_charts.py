"""A `/sota` answer is never lost to its chart: when Slack refuses the image block that shows the
uploaded chart (`invalid_blocks`: the file is not processed or not shared yet), the answer is sent
again without it, with a link to the chart instead. Against the fake Slack API (tests/fakes/slack_api.py).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from sotabot.bot.platforms.slack import build_http_app, build_slack_app
from sotabot.digests.message import Image, Message, Section
from sotabot.storage.config import Secret
from tests.bot.platforms.test_slack import deliver_reply
from tests.fakes.slack_api import FILE_ID, PERMALINK, FakeSlackApi


def _answer(chart: Path) -> Message:
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return Message(text="Leaderboard", blocks=[Section("**Leaderboard** 1. ViT 90.4"),
                                               Image(alt="SOTA over time", path=str(chart))])


def _texts(message: dict) -> str:
    return " ".join(str(b.get("text", "")) + " ".join(str(e.get("text", "")) for e in b.get("elements", []))
                    for b in message.get("blocks") or [])


async def test_the_chart_is_shown_inside_the_answer_when_slack_takes_it(tmp_path: Path) -> None:
    with FakeSlackApi() as slack:
        client = AsyncWebClient(token="xoxb-test-token", base_url=slack.url)
        respond = AsyncRespond(response_url=slack.response_url("sota"))
        await deliver_reply(_answer(tmp_path / "chart.png"), "C111", respond, client)
    (answer,) = slack.answers
    assert {"type": "image", "slack_file": {"id": FILE_ID}, "alt_text": "SOTA over time"} in answer["blocks"]
    assert slack.rejected == []


async def test_an_answer_whose_chart_slack_refuses_arrives_without_it_and_links_the_chart(tmp_path: Path) -> None:
    with FakeSlackApi(reject_slack_files=True) as slack:
        client = AsyncWebClient(token="xoxb-test-token", base_url=slack.url)
        respond = AsyncRespond(response_url=slack.response_url("sota"))
        await deliver_reply(_answer(tmp_path / "chart.png"), "C111", respond, client)
    assert len(slack.rejected) == 1  # tried with the chart first
    (answer,) = slack.answers
    assert answer["response_type"] == "in_channel"
    assert "ViT 90.4" in _texts(answer)  # the leaderboard itself
    assert all(b.get("type") != "image" for b in answer["blocks"])
    assert f"<{PERMALINK}|" in _texts(answer)  # and where the chart is
    for block in answer["blocks"]:
        Block.parse(block).validate_json()


async def test_a_chart_button_whose_chart_slack_refuses_still_answers_with_the_board(engine) -> None:
    """The same for the **Chart** control: its answer replaces the message, with a link where the chart was."""
    from tests.bot.interactive_boards import seed_interactive
    from tests.bot.platforms.test_slack_actions import block_actions, config, element, first_answer_blocks, signed

    seed_interactive(engine)
    cfg = config()
    cfg.slack.bot_token = Secret("xoxb-test-token")
    with FakeSlackApi(reject_slack_files=True) as slack:
        cfg.slack.api_url = slack.url
        body = block_actions(element(first_answer_blocks(engine), "sota.chart"), slack.response_url("click"))
        app = build_http_app(engine, cfg, build_slack_app(engine, cfg))
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as http, \
                    http.post(str(server.make_url("/slack/events")), data=body, headers=signed(body)) as resp:
                assert resp.status == 200
            deadline = time.monotonic() + 15
            while not slack.answers and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await server.close()
    assert len(slack.rejected) == 1 and slack.rejected[0]["replace_original"] is True
    (answer,) = slack.answers
    assert answer["replace_original"] is True
    assert all(b.get("type") != "image" for b in answer["blocks"])
    assert f"<{PERMALINK}|" in _texts(answer) and any(b["type"] == "actions" for b in answer["blocks"])
