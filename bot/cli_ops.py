"""Operator commands: digest send-due/preview, deliver, channels, status.

`send-due --now` and `deliver --once` make the scheduled work deterministic, so an
operator (or a test) can replay an instant: running either twice changes nothing more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from bot.cli import UserError
from digests.digest import next_digest_at, preview, send_due
from digests.message import Message
from storage.models import Channel, SourceState, as_utc
from storage.outbox import depth


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone, e.g. {text}Z or {text}+01:00")
    return value.astimezone(UTC)


def register(sub: argparse._SubParsersAction) -> None:
    digest = sub.add_parser("digest", help="daily digests")
    dsub = digest.add_subparsers(dest="digest_command", metavar="ACTION", required=True)
    due = dsub.add_parser("send-due", help="queue the digests due at an instant (default: now)")
    due.add_argument("--now", type=_instant, metavar="ISO8601", help="the instant, e.g. 2026-11-29T08:00:00Z")
    due.set_defaults(func=_send_due)
    pre = dsub.add_parser("preview", help="print a digest without sending it")
    pre.add_argument("--channel", metavar="ID|PLATFORM:WORKSPACE:CHANNEL", help="use this channel's settings")
    pre.add_argument("--categories", nargs="+", metavar="CAT", help="arXiv categories, e.g. cs.CV cs.LG")
    pre.add_argument("--keywords", nargs="+", metavar="WORD", default=[], help="keywords to match")
    pre.add_argument("--days", type=int, default=1, help="how many days back (default 1)")
    pre.set_defaults(func=_preview)

    deliver = sub.add_parser("deliver", help="send queued deliveries")
    deliver.add_argument("--once", action="store_true", help="send what is due now, then exit")
    deliver.set_defaults(func=_deliver)

    channels = sub.add_parser("channels", help="list channels with their settings")
    channels.add_argument("--json", action="store_true")
    channels.set_defaults(func=_channels)

    status = sub.add_parser("status", help="sources, outbox depth, next digests")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)


def _print_message(message: Message) -> None:
    try:
        from rich.console import Console

        from bot.render_terminal import render_terminal
    except ModuleNotFoundError:
        print(message.text)
        return
    render_terminal(message, Console())


def _send_due(args: argparse.Namespace, app) -> int:  # type: ignore[no-untyped-def]
    now = args.now or datetime.now(UTC)
    report = send_due(app.engine, app.config, now)
    print(
        f"{len(report.queued)} digests queued, {report.already} already queued, "
        f"{report.empty} empty (skipped), {report.missed} missed (past the grace window) at {now.isoformat()}"
    )
    return 0


def find_channel(session: Session, ref: str) -> Channel:
    if ref.isdigit():
        channel = session.get(Channel, int(ref))
    else:
        parts = ref.split(":")
        if len(parts) < 3:
            raise UserError("--channel takes a channel id or PLATFORM:WORKSPACE:CHANNEL")
        platform, workspace, name = parts[0], ":".join(parts[1:-1]), parts[-1]
        channel = session.exec(
            select(Channel).where(Channel.platform == platform, Channel.workspace == workspace, Channel.channel == name)
        ).first()
    if channel is None:
        raise UserError(f"no channel {ref!r}; `sotabot channels` lists them")
    return channel


def _preview(args: argparse.Namespace, app) -> int:  # type: ignore[no-untyped-def]
    categories = args.categories
    keywords = list(args.keywords)
    if args.channel:
        with Session(app.engine) as session:
            channel = find_channel(session, args.channel)
            categories = categories or list(channel.categories)
            keywords = keywords or list(channel.keywords)
    categories = categories or list(app.config.sources.arxiv.categories)
    _print_message(preview(app.engine, app.config, categories=categories, keywords=keywords, days=max(1, args.days)))
    return 0


def _deliver(args: argparse.Namespace, app) -> int:  # type: ignore[no-untyped-def]
    from bot.delivery import DeliveryLoop, build_senders

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


def _channel_rows(session: Session) -> list[dict]:
    rows = []
    now = datetime.now(UTC)
    for ch in session.exec(select(Channel).order_by(col(Channel.id))).all():
        rows.append(
            {
                "id": ch.id,
                "platform": ch.platform,
                "workspace": ch.workspace,
                "channel": ch.channel,
                "name": ch.name,
                "active": ch.active,
                "digest": ch.digest_enabled,
                "digest_time": ch.digest_time,
                "timezone": ch.timezone,
                "categories": ch.categories,
                "keywords": ch.keywords,
                "next_digest_utc": next_digest_at(ch, now).isoformat() if ch.digest_enabled and ch.active else None,
                "subscriptions": 0,
            }
        )
    return rows


def _channels(args: argparse.Namespace, app) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import func

    from storage.models import Subscription

    with Session(app.engine) as session:
        rows = _channel_rows(session)
        counts = dict(
            session.exec(select(Subscription.channel_id, func.count()).group_by(Subscription.channel_id)).all()
        )
    for row in rows:
        row["subscriptions"] = counts.get(row["id"], 0)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no channels yet: use /sota digest on or /sota subscribe in a channel")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "platform", "workspace", "channel", "active", "digest", "time zone", "categories", "subs")
    for r in rows:
        digest = f"{r['digest_time']}" if r["digest"] else "off"
        table.add_row(
            str(r["id"]),
            r["platform"],
            r["workspace"],
            r["name"] or r["channel"],
            "yes" if r["active"] else "no",
            digest,
            r["timezone"],
            " ".join(r["categories"]),
            str(r["subscriptions"]),
        )
    Console().print(table)
    return 0


def _status(args: argparse.Namespace, app) -> int:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with Session(app.engine) as session:
        sources = [
            {
                "source": s.source,
                "last_success": (as_utc(s.last_success_at).isoformat() if s.last_success_at else None),
                "last_error_at": (as_utc(s.last_error_at).isoformat() if s.last_error_at else None),
                "last_error": s.last_error,
                "runs": s.runs,
            }
            for s in session.exec(select(SourceState).order_by(col(SourceState.source))).all()
        ]
        channels = session.exec(
            select(Channel).where(col(Channel.digest_enabled).is_(True), col(Channel.active).is_(True))
        ).all()
        upcoming = sorted((next_digest_at(ch, now), ch) for ch in channels)[:10]
        next_digests = [
            {"channel": f"{ch.platform}:{ch.workspace}:{ch.channel}", "at_utc": at.isoformat()} for at, ch in upcoming
        ]
    report = {"sources": sources, "outbox": depth(app.engine), "next_digests": next_digests}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("Sources:")
    for s in sources or [{"source": "(none polled yet)", "last_success": None, "last_error": None, "runs": 0}]:
        error = f"  last error: {s['last_error'][:120]}" if s.get("last_error") else ""
        print(f"  {s['source']:<28} last success: {s['last_success'] or 'never'}{error}")
    print("Outbox: " + ", ".join(f"{k} {v}" for k, v in report["outbox"].items()))
    print("Next digests:")
    for item in next_digests or [{"channel": "(no channel has the digest on)", "at_utc": ""}]:
        print(f"  {item['at_utc']:<27} {item['channel']}")
    return 0
