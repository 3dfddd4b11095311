"""`/sota TASK [on DATASET] [by METRIC] [private]`: the leaderboard of a task's benchmark, with paper, code and a
chart; `private` answers the asker alone, with "Share to channel"."""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rapidfuzz import fuzz, process
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sotabot.bot.commands.context import CommandContext, cut, error, fmt_value, repo_label, shown
from sotabot.bot.commands.parser import ParsedCommand, ParseError, SotaQuery, parse_sota
from sotabot.bot.lookup.datasets import resolve_dataset
from sotabot.bot.lookup.metrics import on_main_board
from sotabot.bot.lookup.resolve import Resolution, resolve_task
from sotabot.bot.render.inline import escape
from sotabot.bot.settings import Config
from sotabot.digests.message import Block, Context, Header, Image, Message, Section, Table, md_link
from sotabot.sources.normalise.canonical import canonical_preference
from sotabot.sources.normalise.taxonomy import normalise
from sotabot.sources.normalise.values import is_paper_url
from sotabot.sources.normalise.variants import metric_label, shown_as
from sotabot.sources.provenance import board_provenance
from sotabot.storage.db import session_scope
from sotabot.storage.leaderboards import Leaderboard, LookupProblem, Prefer, leaderboard

log = logging.getLogger(__name__)

LEADERBOARD_ROWS = 10
OTHER_BENCHMARKS_SHOWN = 6
TITLE_CHARS = 90
OTHER_TASKS_SHOWN = 5
CHART_DIR = Path(tempfile.gettempdir()) / "sotabot-charts"
CHART_MAX_AGE_SECONDS = 3600


