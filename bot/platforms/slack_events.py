"""Slack events that decide whether sotabot can post in a channel, and the check before channel commands.

`register_lifecycle(app, engine)` adds listeners to the Bolt app built by
`bot.platforms.slack.build_slack_app` (the same AsyncApp serves HTTP and Socket Mode; Bolt
acks events itself):
- `member_joined_channel` for the bot user: the channel gets deliveries again;
- `channel_archive` / `group_archive` / `channel_deleted`: that channel's deliveries off;
- `app_uninstalled`, and `tokens_revoked` naming a bot token: every channel of the team off.
The logic is bot.commands.lifecycle's; this module only reads Slack's payloads.

`can_post_in` asks `conversations.info` whether the bot can post in a channel (a member,
or a public channel, which `chat:write.public` reaches); None when Slack does not say.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine

from sotabot.bot.commands import lifecycle
from sotabot.bot.commands.parser import ParseError, parse

log = logging.getLogger(__name__)

CANNOT_SEE = frozenset({"channel_not_found"})  # a private channel the bot is not in


def command_needs_reach(text: str) -> bool:
    """Whether this `/sota` text is a channel command whose answer depends on the bot being able to post."""
    parsed = parse(text)
    return not isinstance(parsed, ParseError) and parsed.name in lifecycle.CHANNEL_COMMANDS


async def can_post_in(client: AsyncWebClient, channel: str) -> bool | None:
    """True / False when Slack says whether the bot can post in `channel`; None when it cannot tell."""
    try:
        response = await client.conversations_info(channel=channel)
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        if error in CANNOT_SEE:
            return False
        log.info("slack conversations.info for %s: %s", channel, error or type(exc).__name__)
        return None
    except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        log.info("slack conversations.info for %s failed: %s", channel, type(exc).__name__)
        return None
    info = response.get("channel") or {}
    if info.get("is_archived"):
        return False
    if info.get("is_member"):
        return True
    if info.get("is_channel") and not info.get("is_private"):
        return True  # chat:write.public posts in public channels without joining
    return False if "is_member" in info else None


def _team(body: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    return str(event.get("team") or body.get("team_id") or "")


def register_lifecycle(app: AsyncApp, engine: Engine, workspace_of: Any) -> None:
    """Listeners that switch a channel's deliveries on and off; `workspace_of(enterprise, team)` keys it."""
    bot_user: dict[str, str | None] = {}

    async def bot_user_id(client: AsyncWebClient, context: Mapping[str, Any]) -> str | None:
        known = context.get("bot_user_id") or bot_user.get("id")
        if known:
            return str(known)
        try:
            bot_user["id"] = (await client.auth_test()).get("user_id")
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("slack auth.test failed: %s", type(exc).__name__)
            return None
        return bot_user["id"]

    async def on_member_joined(body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient,
                               context: dict[str, Any]) -> None:
        if not event.get("channel") or event.get("user") != await bot_user_id(client, context):
            return
        workspace = workspace_of(body.get("enterprise_id"), _team(body, event))
        await asyncio.to_thread(lifecycle.bot_joined_channel, engine, "slack", workspace, str(event["channel"]))

    async def on_channel_gone(body: dict[str, Any], event: dict[str, Any]) -> None:
        channel = event.get("channel")
        if isinstance(channel, dict):  # channel_deleted carries an id, some payloads an object
            channel = channel.get("id")
        if not channel:
            return
        workspace = workspace_of(body.get("enterprise_id"), _team(body, event))
        await asyncio.to_thread(lifecycle.channel_lost, engine, "slack", workspace, str(channel), event["type"])

    async def on_uninstalled(body: dict[str, Any], event: dict[str, Any]) -> None:
        team = str(body.get("team_id") or "")
        if team:
            await asyncio.to_thread(lifecycle.workspace_lost, engine, "slack", team, "app_uninstalled")

    async def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        team = str(body.get("team_id") or "")
        if team and (event.get("tokens") or {}).get("bot"):
            await asyncio.to_thread(lifecycle.workspace_lost, engine, "slack", team, "tokens_revoked")

    app.event("member_joined_channel")(on_member_joined)
    for name in ("channel_archive", "group_archive", "channel_deleted"):
        app.event(name)(on_channel_gone)
    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)


