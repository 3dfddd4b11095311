"""`sotabot events [--since YYYY-MM-DD] [--kind K] [--limit N] [--json]`: recent result events.

The events are what alerts are built from (new results, new states of the art, papers of a
task getting code), so listing them is how an operator checks what a poll found and what the
subscribed channels will hear about.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from sotabot.bot.cli.app import App
from sotabot.storage.models import ResultEvent, as_utc
from sotabot.storage.results import EVENT_KINDS, NEW_PAPER_WITH_CODE, NEW_SOTA, list_events


def _since(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 10000, got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("events", help="list recent result events (new results, new SOTA, papers with code)")
    p.add_argument("--since", type=_since, metavar="YYYY-MM-DD", help="only events from this UTC date on")
    p.add_argument("--kind", choices=EVENT_KINDS, help="only this kind of event")
    p.add_argument("--limit", type=_limit, default=50, metavar="N", help="at most N events, newest first (50)")
    p.add_argument("--json", action="store_true", help="print the events as JSON")
    p.set_defaults(func=_events)


def _value(raw: Any, value: Any) -> str:
    if raw not in (None, ""):
        return str(raw)
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def describe(event: ResultEvent) -> str:
    """One line saying what happened, from the event's payload."""
    p = event.payload if isinstance(event.payload, dict) else {}
    where = " / ".join(str(x) for x in (p.get("task"), p.get("dataset")) if x)
    if event.kind == NEW_PAPER_WITH_CODE:
        code = p.get("code_url") or p.get("repo_url") or ""
        return f"{where}: {p.get('paper_title') or p.get('arxiv_id') or 'paper'} -> {code}".strip()
    claimed = "" if p.get("verified", True) else " (claimed, unverified)"
    if event.kind == NEW_SOTA:
        prev = p.get("previous") or {}
        was = f" (was {_value(prev.get('raw'), prev.get('value'))}, {prev.get('model')})" if prev else ""
        score = f"{p.get('metric')} {_value(p.get('raw'), p.get('value'))}"
        return f"{where}: {p.get('model')} {score}{was}{claimed}"
    metrics = p.get("metrics") or {}
    score = ", ".join(f"{name} {raw}" for name, raw in list(metrics.items())[:3])
    return f"{where}: {p.get('model')}" + (f" {score}" if score else "") + claimed


def as_json(event: ResultEvent) -> dict[str, Any]:
    created = as_utc(event.created_at)
    alerted = as_utc(event.alerted_at)
    return {
        "id": event.id,
        "kind": event.kind,
        "created_at": created.isoformat() if created else None,
        "alerted_at": alerted.isoformat() if alerted else None,
        "task_id": event.task_id,
        "benchmark_id": event.benchmark_id,
        "result_id": event.result_id,
        "paper_id": event.paper_id,
        "summary": describe(event),
        "payload": event.payload,
    }


def _events(args: argparse.Namespace, app: App) -> int:
    since = datetime.combine(args.since, datetime.min.time(), tzinfo=UTC) if args.since else None
    with Session(app.engine) as session:
        events = list_events(session, since=since, kind=args.kind, limit=args.limit)
    if args.json:
        print(json.dumps([as_json(e) for e in events], indent=2, ensure_ascii=False))
        return 0
    if not events:
        print("no events" + (f" since {args.since.isoformat()}" if args.since else "") + ".")
        return 0
    for event in events:
        created = as_utc(event.created_at)
        when = created.strftime("%Y-%m-%d %H:%M") if created else "?"
        print(f"{when}  {event.kind:<19}  {describe(event)}")
    return 0
