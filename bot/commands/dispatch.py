"""One entry for every platform: `handle(engine, config, ctx, text)` parses, dispatches and never raises."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine

from sotabot.bot.commands import lifecycle
from sotabot.bot.commands.context import CommandContext, code, error
from sotabot.bot.commands.digest import digest_command
from sotabot.bot.commands.help import help_command
from sotabot.bot.commands.leaderboard import sota_command
from sotabot.bot.commands.paper import paper_command
from sotabot.bot.commands.parser import ParsedCommand, ParseError, Token, parse
from sotabot.bot.commands.search import search_command
from sotabot.bot.commands.subscriptions import subscribe_command, subscriptions_command, unsubscribe_command
from sotabot.bot.commands.syntax import for_discord
from sotabot.bot.commands.trending import trending_command
from sotabot.bot.lookup.resolve import resolve_task
from sotabot.bot.settings import Config
from sotabot.digests.message import Context, Message
from sotabot.storage.db import session_scope

log = logging.getLogger(__name__)

Handler = Callable[[Engine, Config, CommandContext, ParsedCommand, bool], Message]


def handle(engine: Engine, config: Config, ctx: CommandContext, text: str, *, charts: bool = True) -> Message:
    """Answer one command. Never raises: every failure becomes a short reply."""
    try:
        reply = _dispatch(engine, config, ctx, text if isinstance(text, str) else "", charts)
        return for_discord(reply) if ctx.platform == "discord" else reply
    except Exception:
        log.exception(
            "command failed (platform %s, workspace %s, channel %s): %r",
            ctx.platform, ctx.workspace, ctx.channel, (text or "")[:200],
        )
        return Message.error("Sorry, something went wrong answering that. The details are in the bot's log.")


def _dispatch(engine: Engine, config: Config, ctx: CommandContext, text: str, charts: bool) -> Message:
    parsed = parse(text)
    if isinstance(parsed, ParseError):
        return error(ctx, parsed.message, parsed.command)
    if parsed.corrected_from and _names_a_task(engine, parsed):
        # "reading comprehension" is a task, not a typo of "trending"
        parsed = ParsedCommand("sota", (Token(parsed.corrected_from), *parsed.tokens), implicit=True)
    lifecycle.before_command(engine, ctx)
    reply = HANDLERS[parsed.name](engine, config, ctx, parsed, charts)
    lifecycle.after_command(engine, ctx, parsed.name, reply)
    if parsed.corrected_from and reply.kind != "error":
        reply.blocks.append(Context(f"(read {code(parsed.corrected_from[:30])} as {code(parsed.name)})"))
    return reply


def _names_a_task(engine: Engine, parsed: ParsedCommand) -> bool:
    whole = " ".join([parsed.corrected_from or "", parsed.rest])
    with session_scope(engine) as session:
        res = resolve_task(session, whole, limit=0)
    return res.task is not None and res.how in ("exact", "alias")



HANDLERS: dict[str, Handler] = {
    "sota": sota_command,
    "paper": paper_command,
    "trending": trending_command,
    "search": search_command,
    "subscribe": subscribe_command,
    "unsubscribe": unsubscribe_command,
    "subscriptions": subscriptions_command,
    "digest": digest_command,
    "help": help_command,
}
