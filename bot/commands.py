"""The `/sota` commands, platform-neutral: text in, a Message out.

Slack, Discord and the terminal all call `handle(engine, config, ctx, text)` with whatever
the user typed after `/sota`; the adapters only ack, render and send. Nothing raises out of
`handle`: bad input gets a short answer with the command's usage line, a failure inside
gets a one-line apology and a log entry. Channel settings are reached only through the
context's (platform, workspace, channel) key, so one workspace can never touch another's.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bot import autocomplete
from bot.command_parser import (
    USAGE,
    DigestCommand,
    ParsedCommand,
    ParseError,
    SotaQuery,
    Target,
    Token,
    normalise_category,
    parse,
    parse_arxiv_id,
    parse_digest,
    parse_sota,
    parse_target,
)
from bot.inline_markdown import escape
from digests.digest import preview as digest_preview
from digests.message import Block, Context, Divider, Fields, Header, Image, Message, Section, Table
from digests.trending import TrendingPaper, trending
from sources.task_lookup import resolve_task, search_tasks
from sources.taxonomy import normalise
from storage import channels as channel_store
from storage.config import Config
from storage.db import session_scope
from storage.leaderboards import Leaderboard, LookupProblem, leaderboard
from storage.models import Benchmark, Channel, Dataset, Metric, Paper, PaperRepo, Repo, Result, ResultValue, Task

log = logging.getLogger(__name__)

LEADERBOARD_ROWS = 10
OTHER_BENCHMARKS_SHOWN = 6
TRENDING_LIMIT = 10
SEARCH_TASKS = 10
SEARCH_PAPERS = 8
PAPER_REPOS_SHOWN = 5
PAPER_RESULTS_SHOWN = 6
ABSTRACT_CHARS = 600
TITLE_CHARS = 90
ECHO_CHARS = 60  # how much of the user's own text an answer repeats
CHART_DIR = Path(tempfile.gettempdir()) / "sotabot-charts"
CHART_MAX_AGE_SECONDS = 3600
ARXIV_ABS = "https://arxiv.org/abs/"

complete_task = autocomplete.complete_task
complete_dataset = autocomplete.complete_dataset


@dataclass(frozen=True)
class CommandContext:
    """Who asked, where: the channel key plus what the platform says the user may do."""

    platform: str  # "slack" | "discord" | "terminal"
    workspace: str  # Slack "E…:T…" or "T…"; Discord guild id; "local" for terminal
    channel: str
    user: str = ""
    can_manage: bool = True  # Manage Channels (Discord) / allowed to change channel settings
    channel_name: str | None = None


DISCORD_USAGE: dict[str, str] = {
    "sota": "/sota task:TASK [dataset:DATASET] [metric:METRIC]",
    "paper": "/paper paper:ARXIV_ID|URL",
    "trending": "/trending [category:CATEGORY]",
    "search": "/search query:QUERY",
    "subscribe": '/subscribe target:TASK | category:cs.CV | keyword:"..."',
    "unsubscribe": '/unsubscribe target:TASK | category:cs.CV | keyword:"..." | all',
    "subscriptions": "/subscriptions",
    "digest": "/digest action:on|off|at|categories|keywords|preview [value:...]",
    "help": "/sota task:help",
}
DESCRIPTIONS: dict[str, str] = {
    "sota": "the leaderboard of a task, with papers and code",
    "paper": "a paper by arXiv id or URL, with its code and results",
    "trending": "papers with code gaining stars and upvotes",
    "search": "tasks and papers by name",
    "subscribe": "alert this channel on new results for a task, category or keyword",
    "unsubscribe": "stop an alert",
    "subscriptions": "what this channel follows, and its digest",
    "digest": "this channel's daily digest of new papers with code",
    "help": "this list",
}
EXAMPLES: dict[str, list[str]] = {
    "sota": ["object detection", "image classification on ImageNet", "question answering on SQuAD by F1"],
    "paper": ["paper 1706.03762", "paper https://arxiv.org/abs/2010.11929"],
    "trending": ["trending", "trending cs.CV"],
    "search": ["search segmentation", "search diffusion"],
    "subscribe": ["subscribe semantic segmentation", "subscribe category:cs.CL", 'subscribe keyword:"state space"'],
    "unsubscribe": ["unsubscribe semantic segmentation", "unsubscribe all"],
    "subscriptions": ["subscriptions"],
    "digest": ["digest on", "digest at 09:00 Europe/Berlin", "digest categories cs.CV cs.LG", "digest preview"],
    "help": ["help", "help digest"],
}
MANAGE_DIGEST_ACTIONS = {"on", "off", "at", "timezone", "categories", "keywords"}


def usage(command: str, platform: str = "slack") -> str:
    table = DISCORD_USAGE if platform == "discord" else USAGE
    return table.get(command, table["help"])


def _shown(text: str, limit: int = ECHO_CHARS) -> str:
    """The user's text, cut short and made literal, for echoing in a reply."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text)


