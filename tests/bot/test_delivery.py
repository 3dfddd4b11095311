"""The delivery loop against a fake Slack Web API: once each, paced, rate limits obeyed."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

import pytest
from sqlmodel import Session, select

from sotabot.bot.delivery import DeliveryLoop, SlackSender
from sotabot.bot.settings import Config
from sotabot.digests.message import Message, Section
from sotabot.storage.models import Channel, Delivery
from sotabot.storage.outbox import depth, enqueue
from tests.fakes.slack_api import FakeSlackApi


def _config(**delivery) -> Config:
    cfg = Config()
    cfg.delivery.per_channel_interval_seconds = delivery.pop("interval", 0.0)
    cfg.delivery.backoff_base_seconds = delivery.pop("backoff", 0.0)
    for key, value in delivery.items():
        setattr(cfg.delivery, key, value)
    return cfg


def _queue(engine, channels: int, per_channel: int = 1) -> list[str]:
    names = []
    with Session(engine) as s:
        for i in range(channels):
            ch = Channel(platform="slack", workspace="T1", channel=f"C{i:04d}")
            s.add(ch)
            s.flush()
            names.append(ch.channel)
            for j in range(per_channel):
                msg = Message(text=f"digest {i}/{j}", blocks=[Section(f"**digest** {i}/{j}")], kind="digest")
                enqueue(s, ch.id, f"digest:{j}", msg.to_dict())
        s.commit()
    return names


def _drain(engine, cfg, api) -> DeliveryLoop:
    loop = DeliveryLoop(engine, cfg, {"slack": SlackSender("xoxb-test", api.url)})
    asyncio.run(loop.drain_once())
    return loop


def test_every_queued_message_is_posted_exactly_once(engine):
    names = _queue(engine, 20, per_channel=2)
    with FakeSlackApi() as api:
        _drain(engine, _config(), api)
    counts = Counter(p.text for p in api.posts)
    assert len(counts) == 40 and set(counts.values()) == {1}
    assert set(api.by_channel()) == set(names)
    assert depth(engine)["sent"] == 40


def test_messages_to_one_channel_are_paced_and_in_order(sqlite_engine):
    _queue(sqlite_engine, 1, per_channel=3)
    with FakeSlackApi() as api:
        _drain(sqlite_engine, _config(interval=0.3), api)
    posts = api.by_channel()["C0000"]
    assert [p.text for p in posts] == ["digest 0/0", "digest 0/1", "digest 0/2"]
    assert all(b.at - a.at >= 0.29 for a, b in itertools.pairwise(posts))


def test_a_429_storm_delivers_everything_once_and_nothing_before_retry_after(sqlite_engine):
    names = _queue(sqlite_engine, 12)
    with FakeSlackApi(rate_limit_every=3, retry_after=2.0) as api:
        _drain(sqlite_engine, _config(concurrency=4), api)
    assert sorted(p.channel for p in api.posts) == sorted(names)  # all delivered, none twice
    assert api.limited, "the fake API should have rate limited some calls"
    by_channel = api.by_channel()
    for channel, limited_at in api.limited:
        later = [p.at for p in by_channel[channel] if p.at > limited_at]
        assert later and min(later) - limited_at >= 2.0 - 0.01  # none early
    assert depth(sqlite_engine)["sent"] == 12


def test_a_channel_that_is_gone_is_marked_inactive_and_stops_getting_deliveries(engine):
    _queue(engine, 2, per_channel=2)
    with FakeSlackApi(gone_channels={"C0001"}) as api:
        _drain(engine, _config(), api)
    assert [p.channel for p in api.posts] == ["C0000", "C0000"]
    with Session(engine) as s:
        gone = s.exec(select(Channel).where(Channel.channel == "C0001")).one()
        assert gone.active is False and gone.inactive_reason == "channel_not_found"
        states = Counter(d.state for d in s.exec(select(Delivery).where(Delivery.channel_id == gone.id)))
    assert states == {"dead": 2}


def test_a_failing_delivery_is_retried_with_backoff_then_dead_with_its_error(sqlite_engine):
    _queue(sqlite_engine, 1)
    cfg = _config(max_attempts=3)
    with FakeSlackApi(failing_channels={"C0000"}) as api:
        loop = DeliveryLoop(sqlite_engine, cfg, {"slack": SlackSender("xoxb-test", api.url)})
        for _ in range(5):
            asyncio.run(loop.drain_once())
    with Session(sqlite_engine) as s:
        row = s.exec(select(Delivery)).one()
    assert (row.state, row.attempts) == ("dead", 3)
    assert "internal_error" in row.last_error
    assert api.posts == []


def test_a_crashed_send_is_retried_after_its_lease(sqlite_engine):
    from datetime import UTC, datetime, timedelta

    from sotabot.storage.outbox import claim_due

    _queue(sqlite_engine, 1)
    now = datetime.now(UTC)
    assert len(claim_due(sqlite_engine, now, lease=timedelta(seconds=30))) == 1  # then the process "dies"
    assert claim_due(sqlite_engine, now + timedelta(seconds=10)) == []  # still leased
    again = claim_due(sqlite_engine, now + timedelta(seconds=31))
    assert len(again) == 1 and again[0].attempts == 2


@pytest.mark.parametrize("platform", ["discord"])
def test_a_platform_without_a_sender_keeps_its_rows_pending(sqlite_engine, platform):
    with Session(sqlite_engine) as s:
        ch = Channel(platform=platform, workspace="G1", channel="42")
        s.add(ch)
        s.flush()
        enqueue(s, ch.id, "digest:x", Message(text="hi").to_dict())
        s.commit()
    loop = DeliveryLoop(sqlite_engine, _config(), {})
    asyncio.run(loop.drain_once())
    with Session(sqlite_engine) as s:
        row = s.exec(select(Delivery)).one()
    assert (row.state, row.attempts) == ("pending", 0)
