"""`/sota subscribe|unsubscribe TARGET` and `/sota subscriptions`: what a channel is alerted about."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sotabot.bot.commands.channel import channel_for, find_channel, not_allowed, valid_context
from sotabot.bot.commands.context import CommandContext, code, error, shown
from sotabot.bot.commands.digest import digest_summary
from sotabot.bot.commands.leaderboard import unknown_task
from sotabot.bot.commands.lifecycle import invite_hint
from sotabot.bot.commands.parser import ParsedCommand, ParseError, Target, parse_target
from sotabot.bot.lookup.resolve import resolve_task
from sotabot.bot.render.inline import escape
from sotabot.bot.settings import Config
from sotabot.digests.message import Block, Context, Divider, Fields, Header, Message, Section
from sotabot.sources.normalise.taxonomy import normalise
from sotabot.storage import channels as channel_store
from sotabot.storage.db import session_scope
from sotabot.storage.models import Channel, Task


def subscribe_command(
    engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool
) -> Message:
    return _change_subscription(engine, config, ctx, cmd, add=True)


def unsubscribe_command(
    engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool
) -> Message:
    return _change_subscription(engine, config, ctx, cmd, add=False)


def _change_subscription(
    engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, *, add: bool
) -> Message:
    command = "subscribe" if add else "unsubscribe"
    target = parse_target(cmd.tokens, command)
    if isinstance(target, ParseError):
        return error(ctx, target.message, target.command)
    if not ctx.can_manage:
        return not_allowed(ctx, "subscriptions", command)
    if not valid_context(ctx):
        return error(ctx, "Subscriptions need a channel; this conversation has none.", command)
    with session_scope(engine) as session:
        if not add:
            channel = find_channel(session, ctx)
            if channel is None:
                return error(ctx, "This channel has no subscriptions.", command)
            if target.kind == "all":
                n = channel_store.unsubscribe_all(session, channel)
                return Message(text=f"Removed {n} subscriptions.",
                               blocks=[Section(f"Removed all {n} subscriptions of this channel.")])
        resolved = _resolve_target(session, ctx, target, add)
        if isinstance(resolved, Message):
            return resolved
        kind, value, label, note = resolved
        channel = channel_for(session, ctx, config) if add else find_channel(session, ctx)
        assert channel is not None
        if add:
            changed = channel_store.subscribe(session, channel, kind, value)
            text = (f"This channel now follows {label}." if changed else f"This channel already follows {label}.")
        else:
            changed = channel_store.unsubscribe(session, channel, kind, value)
            if not changed:
                return error(ctx, f"This channel does not follow {label}. See `/sota subscriptions`.", command)
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
        channel = find_channel(session, ctx)
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
        note = f"(read “{shown(target.value)}” as {escape(res.task.name)})"
    return "task", res.task.slug, f"**{escape(res.task.name)}**", note


def subscriptions_command(
    engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool
) -> Message:
    if not valid_context(ctx):
        return error(ctx, "Subscriptions need a channel; this conversation has none.", "subscriptions")
    with session_scope(engine) as session:
        channel = find_channel(session, ctx)
        subs = channel_store.list_subscriptions(session, channel) if channel else []
        slugs = [s.target for s in subs if s.kind == "task"]
        names = dict(session.exec(select(Task.slug, Task.name).where(col(Task.slug).in_(slugs))).all()) if slugs else {}
    return subscriptions_message(channel, subs, names, config, switched_off=ctx.can_post is False)


def subscriptions_message(channel: Channel | None, subs: list[Any], names: dict[str, str], config: Config,
                          *, switched_off: bool = False) -> Message:
    """`switched_off`: the platform says the bot cannot post here (else a stored inactive state is lifted
    by this very command, see bot.commands.lifecycle)."""
    tasks = [f"**{escape(names.get(s.target, s.target))}** ({code(s.target)})" for s in subs if s.kind == "task"]
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
    blocks.append(Section(digest_summary(channel, config)))
    if switched_off and channel is not None:
        reason = f" ({escape(channel.inactive_reason)})" if not channel.active and channel.inactive_reason else ""
        blocks.append(Section(f"**Switched off**: nothing is posted here{reason} because the bot could not post "
                              "in this channel. " + invite_hint(channel.platform)
                              + " Then run any `/sota` command here to switch deliveries on again."))
    n = len(subs)
    return Message(text=f"This channel follows {n} thing{'s' if n != 1 else ''}.", blocks=blocks, ephemeral=True)