def _code(text: str) -> str:
    return "`" + text.replace("`", "ˋ") + "`"


def _error(ctx: CommandContext, text: str, command: str | None) -> Message:
    return Message.error(text, usage(command, ctx.platform) if command else None)


def handle(engine: Engine, config: Config, ctx: CommandContext, text: str, *, charts: bool = True) -> Message:
    """Answer one command. Never raises: every failure becomes a short reply."""
    try:
        return _dispatch(engine, config, ctx, text if isinstance(text, str) else "", charts)
    except Exception:
        log.exception(
            "command failed (platform %s, workspace %s, channel %s): %r",
            ctx.platform, ctx.workspace, ctx.channel, (text or "")[:200],
        )
        return Message.error("Sorry, something went wrong answering that. The details are in the bot's log.")


def _dispatch(engine: Engine, config: Config, ctx: CommandContext, text: str, charts: bool) -> Message:
    parsed = parse(text)
    if isinstance(parsed, ParseError):
        return _error(ctx, parsed.message, parsed.command)
    if parsed.corrected_from and _names_a_task(engine, parsed):
        # "reading comprehension" is a task, not a typo of "trending"
        parsed = ParsedCommand("sota", (Token(parsed.corrected_from), *parsed.tokens), implicit=True)
    reply = HANDLERS[parsed.name](engine, config, ctx, parsed, charts)
    if parsed.corrected_from and reply.kind != "error":
        reply.blocks.append(Context(f"(read {_code(parsed.corrected_from[:30])} as {_code(parsed.name)})"))
    return reply


def _names_a_task(engine: Engine, parsed: ParsedCommand) -> bool:
    whole = " ".join([parsed.corrected_from or "", parsed.rest])
    with session_scope(engine) as session:
        res = resolve_task(session, whole, limit=0)
    return res.task is not None and res.how in ("exact", "alias")


# --- sota ---------------------------------------------------------------------------------


