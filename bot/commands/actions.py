"""Leaderboard controls and what a click on them does, the same on every platform.

A leaderboard answer carries an `Actions` block: a benchmark menu, a metric menu, "More
rows", "Chart", "Subscribe this channel" and, on a private answer, "Share to channel". Every
control's value is the whole state of the board it belongs to (`task.benchmark.metric.rows`,
a few digits), never a key into memory, so a button on a week-old message works after any
number of restarts. `handle_action` turns a click into an `ActionReply`: a new board that
replaces the message in place, a message posted to the channel (share), or a private answer
(a refusal, a confirmation, a stale control). Platform adapters only decode the click and
deliver the reply.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Engine

from sotabot.bot.commands import lifecycle
from sotabot.bot.commands.channel import channel_for, not_allowed, valid_context
from sotabot.bot.commands.context import CommandContext, cut
from sotabot.bot.commands.leaderboard import _chart, board_message
from sotabot.bot.render.inline import escape
from sotabot.bot.settings import Config
from sotabot.digests.message import Actions, Control, Message, Section
from sotabot.sources.normalise.canonical import canonical_preference
from sotabot.sources.normalise.variants import metric_label
from sotabot.storage import channels as channel_store
from sotabot.storage.db import session_scope
from sotabot.storage.leaderboards import (
    BenchmarkChoice,
    Leaderboard,
    LookupProblem,
    benchmark_choices,
    leaderboard,
)
from sotabot.storage.models import Task

log = logging.getLogger(__name__)

DATASET, METRIC, MORE, CHART, SUBSCRIBE, SHARE = (
    "sota.dataset", "sota.metric", "sota.more", "sota.chart", "sota.subscribe", "sota.share"
)
ACTIONS = (DATASET, METRIC, MORE, CHART, SUBSCRIBE, SHARE)
ROWS = 10
MORE_STEP = 10
MAX_ROWS = 50
MAX_OPTIONS = 25  # Discord's menu limit (Slack allows 100)
OPTION_CHARS = 75  # Slack option text limit
STALE = "This control is out of date (the leaderboard changed or is gone); run `/sota` again."
_STATE = re.compile(r"^(\d{1,12})\.(\d{1,12})\.(\d{1,12})\.(\d{1,3})(?:\.([01]))?$")

Mode = Literal["replace", "post", "private"]


@dataclass(frozen=True)
class BoardState:
    """Which board a control belongs to; `metric_id` 0 means the benchmark's main metric; `private` marks the
    controls of an answer only the asker sees (a trailing ".1"; values without it are public boards)."""

    task_id: int
    benchmark_id: int
    metric_id: int
    rows: int = ROWS
    private: bool = False

    def encode(self) -> str:
        return f"{self.task_id}.{self.benchmark_id}.{self.metric_id}.{self.rows}" + (".1" if self.private else "")

    @classmethod
    def decode(cls, value: str) -> BoardState | None:
        m = _STATE.match(value or "")
        if m is None:
            return None
        task, bench, metric, rows = (int(g) for g in m.groups()[:4])
        return cls(task, bench, metric, max(1, min(rows, MAX_ROWS)), m.group(5) == "1")


@dataclass
class ActionReply:
    message: Message
    mode: Mode


def controls(board: Leaderboard, choices: list[BenchmarkChoice], *, rows: int = ROWS,
             private: bool = False) -> Actions:
    """The controls under a board: menus of its task's benchmarks and of this benchmark's metrics; on a
    private answer every control says so (the board it brings stays private) and "Share to channel" is added."""
    metric_id = board.metric_id or 0

    def state(benchmark_id: int, metric: int, n: int) -> str:
        return BoardState(board.task_id, benchmark_id, metric, n, private).encode()

    here = state(board.benchmark_id, metric_id, rows)
    items: list[Control] = []
    benches = [c for c in choices if c.metrics][:MAX_OPTIONS]
    if len(benches) > 1:
        items.append(Control(DATASET, "Benchmark", options=[
            (cut(c.dataset, OPTION_CHARS), state(c.benchmark_id, 0, ROWS)) for c in benches
        ], selected=state(board.benchmark_id, 0, ROWS)))
    current = next((c for c in choices if c.benchmark_id == board.benchmark_id), None)
    if current is not None and len(current.metrics) > 1:
        items.append(Control(METRIC, "Metric", options=[
            (cut(metric_label(name, board.task_slug) or name, OPTION_CHARS), state(board.benchmark_id, mid, rows))
            for mid, name in current.metrics[:MAX_OPTIONS]
        ], selected=here))
    if len(board.rows) >= rows and rows < MAX_ROWS:
        items.append(Control(MORE, "More rows", state(board.benchmark_id, metric_id, min(rows + MORE_STEP, MAX_ROWS))))
    if board.metric_id is not None:
        items.append(Control(CHART, "Chart", here))
    items.append(Control(SUBSCRIBE, "Subscribe this channel", here))
    if private:
        items.append(Control(SHARE, "Share to channel", here))
    return Actions(items)


def with_controls(msg: Message, board: Leaderboard, *, rows: int = ROWS) -> Message:
    """The leaderboard answer with its controls appended; the menu is the board's own benchmarks, in the
    order the answer chose them (the canonical preference it was built with), read with it in one go."""
    msg.blocks.append(controls(board, board.choices, rows=rows, private=msg.ephemeral))
    return msg


def handle_action(engine: Engine, config: Config, ctx: CommandContext, action: str, value: str,
                  *, charts: bool = True) -> ActionReply:
    """What a click does. Never raises: a failure is a private apology and a log line."""
    try:
        return _act(engine, config, ctx, action, value, charts)
    except Exception:
        log.exception("action %s failed (platform %s, channel %s)", action, ctx.platform, ctx.channel)
        return ActionReply(Message.error("Sorry, that did not work. Try `/sota` again."), "private")


def _act(engine: Engine, config: Config, ctx: CommandContext, action: str, value: str, charts: bool) -> ActionReply:
    state = BoardState.decode(value)
    if action not in ACTIONS or state is None:
        return ActionReply(Message.error(STALE), "private")
    if action == SUBSCRIBE:
        return _subscribe(engine, config, ctx, state)
    with session_scope(engine) as session:
        choices = benchmark_choices(session, state.task_id, canonical_preference(config.canonical))
        bench = next((c for c in choices if c.benchmark_id == state.benchmark_id), None)
        if bench is None:
            return ActionReply(Message.error(STALE), "private")
        metric = next((name for mid, name in bench.metrics if mid == state.metric_id), None)
        try:
            board = leaderboard(session, state.task_id, dataset=bench.dataset, metric=metric, limit=state.rows)
        except LookupProblem:
            board = None
        if board is None or board.benchmark_id != state.benchmark_id:
            return ActionReply(Message.error(STALE), "private")
        chart = _chart(session, board) if action == CHART and charts and board.metric_id is not None else None
        notes = ["No chart for this benchmark: too few dated results on its metric."] if (
            action == CHART and chart is None) else []
        msg = board_message(session, board, chart_path=chart, notes=notes)
    private = state.private and action != SHARE  # a shared board is the channel's: no Share of its own
    msg.ephemeral = private
    msg.blocks.append(controls(board, choices, rows=state.rows, private=private))
    return ActionReply(msg, "post" if action == SHARE else "replace")


def _subscribe(engine: Engine, config: Config, ctx: CommandContext, state: BoardState) -> ActionReply:
    """"Subscribe this channel", checked and answered as `/sota subscribe TASK` is (permission, a channel,
    and where the platform says the bot cannot post, how to invite it)."""
    if not ctx.can_manage:
        return ActionReply(not_allowed(ctx, "subscriptions", "subscribe"), "private")
    if not valid_context(ctx):
        return ActionReply(Message.error("Subscriptions need a channel; this conversation has none."), "private")
    lifecycle.before_command(engine, ctx)
    with session_scope(engine) as session:
        task = session.get(Task, state.task_id)
        if task is None:
            return ActionReply(Message.error(STALE), "private")
        channel = channel_for(session, ctx, config)
        added = channel_store.subscribe(session, channel, "task", task.slug)
        name = task.name
    said = (f"This channel now follows **{escape(name)}**." if added
            else f"This channel already follows **{escape(name)}**.")
    reply = Message(text=said, blocks=[Section(said)], ephemeral=True)
    lifecycle.after_command(engine, ctx, "subscribe", reply)
    return ActionReply(reply, "private")
