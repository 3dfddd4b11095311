"""`sotabot deliver [--once]`: send what the outbox holds, through the configured platforms."""

from __future__ import annotations

import argparse
import asyncio

from sotabot.bot.cli.app import App, UserError
from sotabot.storage.outbox import depth


def register(sub: argparse._SubParsersAction) -> None:
    deliver = sub.add_parser("deliver", help="send queued deliveries")
    deliver.add_argument("--once", action="store_true", help="send what is due now, then exit")
    deliver.set_defaults(func=_deliver)


def _deliver(args: argparse.Namespace, app: App) -> int:
    from sotabot.bot.delivery import DeliveryLoop, build_senders

    senders = build_senders(app.config)
    if not senders:
        raise UserError("no platform token set (slack.bot_token or discord.token); nothing can be delivered")

    async def go() -> int:
        loop = DeliveryLoop(app.engine, app.config, senders)
        if args.once:
            return await loop.drain_once()
        stop = asyncio.Event()
        await loop.run(stop)
        return 0

    sent = asyncio.run(go())
    counts = depth(app.engine)
    print(f"attempted {sent}; outbox: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0
