"""Digests to many channels through a local fake Slack API, with per-channel pacing.

    python -m bench.delivery_fanout [--channels 10000] [--concurrency 8] [--quick]

Queues one digest per channel with `send_due` (the real digest job), drains the outbox with
the real DeliveryLoop and SlackSender, and prints messages/s, peak memory, lost and
duplicated counts, next to a baseline: the same number of chat.postMessage calls made
directly with slack_sdk at the same concurrency (no database, no outbox) in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from sotabot.bot.delivery import DeliveryLoop, SlackSender
from sotabot.bot.settings import Config
from sotabot.digests.digest import send_due
from sotabot.storage.db import make_engine, upgrade
from sotabot.storage.models import Channel
from sotabot.storage.outbox import depth
from tests.fakes.slack_api import FakeSlackApi


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def baseline(api_url: str, n: int, concurrency: int) -> float:
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token="xoxb-bench", base_url=api_url)
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await client.chat_postMessage(channel=f"B{i:06d}", text="baseline", blocks=[])

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="1,000 channels")
    args = parser.parse_args(argv)
    n = 1000 if args.quick else args.channels

    cfg = Config()
    cfg.digest.send_empty = True
    cfg.delivery.concurrency = args.concurrency
    cfg.delivery.per_channel_interval_seconds = 1.0
    workdir = Path(tempfile.mkdtemp(prefix="sotabot-bench-"))
    engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
    upgrade(engine)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Channel),
            [
                {
                    "platform": "slack",
                    "workspace": "TBENCH",
                    "channel": f"C{i:06d}",
                    "timezone": "UTC",
                    "digest_enabled": True,
                    "digest_time": "09:00",
                    "categories": ["cs.CV"],
                    "keywords": [],
                    "active": True,
                    "created_at": created,
                }
                for i in range(n)
            ],
        )
    with FakeSlackApi() as api:
        t0 = time.perf_counter()
        report = send_due(engine, cfg, datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
        queue_s = time.perf_counter() - t0
        loop = DeliveryLoop(engine, cfg, {"slack": SlackSender("xoxb-bench", api.url)}, batch=500)
        t1 = time.perf_counter()
        asyncio.run(loop.drain_once())
        deliver_s = time.perf_counter() - t1
        posts = Counter(p.channel for p in api.posts)
        api.posts.clear()
        base_s = asyncio.run(baseline(api.url, n, args.concurrency))
    lost = n - len(posts)
    duplicated = sum(c - 1 for c in posts.values() if c > 1)
    rate = n / deliver_s
    base_rate = n / base_s
    rows = [
        ("channels", f"{n}"),
        (
            "digests queued (send_due)",
            f"{len(report.queued)} in {queue_s:.2f} s ({len(report.queued) / queue_s:.0f}/s)",
        ),
        ("delivered via outbox", f"{len(posts)} in {deliver_s:.2f} s = {rate:.0f} msg/s"),
        ("baseline: bare slack_sdk posts", f"{n} in {base_s:.2f} s = {base_rate:.0f} msg/s"),
        ("outbox / baseline throughput", f"{rate / base_rate:.2f}x"),
        ("lost", f"{lost}"),
        ("duplicated", f"{duplicated}"),
        ("outbox after", ", ".join(f"{k} {v}" for k, v in depth(engine).items())),
        ("peak RSS", f"{peak_rss_mb():.0f} MB"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"delivery fan-out ({args.concurrency} concurrent, 1 msg/s per channel)")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    return 0 if lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
