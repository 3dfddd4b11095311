"""Whether a channel gets deliveries: commands and platform events switch it on and off again.

The delivery loop marks a channel inactive when a send says the bot cannot post there
(Slack `not_in_channel`, Discord Missing Permissions, ...). Without a way back such a channel
would stay silent for good, so it comes back when
- a command in the channel goes through, unless the platform says the bot still cannot post
  there (`CommandContext.can_post` is False); then subscribing or turning the digest on says
  how to invite the bot, and `/sota subscriptions` shows the channel as switched off;
- the platform says the bot joined it (Slack `member_joined_channel` for the bot user,
  Discord guild join).
Platform events that mean the bot is gone (Slack `app_uninstalled`, `tokens_revoked`,
`channel_archive`; Discord guild removal) switch deliveries off with a log line. Every
function here is keyed by (platform, workspace, channel) like the rest of storage.channels.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlmodel import Session

from sotabot.bot.commands.channel import find_channel
from sotabot.bot.commands.context import CommandContext
from sotabot.bot.workspaces import same_workspace
from sotabot.digests.message import Context, Message
from sotabot.storage import channels as channel_store
from sotabot.storage.db import session_scope
from sotabot.storage.models import Channel
from sotabot.storage.outbox import deactivate_channel

log = logging.getLogger(__name__)

# Commands whose answer depends on whether the bot can post in the channel: platforms that can
# find out cheaply (a Web API call on Slack) do so for these before answering.
CHANNEL_COMMANDS = frozenset({"subscribe", "unsubscribe", "subscriptions", "digest"})

INVITE_HINT = {
    "slack": "I can't post in this channel yet, so alerts and the digest would not arrive: invite me with "
             "`/invite @sotabot` (or mention @sotabot and choose *Add to channel*).",
    "discord": "I can't post in this channel yet, so alerts and the digest would not arrive: give sotabot the "
               "**View Channel**, **Send Messages** and **Embed Links** permissions here.",
}


def invite_hint(platform: str) -> str:
    return INVITE_HINT.get(platform, "I can't post in this channel, so alerts and the digest would not arrive.")


def _reactivate(engine: Engine, ctx: CommandContext, why: str) -> None:
    if not ctx.workspace or not ctx.channel or ctx.platform not in channel_store.PLATFORMS:
        return
    with session_scope(engine) as session:
        channel = find_channel(session, ctx)
        if channel is not None and channel_store.reactivate(session, channel):
            log.info("channel %s/%s/%s is active again (%s)", ctx.platform, ctx.workspace, ctx.channel, why)


def before_command(engine: Engine, ctx: CommandContext) -> None:
    """The platform says the bot can post here: deliveries on before answering (so the answer shows it)."""
    if ctx.can_post is True:
        _reactivate(engine, ctx, "the bot can post there")


def after_command(engine: Engine, ctx: CommandContext, command: str, reply: Message) -> None:
    """A successful command reached the channel: deliveries on again, unless the platform says the bot
    cannot post there; then a subscribe or digest change says how to invite it."""
    if reply.kind in ("error", "usage"):
        return
    if ctx.can_post is None:
        _reactivate(engine, ctx, "a command reached it")
        return
    if ctx.can_post is True or command not in ("subscribe", "digest"):
        return
    with session_scope(engine) as session:
        channel = find_channel(session, ctx)
        wants = channel is not None and (channel.digest_enabled or channel_store.list_subscriptions(session, channel))
    if wants:
        reply.blocks.append(Context(invite_hint(ctx.platform)))


def bot_joined_channel(engine: Engine, platform: str, workspace: str, channel: str) -> bool:
    """The bot was added to the channel: deliveries on again. False when nothing changed."""
    with session_scope(engine) as session:
        row = _find(session, platform, workspace, channel)
        changed = row is not None and channel_store.reactivate(session, row)
    if changed:
        log.info("channel %s/%s/%s is active again (the bot joined it)", platform, workspace, channel)
    return changed


def channel_lost(engine: Engine, platform: str, workspace: str, channel: str, reason: str) -> bool:
    """The channel went away for the bot (archived, access lost): deliveries off."""
    with session_scope(engine) as session:
        row = _find(session, platform, workspace, channel)
        channel_id = row.id if row is not None and row.active else None
    if channel_id is None:
        return False
    deactivate_channel(engine, channel_id, reason)
    log.warning("channel %s/%s/%s switched off: %s", platform, workspace, channel, reason)
    return True


def _find(session: Session, platform: str, workspace: str, channel: str) -> Channel | None:
    return channel_store.find_channel(session, platform, workspace, channel, same_workspace(platform, workspace))


def _workspace_channels(session: Session, platform: str, workspace: str) -> list[Channel]:
    return channel_store.workspace_channels(session, platform, workspace, same_workspace(platform, workspace))


def workspace_lost(engine: Engine, platform: str, workspace: str, reason: str) -> int:
    """The app was removed from a workspace or guild: every channel there switched off."""
    with session_scope(engine) as session:
        ids = [c.id for c in _workspace_channels(session, platform, workspace) if c.active]
    for channel_id in ids:
        if channel_id is not None:
            deactivate_channel(engine, channel_id, reason)
    if ids:
        log.warning("%s workspace %s: %d channel(s) switched off: %s", platform, workspace, len(ids), reason)
    return len(ids)


def workspace_joined(engine: Engine, platform: str, workspace: str) -> int:
    """The bot was added to a workspace or guild again: its channels active again."""
    with session_scope(engine) as session:
        rows = _workspace_channels(session, platform, workspace)
        n = sum(1 for row in rows if channel_store.reactivate(session, row))
    if n:
        log.info("%s workspace %s: %d channel(s) active again (the bot joined)", platform, workspace, n)
    return n
