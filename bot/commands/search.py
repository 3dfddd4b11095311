"""`/sota search QUERY`: tasks by name (the task index) and papers by title."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from sotabot.bot.commands.context import ARXIV_ABS, ECHO_CHARS, CommandContext, code, cut, error, shown
from sotabot.bot.commands.parser import ParsedCommand
from sotabot.bot.lookup.resolve import search_tasks
from sotabot.bot.render.inline import escape
from sotabot.bot.settings import Config
from sotabot.digests.message import Block, Context, Header, Message, Section, md_link
from sotabot.sources.normalise.taxonomy import normalise
from sotabot.storage.db import session_scope
from sotabot.storage.models import Paper

SEARCH_TASKS = 10
SEARCH_PAPERS = 8
TITLE_CHARS = 90


def _like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_command(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    query = " ".join(cmd.rest.split())[:200]
    if len(normalise(query)) < 2:
        return error(ctx, "Search for what? Give at least two letters.", "search")
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
            blocks=[Section(f"Nothing found for “{shown(query)}”."),
                    Context("Try fewer or other words, e.g. `/sota search segmentation`.")],
            ephemeral=True,
        )
    blocks: list[Block] = [Header(f"Search: {escape(cut(query, 100))}")]
    if tasks:
        lines = [f"• **{escape(t.name)}** — {code('/sota ' + t.slug)}" for t in tasks]
        blocks.append(Section("**Tasks**\n" + "\n".join(lines)))
    if papers:
        lines = []
        for arxiv_id, url, title, published in papers:
            link = f"{ARXIV_ABS}{arxiv_id}" if arxiv_id else url
            when = f" ({published:%Y-%m})" if published else ""
            lines.append(f"• {md_link(cut(title or arxiv_id or 'paper', TITLE_CHARS), link)}{when}")
        blocks.append(Section("**Papers**\n" + "\n".join(lines)))
    return Message(text=f"Search results for {escape(cut(query, 60))}", blocks=blocks, ephemeral=True)
