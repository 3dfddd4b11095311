"""Freshness end to end: a result published upstream for a subscribed task reaches the channel once, within the hour.

The real Papers with Code client polls a local fake API, the real alert job queues the
delivery, and the real delivery loop posts it to a fake Slack Web API. The schedule is
played on the injected clock at the configured intervals (poll every
`sources.paperswithcode.poll_interval_minutes`, alerts every ALERT_INTERVAL_SECONDS), so
the delay the test reads is the one the defaults give.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

from sqlmodel import Session

from sotabot.bot.delivery import DeliveryLoop, SlackSender
from sotabot.bot.settings import Config
from sotabot.digests.alerts import build_alerts
from sotabot.digests.scheduler import ALERT_INTERVAL_SECONDS
from sotabot.sources.upstream.paperswithcode import poll
from sotabot.storage.models import Channel, Subscription
from tests.fakes.clock import FakeClock
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.upstream import FakeUpstream, Reply

API = "/api/v1"
TASK = "speech-recognition"


def evaluation(id_: str, model: str, wer: str, rank: int, arxiv: str, day: str) -> dict:
    return {
        "id": id_, "paper_id": f"p{id_}", "task_id": "5", "dataset_id": "77", "model_name": model,
        "metrics": {"WER": wer}, "best_metric": "WER", "best_rank": rank, "paper_title": f"Paper {arxiv}",
        "paper_arxiv_id": arxiv, "paper_published_date": day, "task_name": "Speech Recognition", "is_open": True,
    }


def serve(srv: FakeUpstream, rows: list[dict]) -> None:
    srv.route(f"{API}/areas/with-tasks/", Reply.json({"results": [{"id": "6", "name": "Audio", "tasks": [
        {"id": "5", "slug": TASK, "name": "Speech Recognition", "paper_count": 900, "benchmark_count": 1,
         "evaluation_count": len(rows)}]}]}))
    srv.route(f"{API}/tasks/{TASK}/trending-benchmarks", Reply.json({"task_id": "5", "results": [
        {"id": "77", "slug": "librispeech-test-clean", "name": "LibriSpeech test-clean"}]}))
    srv.route(f"{API}/datasets/77/evaluations/", Reply.json({"count": len(rows), "results": rows}))


def test_a_new_upstream_result_for_a_subscribed_task_is_one_alert_within_the_hour(engine):
    cfg = Config()
    cfg.sources.paperswithcode.requests_per_second = 1000.0
    cfg.delivery.per_channel_interval_seconds = 0.0
    poll_every = cfg.sources.paperswithcode.poll_interval_minutes * 60.0
    clock = FakeClock(time.time())
    history = [
        evaluation("1", "Conformer", "2.5", 1, "2401.00001", "2024-01-05"),
        evaluation("2", "LSTM", "3.1", 2, "2301.00002", "2023-01-05"),
    ]
    with Session(engine) as s:
        channel = Channel(platform="slack", workspace="T1", channel="C-SPEECH")
        s.add(channel)
        s.flush()
        s.add(Subscription(channel_id=channel.id, kind="task", target=TASK))
        s.commit()

    def at() -> datetime:
        return datetime.fromtimestamp(clock.time(), UTC)

    with FakeUpstream(clock=clock) as pwc, FakeSlackApi() as slack:
        cfg.sources.paperswithcode.api_url = pwc.url + API
        loop = DeliveryLoop(engine, cfg, {"slack": SlackSender("xoxb-test", slack.url)})
        alerted_at: list[datetime] = []

        def tick(until: float) -> None:
            """Play the schedule up to `until`: polls at their interval, an alert tick and a delivery after each."""
            while clock.time() + poll_every <= until:
                clock.sleep(poll_every)
                assert poll(engine, cfg, clock=clock).ok
                clock.sleep(ALERT_INTERVAL_SECONDS)
                before = len(slack.posts)
                build_alerts(engine, at())
                asyncio.run(loop.drain_once())
                alerted_at.extend([at()] * (len(slack.posts) - before))

        serve(pwc, history)
        start = clock.time()
        tick(start + poll_every)  # the first poll: the board's baseline, no alert
        assert slack.posts == []

        published = clock.time() + 5 * 60  # published upstream five minutes after that poll
        clock.sleep(5 * 60)
        today = at().date().isoformat()
        serve(pwc, [evaluation("3", "Whisper-Next", "1.9", 1, "2611.00003", today), *history])
        tick(published + 3 * 3600)  # three more hours of polls and alert ticks

    assert [p.channel for p in slack.posts] == ["C-SPEECH"]  # exactly one alert, never repeated
    assert "Whisper-Next" in json.dumps(slack.posts[0].blocks)  # its new_result and new_sota, in one message
    delay = (alerted_at[0] - datetime.fromtimestamp(published, UTC)).total_seconds()
    assert 0 < delay <= 3600, delay
