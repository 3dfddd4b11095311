"""`sotabot poll SOURCE [--since YYYY-MM-DD]`: run one poll now and print what it found.

Each source module exposes `poll(engine, config, since=None) -> PollReport`; this file only
maps names to modules, so adding a source is one line here.
"""

from __future__ import annotations

import argparse
import importlib
import json
from dataclasses import asdict
from datetime import date

from bot.cli import UserError

POLLERS: dict[str, str] = {
    "arxiv": "sources.arxiv",
    "github": "sources.github",
    "huggingface": "sources.huggingface",
    "paperswithcode": "sources.paperswithcode",
    "hf-leaderboards": "sources.hf_leaderboards",
    "claims": "sources.claims_store",
}


def _since(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("poll", help="run one poll of an upstream source now")
    p.add_argument("source", choices=sorted(POLLERS))
    p.add_argument("--since", type=_since, metavar="YYYY-MM-DD", help="backfill from this date")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_poll)


def _poll(args: argparse.Namespace, app) -> int:  # type: ignore[no-untyped-def]
    try:
        module = importlib.import_module(POLLERS[args.source])
    except ModuleNotFoundError as exc:
        raise UserError(f"poll {args.source}: not available in this build ({exc.name})") from None
    report = module.poll(app.engine, app.config, since=args.since)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(report.summary())
        for error in report.errors:
            print(f"  error: {error}")
    return 0 if report.ok else 1
