"""`/sota digest on|off|at|categories|keywords|preview`: a channel's daily digest settings."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from sotabot.bot.commands.channel import channel_for, find_channel, not_allowed, valid_context
from sotabot.bot.commands.context import CommandContext, error
from sotabot.bot.commands.parser import DigestCommand, ParsedCommand, ParseError, parse_digest
from sotabot.bot.render.inline import escape
from sotabot.bot.settings import Config
from sotabot.digests.digest import preview as digest_preview
from sotabot.digests.message import Context, Message, Section
from sotabot.storage import channels as channel_store
from sotabot.storage.db import session_scope
from sotabot.storage.models import Channel


def digest_command(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    action = parse_digest(cmd.tokens)
    if isinstance(action, ParseError):
        return error(ctx, action.message, action.command)
    if not valid_context(ctx):
        return error(ctx, "The digest needs a channel; this conversation has none.", "digest")
    if action.action == "show":
        with session_scope(engine) as session:
            channel = find_channel(session, ctx)
        return Message(text="This channel's digest settings.",
                       blocks=[Section(digest_summary(channel, config))], ephemeral=True)
    if action.action == "preview":
        return _digest_preview(engine, config, ctx)
    if not ctx.can_manage:
        return not_allowed(ctx, "digest", "digest")
    with session_scope(engine) as session:
        channel = channel_for(session, ctx, config)
        said = _apply_digest(session, channel, action)
        summary = digest_summary(channel, config)
    return Message(text=said, blocks=[Section(said), Context(summary.replace("\n", " · "))])


def digest_summary(channel: Channel | None, config: Config) -> str:
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
        channel = find_channel(session, ctx)
        categories = list(channel.categories) if channel and channel.categories else \
            list(config.sources.arxiv.categories)
        keywords = list(channel.keywords) if channel else []
    msg = digest_preview(engine, config, categories=categories, keywords=keywords)
    msg.ephemeral = True
    msg.blocks.append(Context("Preview only: nothing was posted."))
    return msg
