"""`sotabot poll SOURCE [--since YYYY-MM-DD] [--plan]`: run one poll now and print what it found.

`--plan` (Papers with Code) prints the tasks the next poll will sync, in order, and why.

The sources are `sotabot.sources.poll.POLLERS`, the same list the scheduler runs.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import UTC, date, datetime

from sotabot.bot.cli.app import App, UserError
from sotabot.sources.poll import POLLERS, poller


def _since(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("poll", help="run one poll of an upstream source now")
    p.add_argument("source", choices=sorted(p.name for p in POLLERS))
    p.add_argument("--since", type=_since, metavar="YYYY-MM-DD", help="backfill from this date")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--plan", action="store_true", help="print what the next poll will sync, without polling")
    p.set_defaults(func=_poll)


def _print_plan(args: argparse.Namespace, app: App) -> int:
    from sqlmodel import Session

    from sotabot.sources.upstream.paperswithcode import SOURCE
    from sotabot.sources.upstream.pwc_plan import plan_from_db

    if args.source != SOURCE:
        raise UserError(f"--plan is available for {SOURCE} only")
    settings = app.config.sources.paperswithcode
    with Session(app.engine) as session:
        planned = plan_from_db(
            session, SOURCE, settings.tasks_per_poll, datetime.now(UTC), settings.missing_recheck_days
        )
    rows = [
        {
            "task": p.slug,
            "why": p.reason,
            "last_synced": p.synced_at.isoformat() if p.synced_at else None,
            "paper_count": p.paper_count,
        }
        for p in planned
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"next poll of {SOURCE}: {len(rows)} tasks (at most {settings.requests_per_poll or 'unlimited'} requests)")
    if not any(r["paper_count"] is not None for r in rows):
        print("  (no task catalog read yet, or none of it planned: a poll reads the catalog first, then plans)")
    for i, r in enumerate(rows, 1):
        papers = f"{r['paper_count']} papers" if r["paper_count"] is not None else ""
        print(f"  {i:>3}. {r['task']:<40} {r['why']:<10} last synced {r['last_synced'] or 'never':<26} {papers}")
    return 0


def _poll(args: argparse.Namespace, app: App) -> int:
    if args.plan:
        return _print_plan(args, app)
    report = poller(args.source).poll(app.engine, app.config, since=args.since)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(report.summary())
        for error in report.errors:
            print(f"  error: {error}")
    return 0 if report.ok else 1