def _sota(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    query = parse_sota(cmd.tokens)
    if isinstance(query, ParseError):
        return _error(ctx, query.message, query.command)
    with session_scope(engine) as session:
        res = resolve_task(session, query.task, limit=5)
        if res.task is None:
            return unknown_task(ctx, query.task, [s.name for s in res.suggestions], "sota")
        try:
            board = _leaderboard(session, res.task.id, query)
        except LookupProblem as exc:
            return _lookup_problem(ctx, exc, res.task.name, query)
        if board is None:
            return Message(
                text=f"No leaderboard stored for {res.task.name} yet.",
                blocks=[
                    Header(res.task.name),
                    Section(f"No leaderboard is stored for **{escape(res.task.name)}** yet."),
                    Context("Leaderboards come from the Papers with Code archive and the live sources."),
                ],
                ephemeral=True,
            )
        chart = _chart(session, board) if charts and board.metric_id is not None else None
    return leaderboard_message(board, query=query, how=res.how, chart_path=chart)


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


def _leaderboard(session: Session, task_id: int, query: SotaQuery) -> Leaderboard | None:
    """The leaderboard; a dataset or metric given loosely is retried once when only one choice fits."""
    dataset, metric = query.dataset, query.metric
    for _ in range(3):
        try:
            return leaderboard(session, task_id, dataset=dataset, metric=metric, limit=LEADERBOARD_ROWS)
        except LookupProblem as exc:
            close = _close_choices(exc.query or "", exc.choices)
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
    return leaderboard(session, task_id, dataset=dataset, metric=metric, limit=LEADERBOARD_ROWS)


def unknown_task(ctx: CommandContext, text: str, suggestions: list[str], command: str) -> Message:
    message = f"I don't know the task “{_shown(text)}”."
    if suggestions:
        message += " Did you mean " + ", ".join(f"**{escape(s)}**" for s in suggestions[:5]) + "?"
    else:
        message += " Try `/sota search WORDS` to find one."
    return _error(ctx, message, command)


def _lookup_problem(ctx: CommandContext, exc: LookupProblem, task_name: str, query: SotaQuery) -> Message:
    kind = exc.kind
    asked = query.dataset if kind == "dataset" else query.metric
    choices = [c for c in exc.choices if c][:8]
    if "ambiguous" in exc.message or (choices and _close_choices(asked or "", choices[:1])):
        message = f"“{_shown(asked or '')}” fits several {kind}s of **{escape(task_name)}**."
    elif kind == "metric":
        message = f"**{escape(task_name)}** has no metric “{_shown(asked or '')}” there."
    else:
        message = f"**{escape(task_name)}** has no dataset “{_shown(asked or '')}”."
    if choices:
        more = len(exc.choices) - len(choices)
        tail = f" and {more} more" if more > 0 else ""
        message += " Try: " + ", ".join(escape(c[:80]) for c in choices) + tail + "."
    return _error(ctx, message, "sota")


def _fmt_value(value: float | None, raw: str) -> str:
    if raw and raw.strip():
        return raw.strip()
    if value is None:
        return "—"
    return f"{value:g}"


def _repo_label(url: str) -> str:
    m = re.match(r"^https?://(?:www\.)?github\.com/([^/\s]+/[^/\s#?]+)", url)
    return m.group(1).removesuffix(".git") if m else "code"


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def leaderboard_message(board: Leaderboard, *, query: SotaQuery | None = None, how: str = "exact",
                        chart_path: str | None = None) -> Message:
    """A storage Leaderboard as a Message: table, paper/code links, other benchmarks, chart."""
    metric = board.metric or "score"
    direction = {True: "higher is better", False: "lower is better"}.get(board.higher_is_better, "direction unknown")
    blocks: list[Block] = [
        Header(board.task_name),
        Section(f"**{escape(board.dataset)}** · ranked by **{escape(metric)}** ({direction})"),
    ]
    rows: list[list[str]] = []
    links: list[str] = []
    extra = unverified = False
    for row in board.rows:
        model = row.model or row.paper_title or "—"
        marks = ""
        if row.extra_data:
            marks += " †"
            extra = True
        if not row.verified:
            marks += " ?"
            unverified = True
        when = row.date.strftime("%Y-%m") if row.date else ""
        rows.append([str(row.rank), escape(_cut(model, 60)) + marks, escape(_fmt_value(row.value, row.raw)), when])
        parts: list[str] = []
        title = _cut(row.paper_title or "", TITLE_CHARS)
        if row.paper_url:
            parts.append(f"[{escape(title or 'paper')}]({row.paper_url})")
        elif title:
            parts.append(escape(title))
        if row.code_url:
            parts.append(f"[{escape(_repo_label(row.code_url))}]({row.code_url})")
        if parts:
            links.append(f"`{row.rank}` " + " · ".join(parts))
    if rows:
        blocks.append(Table(columns=["#", "Model", escape(_cut(metric, 24)), "Date"], rows=rows,
                            align=["r", "l", "r", "l"]))
    else:
        blocks.append(Section("No results on this benchmark yet."))
    if links:
        blocks.append(Section("**Papers and code**\n" + "\n".join(links)))
    if chart_path:
        blocks.append(Image(alt=f"{board.task_name}: state of the art over time on {board.dataset}", path=chart_path))
    notes: list[str] = []
    if extra:
        notes.append("† extra training data")
    if unverified:
        notes.append("? unverified claim")
    if query is not None and how not in ("exact",) and normalise(query.task) != normalise(board.task_name):
        notes.append(f"showing **{escape(board.task_name)}** for “{_shown(query.task)}”")
    if notes:
        blocks.append(Context(" · ".join(notes)))
    others = list(board.other_benchmarks)
    if others:
        shown = ", ".join(
            f"{escape(_cut(o.dataset, 50))} ({o.results})" for o in others[:OTHER_BENCHMARKS_SHOWN]
        )
        more = f" and {len(others) - OTHER_BENCHMARKS_SHOWN} more" if len(others) > OTHER_BENCHMARKS_SHOWN else ""
        blocks.append(Context(f"Other benchmarks: {shown}{more} · `/sota {board.task_slug} on DATASET`"))
    sources = sorted({r.source for r in board.rows})
    if "pwc_archive" in sources:
        blocks.append(Context("Data: Papers with Code archive (CC BY-SA 4.0) and live sources"))
    top = "; ".join(f"{r.rank}. {r.model or r.paper_title or '?'} {_fmt_value(r.value, r.raw)}" for r in board.rows[:3])
    text = f"State of the art on {board.task_name} ({board.dataset}, {metric})" + (f": {top}" if top else "")
    return Message(text=escape(text), blocks=blocks)


def _chart(session: Session, board: Leaderboard) -> str | None:
    """A SOTA-over-time chart for the leaderboard, cached on disk for an hour."""
    chart = importlib.import_module("digests.chart")  # matplotlib: imported on the first chart only
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


# --- paper --------------------------------------------------------------------------------


def _paper(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    text = cmd.rest.strip()
    if not text:
        return _error(ctx, "Which paper? Give an arXiv id or URL.", "paper")
    arxiv_id = parse_arxiv_id(text)
    with session_scope(engine) as session:
        paper = None
        if arxiv_id:
            paper = session.exec(select(Paper).where(Paper.arxiv_id == arxiv_id)).first()
        elif re.match(r"^https?://\S+$", text):
            paper = session.exec(select(Paper).where(Paper.url == text[:1000])).first()
        else:
            return _error(ctx, f"“{_shown(text)}” is not an arXiv id or paper URL.", "paper")
        if paper is None:
            what = f"arXiv {arxiv_id}" if arxiv_id else "that paper"
            return _error(
                ctx,
                f"I have no record of {escape(what)} yet. Papers arrive with the arXiv, Hugging Face and archive "
                "imports; try `/sota search TITLE WORDS`.",
                "paper",
            )
        repos = session.exec(
            select(Repo, PaperRepo)
            .join(PaperRepo, col(PaperRepo.repo_id) == Repo.id)
            .where(PaperRepo.paper_id == paper.id, col(Repo.deleted).is_(False))
            .order_by(col(PaperRepo.official).desc(), func.coalesce(Repo.stars, -1).desc(), col(Repo.id))
            .limit(PAPER_REPOS_SHOWN)
        ).all()
        keys = [k for k in (paper.arxiv_id, paper.url) if k]
        results = session.exec(
            select(Task.name, Dataset.name, Metric.name, ResultValue.raw, ResultValue.value, Result.model)
            .select_from(Result)
            .join(Benchmark, col(Benchmark.id) == Result.benchmark_id)
            .join(Task, col(Task.id) == Benchmark.task_id)
            .join(Dataset, col(Dataset.id) == Benchmark.dataset_id)
            .outerjoin(
                ResultValue,
                (col(ResultValue.result_id) == Result.id) & (col(ResultValue.metric_id) == Benchmark.primary_metric_id),
            )
            .outerjoin(Metric, col(Metric.id) == ResultValue.metric_id)
            .where((col(Result.paper_id) == paper.id) | col(Result.paper_key).in_(keys or [""]))
            .order_by(col(Task.name), col(Dataset.name))
            .limit(PAPER_RESULTS_SHOWN + 1)
        ).all()
        code_urls: list[str] = []
        if not repos:  # leaderboard rows often name the code the paper itself does not link
            code_urls = list(session.exec(
                select(Result.code_url)
                .where((col(Result.paper_id) == paper.id) | col(Result.paper_key).in_(keys or [""]))
                .where(col(Result.code_url).is_not(None))
                .distinct()
                .limit(PAPER_REPOS_SHOWN)
            ).all())
    return paper_message(paper, [(r, link) for r, link in repos], list(results), code_urls)


def paper_message(
    paper: Paper, repos: list[tuple[Repo, PaperRepo]], results: list[Any], code_urls: list[str] | None = None
) -> Message:
    """A stored paper: authors, arXiv facts, abstract, code, and the leaderboard results it reports."""
    title = " ".join((paper.title or paper.arxiv_id or "Untitled").split())
    url = f"{ARXIV_ABS}{paper.arxiv_id}" if paper.arxiv_id else (paper.url or "")
    blocks: list[Block] = [Header(title)]
    authors = list(paper.authors or [])
    who = ", ".join(escape(a) for a in authors[:6]) + (" et al." if len(authors) > 6 else "")
    facts: list[str] = []
    if paper.arxiv_id:
        facts.append(f"arXiv [{escape(paper.arxiv_id)}]({url})")
    elif url:
        facts.append(f"[paper]({url})")
    if paper.categories:
        facts.append(escape(", ".join(paper.categories[:4])))
    if paper.published:
        facts.append(f"published {paper.published:%Y-%m-%d}")
    if paper.hf_upvotes:
        facts.append(f"▲ {paper.hf_upvotes} on Hugging Face")
    blocks.append(Section("\n".join(p for p in (who, " · ".join(facts)) if p)))
    abstract = " ".join((paper.abstract or "").split())
    if abstract:
        blocks.append(Section(escape(_cut(abstract, ABSTRACT_CHARS))))
    if repos:
        lines = []
        for repo, link in repos:
            stars = f" ★ {repo.stars:,}" if repo.stars is not None else ""
            tag = " (official)" if link.official else ""
            lines.append(f"• [{escape(_repo_label(repo.url))}]({repo.url}){stars}{tag}")
        blocks.append(Section("**Code**\n" + "\n".join(lines)))
    elif code_urls:
        lines = [f"• [{escape(_repo_label(u))}]({u})" for u in code_urls if u]
        blocks.append(Section("**Code** (from leaderboards)\n" + "\n".join(lines)))
    else:
        blocks.append(Section("**Code**\nNo repository linked yet."))
    if results:
        lines = []
        for task, dataset, metric, raw, value, model in results[:PAPER_RESULTS_SHOWN]:
            score = f": {escape(metric)} {escape(_fmt_value(value, raw or ''))}" if metric else ""
            lines.append(f"• {escape(task)} on {escape(dataset)}{score} ({escape(_cut(model, 40))})")
        if len(results) > PAPER_RESULTS_SHOWN:
            lines.append("• …")
        blocks.append(Section("**Results**\n" + "\n".join(lines)))
    return Message(text=escape(f"{title} ({paper.arxiv_id or url})"), blocks=blocks)


# --- trending -----------------------------------------------------------------------------


def _trending(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    category: str | None = None
    if cmd.tokens:
        category, suggestion = normalise_category(cmd.rest.replace(" ", ""))
        if category is None:
            hint = f" Did you mean `{suggestion}`?" if suggestion else ""
            return _error(ctx, f"“{_shown(cmd.rest, 40)}” is not an arXiv category.{hint}", "trending")
    with session_scope(engine) as session:
        items = trending(session, category=category, days=7, limit=TRENDING_LIMIT, now=datetime.now(UTC))
    return trending_message(items, category)


def trending_message(items: list[TrendingPaper], category: str | None) -> Message:
    where = f" in {category}" if category else ""
    if not items:
        return Message(
            text=f"No trending papers{where} in the last 7 days.",
            blocks=[
                Header(f"Trending papers with code{where}"),
                Section(f"Nothing trending{where} in the last 7 days yet."),
                Context("Trending is ranked from GitHub star growth and Hugging Face upvotes, which the pollers "
                        "collect over time."),
            ],
        )
    lines = []
    for i, item in enumerate(items, start=1):
        title = escape(_cut(item.title or "Untitled", TITLE_CHARS))
        arxiv_id = item.arxiv_id
        head = f"`{i}` **[{title}]({ARXIV_ABS}{arxiv_id})**" if arxiv_id else f"`{i}` **{title}**"
        facts = []
        repo = item.repo_url
        if repo:
            facts.append(f"[{escape(_repo_label(repo))}]({repo})")
        stars = item.stars
        if stars is not None:
            velocity = item.star_velocity or 0.0
            facts.append(f"★ {stars:,}" + (f" (+{velocity:.0f}/day)" if velocity >= 1 else ""))
        upvotes = item.hf_upvotes or 0
        if upvotes:
            facts.append(f"▲ {upvotes}")
        lines.append(head + ("\n      " + " · ".join(facts) if facts else ""))
    return Message(
        text=f"Trending papers with code{where}: "
        + "; ".join(escape(_cut(i.title, 60)) for i in items[:3]),
        blocks=[
            Header(f"Trending papers with code{where}"),
            Section("\n".join(lines)),
            Context("Ranked by GitHub star growth, Hugging Face upvotes and recency over the last 7 days"),
        ],
    )


# --- search -------------------------------------------------------------------------------


def _like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    query = " ".join(cmd.rest.split())[:200]
    if len(normalise(query)) < 2:
        return _error(ctx, "Search for what? Give at least two letters.", "search")
    with session_scope(engine) as session:
        tasks = search_tasks(session, query, limit=SEARCH_TASKS)
        papers = session.exec(
            select(Paper.arxiv_id, Paper.url, Paper.title, Paper.published)
            .where(col(Paper.title).ilike(_like_pattern(query), escape="\\"))
            .order_by(col(Paper.published).desc().nulls_last(), col(Paper.id).desc())
            .limit(SEARCH_PAPERS)
        ).all()
    if not tasks and not papers:
        return Message(
            text=f"Nothing found for {query[:ECHO_CHARS]}.",
            blocks=[Section(f"Nothing found for “{_shown(query)}”."),
                    Context("Try fewer or other words, e.g. `/sota search segmentation`.")],
            ephemeral=True,
        )
    blocks: list[Block] = [Header(f"Search: {_cut(query, 100)}")]
    if tasks:
        lines = [f"• **{escape(t.name)}** — {_code('/sota ' + t.slug)}" for t in tasks]
        blocks.append(Section("**Tasks**\n" + "\n".join(lines)))
    if papers:
        lines = []
        for arxiv_id, url, title, published in papers:
            link = f"{ARXIV_ABS}{arxiv_id}" if arxiv_id else url
            when = f" ({published:%Y-%m})" if published else ""
            label = escape(_cut(title or arxiv_id or "paper", TITLE_CHARS))
            lines.append(f"• [{label}]({link}){when}" if link else f"• {label}{when}")
        blocks.append(Section("**Papers**\n" + "\n".join(lines)))
    return Message(text=f"Search results for {escape(_cut(query, 60))}", blocks=blocks, ephemeral=True)


# --- subscriptions ------------------------------------------------------------------------


def _channel(session: Session, ctx: CommandContext, config: Config) -> Channel:
    return channel_store.get_or_create_channel(
        session, ctx.platform, ctx.workspace, ctx.channel, ctx.channel_name,
        timezone=config.digest.default_timezone, digest_time=config.digest.default_time,
    )


def _find_channel(session: Session, ctx: CommandContext) -> Channel | None:
    return channel_store.find_channel(session, ctx.platform, ctx.workspace, ctx.channel)


def _not_allowed(ctx: CommandContext, what: str, command: str) -> Message:
    who = "the **Manage Channels** permission" if ctx.platform == "discord" else "permission to manage this channel"
    return _error(ctx, f"Changing this channel's {what} needs {who}.", command)


def _valid_ctx(ctx: CommandContext) -> bool:
    return ctx.platform in channel_store.PLATFORMS and bool(ctx.workspace) and bool(ctx.channel)


def _subscribe(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    return _change_subscription(engine, config, ctx, cmd, add=True)


def _unsubscribe(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    return _change_subscription(engine, config, ctx, cmd, add=False)


def _change_subscription(
    engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, *, add: bool
) -> Message:
    command = "subscribe" if add else "unsubscribe"
    target = parse_target(cmd.tokens, command)
    if isinstance(target, ParseError):
        return _error(ctx, target.message, target.command)
    if not ctx.can_manage:
        return _not_allowed(ctx, "subscriptions", command)
    if not _valid_ctx(ctx):
        return _error(ctx, "Subscriptions need a channel; this conversation has none.", command)
    with session_scope(engine) as session:
        if not add:
            channel = _find_channel(session, ctx)
            if channel is None:
                return _error(ctx, "This channel has no subscriptions.", command)
            if target.kind == "all":
                n = channel_store.unsubscribe_all(session, channel)
                return Message(text=f"Removed {n} subscriptions.",
                               blocks=[Section(f"Removed all {n} subscriptions of this channel.")])
        resolved = _resolve_target(session, ctx, target, add)
        if isinstance(resolved, Message):
            return resolved
        kind, value, label, note = resolved
        channel = _channel(session, ctx, config) if add else _find_channel(session, ctx)
        assert channel is not None
        if add:
            changed = channel_store.subscribe(session, channel, kind, value)
            text = (f"This channel now follows {label}." if changed else f"This channel already follows {label}.")
        else:
            changed = channel_store.unsubscribe(session, channel, kind, value)
            if not changed:
                return _error(ctx, f"This channel does not follow {label}. See `/sota subscriptions`.", command)
            text = f"This channel no longer follows {label}."
    blocks: list[Block] = [Section(text)]
    if add and changed and kind == "task":
        blocks.append(Context("You will get an alert here when it gets a new result, a new state of the art "
                              "or a new paper with code."))
    if note:
        blocks.append(Context(note))
    return Message(text=text, blocks=blocks, ephemeral=not changed)


def _resolve_target(
    session: Session, ctx: CommandContext, target: Target, add: bool
) -> tuple[str, str, str, str | None] | Message:
    """(kind, stored target, label for the reply, note) or an error Message."""
    command = "subscribe" if add else "unsubscribe"
    if target.kind == "category":
        return "category", target.value, f"the arXiv category **{target.value}**", None
    if target.kind == "keyword":
        return "keyword", target.value, f"the keyword “{escape(target.value)}”", None
    if not add:  # what the channel already follows, by slug or name, before any fuzzy guess
        channel = _find_channel(session, ctx)
        followed = [s.target for s in channel_store.list_subscriptions(session, channel) if s.kind == "task"] \
            if channel else []
        key = normalise(target.value)
        for slug in followed:
            task = session.exec(select(Task).where(Task.slug == slug)).first()
            if normalise(slug) == key or (task is not None and normalise(task.name) == key):
                return "task", slug, f"**{escape(task.name if task else slug)}**", None
    res = resolve_task(session, target.value, limit=5)
    if res.task is None:
        return unknown_task(ctx, target.value, [s.name for s in res.suggestions], command)
    note = None
    if res.how == "fuzzy" and normalise(target.value) != normalise(res.task.name):
        note = f"(read “{_shown(target.value)}” as {escape(res.task.name)})"
    return "task", res.task.slug, f"**{escape(res.task.name)}**", note


def _subscriptions(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    if not _valid_ctx(ctx):
        return _error(ctx, "Subscriptions need a channel; this conversation has none.", "subscriptions")
    with session_scope(engine) as session:
        channel = _find_channel(session, ctx)
        subs = channel_store.list_subscriptions(session, channel) if channel else []
        slugs = [s.target for s in subs if s.kind == "task"]
        names = dict(session.exec(select(Task.slug, Task.name).where(col(Task.slug).in_(slugs))).all()) if slugs else {}
    return subscriptions_message(channel, subs, names, config)


def subscriptions_message(channel: Channel | None, subs: list[Any], names: dict[str, str], config: Config) -> Message:
    tasks = [f"**{escape(names.get(s.target, s.target))}** ({_code(s.target)})" for s in subs if s.kind == "task"]
    cats = [s.target for s in subs if s.kind == "category"]
    words = [f"“{escape(s.target)}”" for s in subs if s.kind == "keyword"]
    blocks: list[Block] = [Header("This channel follows")]
    pairs: list[tuple[str, str]] = []
    if tasks:
        pairs.append(("Tasks", "\n".join(tasks)))
    if cats:
        pairs.append(("arXiv categories", escape(", ".join(cats))))
    if words:
        pairs.append(("Keywords", ", ".join(words)))
    if pairs:
        blocks.append(Fields(pairs))
    else:
        blocks.append(Section("Nothing yet. Try `/sota subscribe semantic segmentation` or "
                              "`/sota subscribe category:cs.CV`."))
    blocks.append(Divider())
    blocks.append(Section(_digest_summary(channel, config)))
    n = len(subs)
    return Message(text=f"This channel follows {n} thing{'s' if n != 1 else ''}.", blocks=blocks, ephemeral=True)


def _digest_summary(channel: Channel | None, config: Config) -> str:
    enabled = bool(channel and channel.digest_enabled)
    at = channel.digest_time if channel else config.digest.default_time
    zone = channel.timezone if channel else config.digest.default_timezone
    cats = list(channel.categories) if channel and channel.categories else []
    words = list(channel.keywords) if channel and channel.keywords else []
    cat_text = escape(", ".join(cats)) if cats else escape(", ".join(config.sources.arxiv.categories)) + " (default)"
    line = f"**Daily digest**: {'on' if enabled else 'off'} · {at} {escape(zone)} · categories {cat_text}"
    if words:
        line += " · keywords " + ", ".join(f"“{escape(w)}”" for w in words)
    if not enabled:
        line += "\nTurn it on with `/sota digest on`."
    return line


# --- digest -------------------------------------------------------------------------------


def _digest(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    action = parse_digest(cmd.tokens)
    if isinstance(action, ParseError):
        return _error(ctx, action.message, action.command)
    if not _valid_ctx(ctx):
        return _error(ctx, "The digest needs a channel; this conversation has none.", "digest")
    if action.action == "show":
        with session_scope(engine) as session:
            channel = _find_channel(session, ctx)
        return Message(text="This channel's digest settings.",
                       blocks=[Section(_digest_summary(channel, config))], ephemeral=True)
    if action.action == "preview":
        return _digest_preview(engine, config, ctx)
    if not ctx.can_manage:
        return _not_allowed(ctx, "digest", "digest")
    with session_scope(engine) as session:
        channel = _channel(session, ctx, config)
        said = _apply_digest(session, channel, action)
        summary = _digest_summary(channel, config)
    return Message(text=said, blocks=[Section(said), Context(summary.replace("\n", " · "))])


def _apply_digest(session: Session, channel: Channel, action: DigestCommand) -> str:
    if action.action == "on":
        channel_store.set_digest(session, channel, enabled=True)
        return f"Daily digest **on**: every day at {channel.digest_time} {escape(channel.timezone)}."
    if action.action == "off":
        channel_store.set_digest(session, channel, enabled=False)
        return "Daily digest **off** for this channel."
    if action.action == "at":
        channel_store.set_digest(session, channel, time=action.time, timezone=action.timezone)
        tail = "" if channel.digest_enabled else " It is off; turn it on with `/sota digest on`."
        return f"The digest is now sent at **{channel.digest_time} {escape(channel.timezone)}**.{tail}"
    if action.action == "timezone":
        channel_store.set_digest(session, channel, timezone=action.timezone)
        return f"The digest now follows **{escape(channel.timezone)}** time ({channel.digest_time} local)."
    if action.action == "categories":
        channel_store.set_digest(session, channel, categories=[] if action.clear else list(action.values))
        if action.clear:
            return "The digest uses the default categories again."
        return f"The digest now covers **{escape(', '.join(channel.categories))}**."
    channel_store.set_digest(session, channel, keywords=[] if action.clear else list(action.values))
    if action.clear:
        return "The digest no longer filters by keywords."
    return "The digest now looks for " + ", ".join(f"“{escape(k)}”" for k in channel.keywords) + "."


def _digest_preview(engine: Engine, config: Config, ctx: CommandContext) -> Message:
    with session_scope(engine) as session:
        channel = _find_channel(session, ctx)
        categories = list(channel.categories) if channel and channel.categories else \
            list(config.sources.arxiv.categories)
        keywords = list(channel.keywords) if channel else []
    msg = digest_preview(engine, config, categories=categories, keywords=keywords)
    msg.ephemeral = True
    msg.blocks.append(Context("Preview only: nothing was posted."))
    return msg


# --- help ---------------------------------------------------------------------------------


def _help(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    topic = cmd.tokens[0].text.lower().lstrip("/") if cmd.tokens else ""
    parsed = parse(topic) if topic else None
    if isinstance(parsed, ParsedCommand) and not parsed.implicit and parsed.name != "help":
        name = parsed.name
        lines = [f"{_code(usage(name, ctx.platform))}: {DESCRIPTIONS[name]}."]
        if ctx.platform != "discord":
            lines.append("Examples: " + ", ".join(_code("/sota " + e) for e in EXAMPLES[name]))
        return Message(text=f"{name}: {usage(name, ctx.platform)}", blocks=[Section("\n".join(lines))], ephemeral=True)
    lines = [f"{_code(usage(name, ctx.platform))}: {DESCRIPTIONS[name]}" for name in USAGE]
    return Message(
        text="sotabot: state of the art on a task, and where the code is.",
        blocks=[
            Header("sotabot commands"),
            Section("\n".join(lines)),
            Context("Task names may be loose (“obj det”, “semseg”); quote names that contain *on* or *by*: "
                    "`/sota \"learning on graphs\"`."),
        ],
        ephemeral=True,
    )


HANDLERS: dict[str, Any] = {
    "sota": _sota,
    "paper": _paper,
    "trending": _trending,
    "search": _search,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "subscriptions": _subscriptions,
    "digest": _digest,
    "help": _help,
}
