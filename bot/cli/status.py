"""`sotabot channels` and `sotabot status`: what the service knows and what it will do next."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from sotabot.bot.cli.app import App
from sotabot.digests.digest import next_digest_at
from sotabot.storage.imports import running_imports
from sotabot.storage.models import Channel, SourceState, as_utc
from sotabot.storage.outbox import depth


def register(sub: argparse._SubParsersAction) -> None:
    channels = sub.add_parser("channels", help="list channels with their settings")
    channels.add_argument("--json", action="store_true")
    channels.set_defaults(func=_channels)

    status = sub.add_parser("status", help="sources, outbox depth, next digests")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)


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


def _channels(args: argparse.Namespace, app: App) -> int:
    from sqlalchemy import func

    from sotabot.storage.models import Subscription

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


def _status(args: argparse.Namespace, app: App) -> int:
    from sotabot.sources.upstream.paperswithcode import SOURCE as PWC_SOURCE
    from sotabot.sources.upstream.pwc_plan import coverage

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
        upcoming = sorted(((next_digest_at(ch, now), ch) for ch in channels), key=lambda p: (p[0], p[1].id or 0))[:10]
        next_digests = [
            {"channel": f"{ch.platform}:{ch.workspace}:{ch.channel}", "at_utc": at.isoformat()} for at, ch in upcoming
        ]
        pwc = app.config.sources.paperswithcode
        cover = coverage(session, PWC_SOURCE, now, pwc.missing_recheck_days).as_dict()
    imports = running_imports(app.engine)
    report = {"sources": sources, "paperswithcode": cover, "imports": imports, "outbox": depth(app.engine),
              "next_digests": next_digests}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("Sources:")
    for s in sources or [{"source": "(none polled yet)", "last_success": None, "last_error": None, "runs": 0}]:
        error = f"  last error: {s['last_error'][:120]}" if s.get("last_error") else ""
        print(f"  {s['source']:<28} last success: {s['last_success'] or 'never'}{error}")
    print(
        f"Papers with Code: {cover['catalog_synced']}/{cover['catalog_tasks']} catalog tasks synced, "
        f"{cover['subscribed_synced']}/{cover['subscribed_tasks']} subscribed, {cover['not_on_server']} not on the "
        f"server; oldest sync {cover['oldest_sync'] or 'never'}; next: {', '.join(cover['next']) or '(nothing)'}"
    )
    for run in imports:
        print(f"Import running: {run['kind']} {run['source']} since {run['started_at']} "
              f"({run['writes_logged']} writes committed; leaderboard syncs wait for it)")
    print("Outbox: " + ", ".join(f"{k} {v}" for k, v in report["outbox"].items()))
    print("Next digests:")
    for item in next_digests or [{"channel": "(no channel has the digest on)", "at_utc": ""}]:
        print(f"  {item['at_utc']:<27} {item['channel']}")
    return 0
