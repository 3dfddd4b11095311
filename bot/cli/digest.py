"""`sotabot digest send-due|preview`: queue the digests due at an instant, or print one.

`send-due --now` makes the scheduled work deterministic, so an operator (or a test) can
replay an instant: running it twice queues nothing more."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from sqlmodel import Session, select

from sotabot.bot.cli.app import App, UserError
from sotabot.digests.digest import preview, send_due
from sotabot.digests.message import Message
from sotabot.storage.models import Channel


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


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone, e.g. {text}Z or {text}+01:00")
    return value.astimezone(UTC)


def _print_message(message: Message) -> None:
    from rich.console import Console

    from sotabot.bot.render.terminal import render_terminal

    render_terminal(message, Console())


def _send_due(args: argparse.Namespace, app: App) -> int:
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


def _preview(args: argparse.Namespace, app: App) -> int:
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