def sota_command(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    query = parse_sota(cmd.tokens)
    if isinstance(query, ParseError):
        return error(ctx, query.message, query.command)
    prefer = canonical_preference(config.canonical)
    with session_scope(engine) as session:
        res = resolve_task(session, query.task, limit=5)
        by_dataset = None
        if res.how not in ("exact", "alias") and not query.dataset:
            by_dataset = resolve_dataset(session, query.task, prefer)
        if by_dataset is not None:  # "/sota imagenet": the dataset's board in the task that uses it most
            res = Resolution(by_dataset.task, by_dataset.others, "dataset")
            query = replace(query, dataset=by_dataset.dataset)
        if res.task is None:
            return unknown_task(ctx, query.task, [s.name for s in res.suggestions], "sota")
        try:
            board = _leaderboard(session, res.task.id, query, prefer, res.task.slug)
        except LookupProblem as exc:
            return _lookup_problem(ctx, exc, res.task.name, query)
        if board is None:
            return Message(
                text=f"No leaderboard stored for {res.task.name} yet.",
                blocks=[
                    Header(escape(res.task.name)),
                    Section(f"No leaderboard is stored for **{escape(res.task.name)}** yet."),
                    Context("Leaderboards come from the Papers with Code archive and the live sources."),
                ],
                ephemeral=True,
            )
        chart = _chart(session, board) if charts and board.metric_id is not None else None
        also = by_dataset.others_note() if by_dataset is not None else None  # the terminal's words too
        notes = [also] if also else []
        message = board_message(session, board, query=query, how=res.how, chart_path=chart, notes=notes)
    message.ephemeral = query.private  # `/sota TASK private`: the asker's alone, with "Share to channel"
    from sotabot.bot.commands.actions import with_controls  # actions builds on this module

    return with_controls(message, board)


def _close_choices(asked: str, choices: list[str]) -> list[str]:
    """Choices containing what was asked ("squad" -> SQuAD1.1, SQuAD2.0), then similar ones."""
    key = normalise(asked).replace(" ", "")
    if not key:
        return []
    inside = [c for c in choices if key in normalise(c).replace(" ", "")]
    if inside:
        return inside
    similar = process.extract(key, [normalise(c) for c in choices], scorer=fuzz.partial_ratio, score_cutoff=80,
                              limit=5)
    return [choices[i] for _, _, i in similar]


def _leaderboard(
    session: Session, task_id: int, query: SotaQuery, prefer: Prefer | None = None, task_slug: str | None = None
) -> Leaderboard | None:
    """The leaderboard; a dataset or metric given loosely is retried once when only one choice fits
    (a metric also by the name it is shown under: "WER" for speech recognition's "Percentage error")."""
    dataset, metric = on_main_board(session, task_id, task_slug or "", query.dataset, query.metric, prefer)
    for _ in range(3):
        try:
            return leaderboard(session, task_id, dataset=dataset, metric=metric, limit=LEADERBOARD_ROWS, prefer=prefer)
        except LookupProblem as exc:
            shown = shown_as(exc.query, exc.choices, task_slug) if exc.kind == "metric" and exc.query else None
            close = [shown] if shown else _close_choices(exc.query or "", exc.choices)
            if len(close) != 1 or exc.kind not in ("dataset", "metric"):
                if close:
                    exc.choices = close
                raise
            if exc.kind == "dataset" and dataset != close[0]:
                dataset = close[0]
            elif exc.kind == "metric" and metric != close[0]:
                metric = close[0]
            else:
                raise
    return leaderboard(session, task_id, dataset=dataset, metric=metric, limit=LEADERBOARD_ROWS, prefer=prefer)


def unknown_task(ctx: CommandContext, text: str, suggestions: list[str], command: str) -> Message:
    message = f"I don't know the task “{shown(text)}”."
    if suggestions:
        message += " Did you mean " + ", ".join(f"**{escape(s)}**" for s in suggestions[:5]) + "?"
    else:
        message += " Try `/sota search WORDS` to find one."
    return error(ctx, message, command)


def _lookup_problem(ctx: CommandContext, exc: LookupProblem, task_name: str, query: SotaQuery) -> Message:
    kind = exc.kind
    asked = query.dataset if kind == "dataset" else query.metric
    choices = [c for c in exc.choices if c][:8]
    if "ambiguous" in exc.message or (choices and _close_choices(asked or "", choices[:1])):
        message = f"“{shown(asked or '')}” fits several {kind}s of **{escape(task_name)}**."
    elif kind == "metric":
        message = f"**{escape(task_name)}** has no metric “{shown(asked or '')}” there."
    else:
        message = f"**{escape(task_name)}** has no dataset “{shown(asked or '')}”."
    if choices:
        more = len(exc.choices) - len(choices)
        tail = f" and {more} more" if more > 0 else ""
        message += " Try: " + ", ".join(escape(c[:80]) for c in choices) + tail + "."
    return error(ctx, message, "sota")


def board_message(session: Session, board: Leaderboard, *, query: SotaQuery | None = None, how: str = "exact",
                  chart_path: str | None = None, notes: Sequence[str] = ()) -> Message:
    """Every leaderboard answer, to a command or a click: the board, then `notes`, then the provenance footer
    naming the sources its shown rows came from (one place builds it, so no answer goes without)."""
    provenance = board_provenance(session, (r.source for r in board.rows))
    message = leaderboard_message(board, query=query, how=how, chart_path=chart_path)
    message.blocks.extend(Context(note) for note in notes)
    if provenance.sources:
        message.blocks.append(Context(provenance.footer()))
    return message


def leaderboard_message(board: Leaderboard, *, query: SotaQuery | None = None, how: str = "exact",
                        chart_path: str | None = None) -> Message:
    """A storage Leaderboard as a Message: table, paper/code links, other benchmarks, chart (no footer:
    `board_message` adds the provenance)."""
    metric = metric_label(board.metric, board.task_slug) or "score"
    direction = {True: "higher is better", False: "lower is better"}.get(board.higher_is_better, "direction unknown")
    blocks: list[Block] = [
        Header(escape(board.task_name)),
        Section(f"**{escape(board.dataset)}** · ranked by **{escape(metric)}** ({direction})"),
    ]
    rows: list[list[str]] = []
    links: list[str] = []
    extra = False
    unverified: set[str] = set()  # sources of unverified rows: a claim, or a Hub score the Hub has not verified
    for row in board.rows:
        model = row.model or row.paper_title or "—"
        marks = ""
        if row.extra_data:
            marks += " †"
            extra = True
        if not row.verified:
            marks += " ?"
            unverified.add(row.source)
        when = row.date.strftime("%Y-%m") if row.date else ""
        rows.append([str(row.rank), escape(cut(model, 60)) + marks, escape(fmt_value(row.value, row.raw)), when])
        parts: list[str] = []
        title = cut(row.paper_title or "", TITLE_CHARS)
        if row.paper_url and not is_paper_url(row.paper_url):  # a homepage or blog: a link, not the paper
            parts.append((escape(title) + " · " if title else "") + md_link("link", row.paper_url))
        elif row.paper_url:
            parts.append(md_link(title or "paper", row.paper_url))
        elif title:
            parts.append(escape(title))
        if row.code_url:
            parts.append(md_link(repo_label(row.code_url), row.code_url))
        if parts:
            links.append(f"`{row.rank}` " + " · ".join(parts))
    if rows:
        blocks.append(Table(columns=["#", "Model", escape(cut(metric, 24)), "Date"], rows=rows,
                            align=["r", "l", "r", "l"]))
    else:
        blocks.append(Section("No results on this benchmark yet."))
    if links:
        blocks.append(Section("**Papers and code**\n" + "\n".join(links)))
    if chart_path:
        alt = f"{escape(board.task_name)}: state of the art over time on {escape(board.dataset)}"
        blocks.append(Image(alt=alt, path=chart_path))
    notes: list[str] = []
    if extra:
        notes.append("† extra training data")
    if unverified - {"hf"}:
        notes.append("? unverified claim")
    if "hf" in unverified:
        notes.append("? a score the Hugging Face Hub has not verified")
    if query is not None and how not in ("exact",) and normalise(query.task) != normalise(board.task_name):
        notes.append(f"showing **{escape(board.task_name)}** for “{shown(query.task)}”")
    if notes:
        blocks.append(Context(" · ".join(notes)))
    others = list(board.other_benchmarks)
    if others:
        listed = ", ".join(
            f"{escape(cut(o.dataset, 50))} ({o.results})" for o in others[:OTHER_BENCHMARKS_SHOWN]
        )
        more = f" and {len(others) - OTHER_BENCHMARKS_SHOWN} more" if len(others) > OTHER_BENCHMARKS_SHOWN else ""
        blocks.append(Context(f"Other benchmarks: {listed}{more} · `/sota {board.task_slug} on DATASET`"))
    top = "; ".join(f"{r.rank}. {r.model or r.paper_title or '?'} {fmt_value(r.value, r.raw)}" for r in board.rows[:3])
    text = f"State of the art on {board.task_name} ({board.dataset}, {metric})" + (f": {top}" if top else "")
    return Message(text=escape(text), blocks=blocks)


def _chart(session: Session, board: Leaderboard) -> str | None:
    """A SOTA-over-time chart for the leaderboard, cached on disk for an hour."""
    from sotabot.digests import chart  # matplotlib: imported on the first chart only
    name = re.sub(r"[^a-z0-9-]+", "-", board.task_slug.lower())[:80]
    db = hashlib.sha1(str(session.get_bind().engine.url).encode()).hexdigest()[:8]  # two bots, one /tmp
    path = CHART_DIR / f"sota-{name}-{board.benchmark_id}-{board.metric_id}-{db}.png"
    try:
        if path.exists() and time.time() - path.stat().st_mtime < CHART_MAX_AGE_SECONDS:
            return str(path)
        CHART_DIR.mkdir(parents=True, exist_ok=True)
        made = chart.chart_for_task(session, board.task_id, path, dataset=board.dataset, metric=board.metric)
    except Exception as exc:  # a chart is a bonus: the leaderboard answers without it
        expected = isinstance(exc, (chart.ChartError, LookupProblem))
        log.log(logging.INFO if expected else logging.WARNING, "no chart for %s: %s", board.task_slug, exc,
                exc_info=not expected)
        return None
    if made is None or made is False:
        return None
    return str(path) if path.exists() else None
