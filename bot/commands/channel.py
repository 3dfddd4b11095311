"""The channel a command speaks for: found or created by its (platform, workspace, channel) key."""

from __future__ import annotations

from sqlmodel import Session

from sotabot.bot.commands.context import CommandContext, error
from sotabot.bot.commands.parser import clean
from sotabot.bot.settings import Config
from sotabot.bot.workspaces import same_workspace
from sotabot.digests.message import Message
from sotabot.storage import channels as channel_store
from sotabot.storage.models import Channel


def channel_for(session: Session, ctx: CommandContext, config: Config) -> Channel:
    return channel_store.get_or_create_channel(
        session, ctx.platform, ctx.workspace, ctx.channel, clean(ctx.channel_name or "") or None,  # platform text
        timezone=config.digest.default_timezone, digest_time=config.digest.default_time,
        same=same_workspace(ctx.platform, ctx.workspace),
    )


def find_channel(session: Session, ctx: CommandContext) -> Channel | None:
    return channel_store.find_channel(
        session, ctx.platform, ctx.workspace, ctx.channel, same_workspace(ctx.platform, ctx.workspace)
    )


def not_allowed(ctx: CommandContext, what: str, command: str) -> Message:
    who = "the **Manage Channels** permission" if ctx.platform == "discord" else "permission to manage this channel"
    return error(ctx, f"Changing this channel's {what} needs {who}.", command)


def valid_context(ctx: CommandContext) -> bool:
    return ctx.platform in channel_store.PLATFORMS and bool(ctx.workspace) and bool(ctx.channel)