def register_actions(app: AsyncApp, engine: Engine, config: Any, workspace_of: Any, can_manage: Any,
                     bot_token: str | None, managers: Managers | None = None) -> None:
    """Leaderboard controls (Block Kit `block_actions`): decoded here, decided in bot.commands.actions.

    The same listener serves HTTP and Socket Mode. A board update replaces the message in place
    through the action's `response_url`; "Share to channel" posts a new message there; refusals
    and confirmations are ephemeral to the person who clicked.
    """
    from slack_sdk.webhook.async_client import AsyncWebhookClient

    from sotabot.bot.commands import CommandContext
    from sotabot.bot.commands.actions import handle_action
    from sotabot.bot.platforms.slack_files import inline_files, send_answer
    from sotabot.bot.render.slack import render_slack

    async def on_action(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        actions = body.get("actions") or []
        response_url = body.get("response_url")
        if not actions or not response_url:
            return
        action = actions[0]
        value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
        team = body.get("team") or {}
        enterprise = (body.get("enterprise") or {}).get("id") or team.get("enterprise_id")
        ctx = CommandContext(
            platform="slack",
            workspace=workspace_of(enterprise, team.get("id") or body.get("team_id")),
            channel=str((body.get("channel") or {}).get("id") or ""),
            user=str((body.get("user") or {}).get("id") or ""),
            can_manage=True if can_manage is None else bool(can_manage(body)),
        )
        if action.get("action_id") == "sota.subscribe":  # checked as `/sota subscribe` is
            if can_manage is None and managers is not None:
                ctx = replace(ctx, can_manage=await managers.allows(client if bot_token else None, ctx.user))
            if bot_token and ctx.channel and ctx.can_manage:
                ctx = replace(ctx, can_post=await can_post_in(client, ctx.channel))
        reply = await asyncio.to_thread(handle_action, engine, config, ctx, str(action.get("action_id")), str(value))
        payload = await inline_files(render_slack(reply.message)[0], client if bot_token else None)
        message: dict[str, Any] = {}
        if reply.mode == "replace":
            message["replace_original"] = True
        else:
            message["replace_original"] = False
            message["response_type"] = "in_channel" if reply.mode == "post" else "ephemeral"
        webhook = AsyncWebhookClient(url=str(response_url))

        async def send(**fields: Any) -> Any:
            return await webhook.send_dict(fields)

        try:
            sent = await send_answer(send, payload, **message)
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("slack action answer failed: %s", type(exc).__name__)
            return
        if sent.status_code != 200:
            log.warning("slack action answer got HTTP %s", sent.status_code)

    app.action(re.compile(r"^sota\."))(on_action)


class Managers:
    """Who may change a channel's settings on Slack (`slack.managers`): everyone, admins, or listed users.

    A slash command carries no role, so "admins" asks `users.info` (scope `users:read`) and keeps
    each answer for `ttl` seconds; when Slack cannot tell, the answer is no (a refusal says why).
    """

    def __init__(self, managers: str | list[str], ttl: float = 300.0) -> None:
        self.managers = managers
        self.ttl = ttl
        self._admins: dict[str, tuple[float, bool]] = {}

    async def allows(self, client: AsyncWebClient | None, user: str) -> bool:
        if self.managers == "everyone":
            return True
        if isinstance(self.managers, list):
            return user in self.managers
        if client is None or not user:
            return False
        import time

        known = self._admins.get(user)
        if known is not None and time.monotonic() - known[0] < self.ttl:
            return known[1]
        try:
            info = (await client.users_info(user=user)).get("user") or {}
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("slack users.info for %s failed: %s; not treated as an admin", user, type(exc).__name__)
            return False
        allowed = bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
        self._admins[user] = (time.monotonic(), allowed)
        return allowed


def changes_channel(text: str) -> bool:
    """Whether the command may change the channel's settings (so who asks matters)."""
    parsed = parse(text)
    return not isinstance(parsed, ParseError) and parsed.name in ("subscribe", "unsubscribe", "digest")
