"""`sotabot sota TASK` and `sotabot tasks [QUERY]`: answers in a terminal.

`sota --json` prints exactly the documented schema (scripts depend on it); an unknown task
exits 1 with suggestions. Names from the data go into rich `Text` objects, never markup, so
a model called "[bold]" prints as written.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich import box
from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text
from sqlmodel import Session

from sotabot.bot.cli.app import App, UserError
from sotabot.bot.lookup.datasets import resolve_dataset
from sotabot.bot.lookup.index import TaskRef
from sotabot.bot.lookup.metrics import on_main_board
from sotabot.bot.lookup.resolve import Resolution, resolve_task, search_tasks
from sotabot.bot.render.terminal import render_terminal
from sotabot.digests.message import Context, Message
from sotabot.sources.normalise.canonical import canonical_preference
from sotabot.sources.normalise.variants import metric_label, shown_as
from sotabot.sources.provenance import Provenance, board_provenance
from sotabot.storage.leaderboards import Leaderboard, LookupProblem, leaderboard, sota_series

MAX_LIMIT = 500
MAX_CHOICES_SHOWN = 15


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LIMIT}, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sota", help="the leaderboard of a task (state of the art, papers, code)")
    p.add_argument("task", nargs="+", help='task name, slug or alias, e.g. "image classification" or obj det')
    p.add_argument("--dataset", metavar="D", help="another benchmark of the task (dataset name)")
    p.add_argument("--metric", metavar="M", help="rank by another metric")
    p.add_argument("--limit", type=_limit, default=10, metavar="N", help="rows to show (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON (stable schema, see docs)")
    p.add_argument("--chart", metavar="PATH", help="also write the SOTA-over-time chart (PNG) to PATH")
    p.set_defaults(func=_sota)

    t = sub.add_parser("tasks", help="search tasks by name (fuzzy); without QUERY the most popular")
    t.add_argument("query", nargs="*", help="words to search for")
    t.add_argument("--limit", type=_limit, default=25, metavar="N", help="tasks to show (default 25)")
    t.add_argument("--json", action="store_true", help="print JSON")
    t.set_defaults(func=_tasks)


@contextmanager
def _session(app: Any) -> Iterator[Session]:
    with Session(app.engine, expire_on_commit=False) as session:
        yield session


def _print_json(data: object) -> None:
    print(json.dumps(data, indent=2))


def _number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _task_json(ref: TaskRef) -> dict[str, str]:
    return {"slug": ref.slug, "name": ref.name}


def board_json(board: Leaderboard, provenance: Provenance | None = None) -> dict[str, Any]:
    """The `sota --json` schema, exactly (documented in docs/leaderboards.md)."""
    return {
        "as_of": provenance.as_of.isoformat() if provenance and provenance.as_of else None,
        "data_sources": provenance.to_json() if provenance else [],
        "task": {"slug": board.task_slug, "name": board.task_name},
        "benchmark": {"dataset": board.dataset, "metric": board.metric, "higher_is_better": board.higher_is_better},
        "rows": [
            {
                "rank": row.rank,
                "model": row.model,
                "value": _number(row.value),
                "raw": row.raw,
                "paper_title": row.paper_title,
                "paper_url": row.paper_url,
                "code_url": row.code_url,
                "date": row.date.isoformat() if row.date else None,
                "extra_data": row.extra_data,
                "verified": row.verified,
                "source": row.source,
            }
            for row in board.rows
        ],
        "other_benchmarks": [
            {"dataset": b.dataset, "metric": b.metric, "results": b.results} for b in board.other_benchmarks
        ],
    }


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_CHOICES_SHOWN])
    more = len(names) - MAX_CHOICES_SHOWN
    return shown + (f" … ({more} more)" if more > 0 else "")


def _unknown_task(query: str, res: Resolution, as_json: bool, empty: bool) -> int:
    if as_json:
        _print_json({"error": "unknown task", "query": query, "suggestions": [_task_json(s) for s in res.suggestions]})
        return 1
    if res.suggestions:
        raise UserError(f"Unknown task {query!r}. Did you mean: {', '.join(s.name for s in res.suggestions)}?")
    if empty:
        raise UserError(f"Unknown task {query!r}: no tasks yet. Import leaderboards: sotabot import pwc-tables PATH")
    raise UserError(f"Unknown task {query!r}. Search with: sotabot tasks WORDS")


def _sota(args: argparse.Namespace, app: App) -> int:
    query = " ".join(args.task).strip()
    if not query:
        raise UserError('which task? e.g. sotabot sota "image classification"')
    prefer = canonical_preference(app.config.canonical)
    dataset = args.dataset
    by_dataset = None
    with _session(app) as session:
        res = resolve_task(session, query, limit=5)
        if res.how not in ("exact", "alias") and not dataset:
            by_dataset = resolve_dataset(session, query, prefer)  # `sotabot sota imagenet`
            if by_dataset is not None:
                res = Resolution(by_dataset.task, by_dataset.others, "dataset")
                dataset = by_dataset.dataset
        if res.task is None:
            return _unknown_task(query, res, args.json, empty=not search_tasks(session, "", limit=1))
        try:
            dataset, metric = on_main_board(session, res.task.id, res.task.slug, dataset, args.metric, prefer)
            try:
                board = leaderboard(session, res.task.id, dataset=dataset, metric=metric, limit=args.limit,
                                    prefer=prefer)
            except LookupProblem as problem:  # a metric by the name the board shows it under ("WER")
                shown = shown_as(metric, problem.choices, res.task.slug) if problem.kind == "metric" else None
                if shown is None or metric is None:
                    raise
                board = leaderboard(session, res.task.id, dataset=dataset, metric=shown, limit=args.limit,
                                    prefer=prefer)
        except LookupProblem as problem:
            if args.json:
                _print_json({
                    "error": f"unknown {problem.kind}", "query": problem.query,
                    "task": _task_json(res.task), "choices": problem.choices,
                })
                return 1
            message = f"Unknown {problem.kind} {problem.query!r} for {res.task.name}."
            raise UserError(f"{message} Choose one of: {_listing(problem.choices)}") from None
        if board is None:
            if args.json:
                _print_json({"error": "no leaderboard", "query": query, "task": _task_json(res.task)})
                return 1
            raise UserError(f"No leaderboard for {res.task.name} yet: none of its results are imported.")
        series = sota_series(session, board.benchmark_id, board.metric_id) if args.chart and board.metric_id else []
        provenance = board_provenance(session, (r.source for r in board.rows))
    if args.chart:
        _chart(board, series, args.chart)
    if args.json:
        _print_json(board_json(board, provenance))
    else:
        _print_board(board, query, res)
        Console(highlight=False).print(Text(provenance.footer(), style="dim"), soft_wrap=True)
        note = by_dataset.others_note() if by_dataset is not None else None
        if note:  # the other tasks on the dataset: chat's footer, through the terminal renderer
            render_terminal(Message(text=note, blocks=[Context(note)]), Console(highlight=False, soft_wrap=True))
        if args.chart:
            Console(highlight=False).print(Text(f"chart written to {args.chart}", style="dim"), soft_wrap=True)
    return 0


def _chart(board: Leaderboard, series: list, path: str) -> None:
    """The SOTA-over-time PNG via digests.chart (matplotlib is imported only when a chart is asked for)."""
    from sotabot.digests import chart
    if not series:
        raise UserError(f"no dated results with a value on {board.dataset}: nothing to chart")
    try:
        chart.render_board_chart(board, series, path)
    except (ValueError, OSError) as exc:  # ChartError is a ValueError: unwritable path, nothing to draw
        raise UserError(f"chart {path}: {exc}") from None


def _direction(board: Leaderboard) -> str:
    if board.higher_is_better is True:
        return "↑ higher is better"
    if board.higher_is_better is False:
        return "↓ lower is better"
    return "? direction unknown, highest first"


def _short_url(url: str) -> str:
    """A URL without scheme and www (still copyable); GitHub repositories as owner/name."""
    short = url.split("://", 1)[-1].removeprefix("www.").rstrip("/")
    return short.removeprefix("github.com/")


def _print_board(board: Leaderboard, query: str, res: Resolution) -> None:
    console = Console(highlight=False)
    title = Text()
    title.append(board.task_name, style="bold")
    title.append(f" · {board.dataset}")
    if board.metric:
        title.append(f" · {metric_label(board.metric, board.task_slug)} ")
        title.append(_direction(board), style="dim")
    console.print(title)
    if res.how == "fuzzy":
        console.print(Text(f"(matched {query!r} to {board.task_name})", style="dim"))
    if not board.rows:
        console.print("No results on this benchmark yet.")
    else:
        spare = max(30, console.width - 40)  # what #, value, date and flags leave for the text columns
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("Model", overflow="fold", min_width=10, max_width=max(12, spare * 2 // 5))
        table.add_column("Value", justify="right", no_wrap=True)
        table.add_column("Paper", overflow="ellipsis", no_wrap=True, max_width=max(10, spare * 2 // 5))
        table.add_column("Code", overflow="fold", max_width=max(10, spare // 4))
        table.add_column("Date", no_wrap=True, min_width=10)
        table.add_column("", no_wrap=True)
        for row in board.rows:
            value = row.raw or (f"{row.value:g}" if row.value is not None else "—")
            paper = Text(row.paper_title or (_short_url(row.paper_url) if row.paper_url else "—"))
            if row.paper_url:
                paper.stylize(Style(link=row.paper_url))
            code = Text(_short_url(row.code_url) if row.code_url else "—")
            flags = "+data" if row.extra_data else ""
            if not row.verified:
                flags = f"{flags} unverified".strip()
            table.add_row(
                str(row.rank), Text(row.model), Text(value), paper, code,
                row.date.isoformat() if row.date else "—", Text(flags, style="yellow"),
            )
        console.print(table)
        if any(r.extra_data for r in board.rows):
            console.print(Text("+data: trained with extra data", style="dim"))
    if board.other_benchmarks:
        console.print(Text(f"Other benchmarks ({len(board.other_benchmarks)}), choose with --dataset:", style="bold"))
        for b in board.other_benchmarks[:MAX_CHOICES_SHOWN]:
            line = Text(f"  {b.dataset}")
            shown = metric_label(b.metric, board.task_slug) or "—"
            line.append(f"  {shown}, {b.results} result{'s' if b.results != 1 else ''}", style="dim")
            console.print(line)
        more = len(board.other_benchmarks) - MAX_CHOICES_SHOWN
        if more > 0:
            console.print(Text(f"  … and {more} more", style="dim"))


def _tasks(args: argparse.Namespace, app: App) -> int:
    query = " ".join(args.query).strip()
    with _session(app) as session:
        found = search_tasks(session, query, limit=args.limit)
    if args.json:
        _print_json([_task_json(t) for t in found])
        return 0
    console = Console(highlight=False)
    if not found:
        console.print(Text(f"No task matches {query!r}." if query else "No tasks yet: import some first."))
        return 0
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Slug", overflow="fold")
    table.add_column("Name", overflow="fold")
    for ref in found:
        table.add_row(Text(ref.slug), Text(ref.name))
    console.print(table)
    return 0
