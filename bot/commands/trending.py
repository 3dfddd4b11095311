"""`/sota trending [CATEGORY]`: papers with code gaining stars and upvotes this week."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from sotabot.bot.commands.context import ARXIV_ABS, CommandContext, cut, error, repo_label, shown
from sotabot.bot.commands.parser import ParsedCommand, normalise_category
from sotabot.bot.render.inline import escape
from sotabot.bot.settings import Config
from sotabot.digests.message import Block, Context, Header, Item, Link, Message, Section
from sotabot.digests.trending import TrendingPaper, trending
from sotabot.storage.db import session_scope

TRENDING_LIMIT = 10
TITLE_CHARS = 90


def trending_command(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    category: str | None = None
    if cmd.tokens:
        category, suggestion = normalise_category(cmd.rest.replace(" ", ""))
        if category is None:
            hint = f" Did you mean `{suggestion}`?" if suggestion else ""
            return error(ctx, f"“{shown(cmd.rest, 40)}” is not an arXiv category.{hint}", "trending")
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
    entries: list[Block] = []
    for i, item in enumerate(items, start=1):
        facts = []
        stars = item.stars
        if stars is not None:
            velocity = item.star_velocity or 0.0
            facts.append(f"★ {stars:,}" + (f" (+{velocity:.0f}/day)" if velocity >= 1 else ""))
        upvotes = item.hf_upvotes or 0
        if upvotes:
            facts.append(f"▲ {upvotes}")
        repo = item.repo_url
        links = [Link(repo_label(repo), repo)] if repo else []
        note = (" · " if links and facts else "") + " · ".join(facts)
        entries.append(Item(
            title=cut(item.title or "Untitled", TITLE_CHARS),
            url=f"{ARXIV_ABS}{item.arxiv_id}" if item.arxiv_id else None,
            links=links, note=note, rank=str(i),
        ))
    return Message(
        text=f"Trending papers with code{where}: "
        + "; ".join(escape(cut(i.title, 60)) for i in items[:3]),
        blocks=[
            Header(f"Trending papers with code{where}"),
            *entries,
            Context("Ranked by GitHub star growth, Hugging Face upvotes and recency over the last 7 days"),
        ],
    )
