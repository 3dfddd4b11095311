"""Leaderboard controls on Discord: a `discord.ui.View` of dynamic items whose custom ids carry the state.

`build_view(msg)` turns a Message's `Actions` block into a View (timeout=None). Its buttons
and menus are `DynamicItem`s: their custom id (`sota.more:12.34.5.20`, at most 100
characters) or their options' values hold the whole board state, and the client registers
the item classes (`add_dynamic_items`), so a click on a message sent before a restart is
rebuilt from its custom id and handled like a fresh one. What a click does is decided by
bot.commands.actions; `run_action` only defers, asks and delivers:
- a board update edits the message in place (a deferred update, then edit_original_response);
- "Share to channel" posts the board publicly;
- a refusal or confirmation (Subscribe without Manage Channels) is ephemeral.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import discord

from sotabot.bot.commands.actions import CHART, DATASET, METRIC, SHARE, SUBSCRIBE, ActionReply, handle_action
from sotabot.bot.render.discord import render_discord
from sotabot.digests.message import Actions, Message

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
MAX_CUSTOM_ID = 100
MAX_OPTIONS = 25
MAX_LABEL = 80
_PRIVATE_FIRST = {SUBSCRIBE}  # answered ephemerally: defer privately


def _clip(text: str, limit: int = MAX_LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


BUTTON_ID = r"sota\.(?P<action>more|chart|subscribe|share):(?P<state>[0-9.]{7,80})"
SELECT_ID = r"sota\.(?P<action>dataset|metric):(?P<tag>[0-9.]{1,80})"


class BoardButton(discord.ui.DynamicItem[discord.ui.Button], template=BUTTON_ID):
    """A button whose custom id is `sota.ACTION:STATE`."""

    def __init__(self, action: str, state: str, label: str | None = None) -> None:
        style = discord.ButtonStyle.primary if action in ("subscribe",) else discord.ButtonStyle.secondary
        super().__init__(discord.ui.Button(label=_clip(label or action), style=style,
                                           custom_id=f"sota.{action}:{state}"[:MAX_CUSTOM_ID]))
        self.action = f"sota.{action}"
        self.state = state

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str]) -> BoardButton:
        return cls(match["action"], match["state"], item.label)

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        await run_action(interaction, self.action, self.state)


class BoardSelect(discord.ui.DynamicItem[discord.ui.Select], template=SELECT_ID):
    """A menu whose custom id is `sota.ACTION:TAG`; each option's value is a full board state."""

    def __init__(self, action: str, tag: str, options: list[discord.SelectOption] | None = None,
                 placeholder: str | None = None) -> None:
        super().__init__(discord.ui.Select(custom_id=f"sota.{action}:{tag}"[:MAX_CUSTOM_ID],
                                           options=options or [discord.SelectOption(label="…", value="0.0.0.0")],
                                           placeholder=placeholder, min_values=1, max_values=1))
        self.action = f"sota.{action}"

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Select,
                             match: re.Match[str]) -> BoardSelect:
        return cls(match["action"], match["tag"], list(item.options) or None, item.placeholder)

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        values = list(self.item.values)
        await run_action(interaction, self.action, values[0] if values else "")


def build_view(msg: Message) -> discord.ui.View | None:
    """The View for a message's controls; None when it has none."""
    actions = [b for b in msg.blocks if isinstance(b, Actions)]
    if not actions:
        return None
    view = discord.ui.View(timeout=None)
    for control in actions[0].controls:
        if control.options:
            name = control.action.removeprefix("sota.")
            options = [discord.SelectOption(label=_clip(label, 100), value=value[:100],
                                            default=value == control.selected)
                       for label, value in control.options[:MAX_OPTIONS]]
            tag = control.selected.split(".", 1)[0] if control.selected else "0"
            view.add_item(BoardSelect(name, tag, options, control.label))
        else:
            view.add_item(BoardButton(control.action.removeprefix("sota."), control.value, control.label))
    return view


def _ctx(interaction: discord.Interaction) -> Any:
    from sotabot.bot.platforms.discord import command_context

    return command_context(interaction)


async def run_action(interaction: discord.Interaction, action: str, value: str) -> None:
    """Defer (privately for private answers, as an update for board changes), decide, deliver."""
    client = interaction.client
    engine, config = getattr(client, "engine", None), getattr(client, "config", None)
    if engine is None or config is None:
        log.error("discord action on a client without sotabot state")
        return
    if action in _PRIVATE_FIRST:
        await interaction.response.defer(ephemeral=True, thinking=True)
    elif action == SHARE:
        await interaction.response.defer(thinking=True)
    else:
        await interaction.response.defer()  # a deferred update: the message itself will change
    reply: ActionReply = await asyncio.to_thread(handle_action, engine, config, _ctx(interaction), action, value,
                                                 charts=action == CHART)
    payload = render_discord(reply.message)[0]
    view = build_view(reply.message)
    files = [discord.File(path) for path in payload.files]
    try:
        if reply.mode == "replace":
            kwargs: dict[str, Any] = {"embeds": payload.embeds, "allowed_mentions": NO_MENTIONS}
            if view is not None:
                kwargs["view"] = view
            if files:
                kwargs["attachments"] = files
            await interaction.edit_original_response(**kwargs)
        else:
            send: dict[str, Any] = {"embeds": payload.embeds, "ephemeral": reply.mode == "private",
                                    "allowed_mentions": NO_MENTIONS}
            if payload.content:
                send["content"] = payload.content
            if view is not None:
                send["view"] = view
            if files:
                send["files"] = files
            await interaction.followup.send(**send)
    except discord.HTTPException as exc:
        log.warning("discord action answer failed: %s", exc)
    finally:
        for f in files:
            f.close()


DYNAMIC_ITEMS = (BoardButton, BoardSelect)
__all__ = ["DATASET", "DYNAMIC_ITEMS", "METRIC", "BoardButton", "BoardSelect", "build_view", "run_action"]
