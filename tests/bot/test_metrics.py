"""/metrics and /healthz on the service's HTTP port: deliveries, jobs and outbox depth."""

from __future__ import annotations

import asyncio

import aiohttp
from sqlmodel import Session

from sotabot.bot.service import Service
from sotabot.bot.settings import Config
from sotabot.digests.message import Message
from sotabot.storage.config import Secret
from sotabot.storage.models import Channel
from sotabot.storage.outbox import enqueue
from tests.fakes.slack_api import FakeSlackApi


def _config(api_url: str) -> Config:
    cfg = Config()
    cfg.server.port = 0
    cfg.slack.mode = "http"
    cfg.slack.signing_secret = Secret("signing")
    cfg.slack.bot_token = Secret("xoxb-test")
    cfg.slack.api_url = api_url
    cfg.delivery.per_channel_interval_seconds = 0
    for source in (cfg.sources.arxiv, cfg.sources.huggingface, cfg.sources.paperswithcode):
        source.poll_interval_minutes = 0
    cfg.sources.github.refresh_interval_minutes = 0
    return cfg


async def test_metrics_count_deliveries_and_show_the_outbox(sqlite_engine):
    with Session(sqlite_engine) as s:
        ch = Channel(platform="slack", workspace="T1", channel="C1")
        s.add(ch)
        s.flush()
        enqueue(s, ch.id, "digest:2026-11-29", Message(text="hello lab").to_dict())
        enqueue(s, ch.id, "event:1", Message(text="new result").to_dict())
        s.commit()
    with FakeSlackApi() as api:
        service = Service(sqlite_engine, _config(api.url))
        runner = asyncio.create_task(service.run())
        try:
            for _ in range(400):
                if len(api.posts) == 2 and service.http_port:
                    break
                await asyncio.sleep(0.025)
            base = f"http://127.0.0.1:{service.http_port}"
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/metrics") as resp:
                    assert resp.status == 200
                    body = await resp.text()
                async with http.get(f"{base}/healthz") as resp:
                    assert resp.status == 200
        finally:
            service.request_stop()
            assert await asyncio.wait_for(runner, 20) == 0
    assert [p.text for p in api.posts] == ["hello lab", "new result"]
    from sotabot.sources.upstream.http import STOP

    assert not STOP.is_set()  # an in-process service gives upstream requests back when it stops
    assert 'sotabot_deliveries_total{outcome="sent",platform="slack"} 2.0' in body
    assert 'sotabot_outbox_deliveries{state="sent"} 2.0' in body
    assert 'sotabot_outbox_deliveries{state="pending"} 0.0' in body
    assert "sotabot_polls_total" in body
