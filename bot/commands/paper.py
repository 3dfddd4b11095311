"""`/sota paper ID|URL`: a stored paper, its code and the leaderboard results it reports."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from sotabot.bot.commands.context import ARXIV_ABS, CommandContext, cut, error, fmt_value, repo_label, shown
from sotabot.bot.commands.parser import ParsedCommand, parse_arxiv_id
from sotabot.bot.render.inline import escape
from sotabot.bot.settings import Config
from sotabot.digests.message import Block, Header, Message, Section, md_link
from sotabot.storage.db import session_scope
from sotabot.storage.models import Benchmark, Dataset, Metric, Paper, PaperRepo, Repo, Result, ResultValue, Task

PAPER_REPOS_SHOWN = 5
PAPER_RESULTS_SHOWN = 6
ABSTRACT_CHARS = 600


def paper_command(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    text = cmd.rest.strip()
    if not text:
        return error(ctx, "Which paper? Give an arXiv id or URL.", "paper")
    arxiv_id = parse_arxiv_id(text)
    with session_scope(engine) as session:
        paper = None
        if arxiv_id:
            paper = session.exec(select(Paper).where(Paper.arxiv_id == arxiv_id)).first()
        elif re.match(r"^https?://\S+$", text):
            paper = session.exec(select(Paper).where(Paper.url == text[:1000])).first()
        else:
            return error(ctx, f"“{shown(text)}” is not an arXiv id or paper URL.", "paper")
        if paper is None:
            what = f"arXiv {arxiv_id}" if arxiv_id else "that paper"
            return error(
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
    blocks: list[Block] = [Header(escape(title))]
    authors = list(paper.authors or [])
    who = ", ".join(escape(a) for a in authors[:6]) + (" et al." if len(authors) > 6 else "")
    facts: list[str] = []
    if paper.arxiv_id:
        facts.append("arXiv " + md_link(paper.arxiv_id, url))
    elif url:
        facts.append(md_link("paper", url))
    if paper.categories:
        facts.append(escape(", ".join(paper.categories[:4])))
    if paper.published:
        facts.append(f"published {paper.published:%Y-%m-%d}")
    if paper.hf_upvotes:
        facts.append(f"▲ {paper.hf_upvotes} on Hugging Face")
    blocks.append(Section("\n".join(p for p in (who, " · ".join(facts)) if p)))
    abstract = " ".join((paper.abstract or "").split())
    if abstract:
        blocks.append(Section(escape(cut(abstract, ABSTRACT_CHARS))))
    if repos:
        lines = []
        for repo, link in repos:
            stars = f" ★ {repo.stars:,}" if repo.stars is not None else ""
            tag = " (official)" if link.official else ""
            lines.append(f"• {md_link(repo_label(repo.url), repo.url)}{stars}{tag}")
        blocks.append(Section("**Code**\n" + "\n".join(lines)))
    elif code_urls:
        lines = [f"• {md_link(repo_label(u), u)}" for u in code_urls if u]
        blocks.append(Section("**Code** (from leaderboards)\n" + "\n".join(lines)))
    else:
        blocks.append(Section("**Code**\nNo repository linked yet."))
    if results:
        lines = []
        for task, dataset, metric, raw, value, model in results[:PAPER_RESULTS_SHOWN]:
            score = f": {escape(metric)} {escape(fmt_value(value, raw or ''))}" if metric else ""
            lines.append(f"• {escape(task)} on {escape(dataset)}{score} ({escape(cut(model, 40))})")
        if len(results) > PAPER_RESULTS_SHOWN:
            lines.append("• …")
        blocks.append(Section("**Results**\n" + "\n".join(lines)))
    return Message(text=escape(f"{title} ({paper.arxiv_id or url})"), blocks=blocks)
