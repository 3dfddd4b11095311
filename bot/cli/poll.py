"""`sotabot poll SOURCE [--since YYYY-MM-DD]`: run one poll now and print what it found.

The sources are `sotabot.sources.poll.POLLERS`, the same list the scheduler runs.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import date

from sotabot.bot.cli.app import App
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
    p.set_defaults(func=_poll)


def _poll(args: argparse.Namespace, app: App) -> int:
    report = poller(args.source).poll(app.engine, app.config, since=args.since)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(report.summary())
        for error in report.errors:
            print(f"  error: {error}")
    return 0 if report.ok else 1
