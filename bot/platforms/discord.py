"""The Discord app: a discord.py client whose CommandTree maps slash commands to bot.commands.

Every command defers first (Discord's 3-second deadline), computes the answer in a worker
thread (SQLModel sessions are synchronous) and sends it as follow-ups built by
`render_discord`. Changing a channel's subscriptions or digest is guild-only and requires
Manage Channels; the permission is checked here in code on every call, the
`default_permissions` on the command is only the hint Discord uses to hide it.
Intents are minimal (guilds only, nothing privileged): slash commands need no message content.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from sqlalchemy.engine import Engine

from sotabot.bot.commands import CommandContext, handle, lifecycle
from sotabot.bot.commands.parser import ParsedCommand, ParseError, parse, parse_digest, parse_sota, parse_target
from sotabot.bot.lookup.complete import complete_dataset, complete_followed, complete_metric, complete_task
from sotabot.bot.platforms.discord_views import DYNAMIC_ITEMS, build_view
from sotabot.bot.render.discord import render_discord
from sotabot.bot.settings import Config
from sotabot.digests.message import Message

log = logging.getLogger(__name__)

MAX_CHOICES = 25  # Discord's autocomplete limit
MAX_CHOICE_LEN = 100  # choice name and value
DM_WORKSPACE = "@me"  # Discord's own name for "not in a guild"

# What the bot needs in a channel: read it, post answers, embed leaderboards, attach charts,
# and put a digest's full lists in a thread under its headline.
REQUIRED_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    use_application_commands=True,
    create_public_threads=True,
    send_messages_in_threads=True,
)

DIGEST_ACTIONS = ["on", "off", "at", "categories", "keywords", "preview"]
READ_ONLY_DIGEST_ACTIONS = {"preview"}
# Answers only the asker sees: deferred ephemerally, so no public "thinking..." appears first.
PRIVATE_COMMANDS = frozenset({"subscriptions", "search", "help"})
PRIVATE_DIGEST_ACTIONS = frozenset({"preview", "show"})
NO_MENTIONS = discord.AllowedMentions.none()  # on the client and on every send: answers never ping


def bad_input(parsed: ParsedCommand | ParseError) -> bool:
    """Whether the text alone is wrong (the handler would answer with usage before any database read)."""
    if isinstance(parsed, ParseError):
        return True
    if parsed.name == "digest":
        return isinstance(parse_digest(parsed.tokens), ParseError)
    if parsed.name in ("subscribe", "unsubscribe"):
        return isinstance(parse_target(parsed.tokens, parsed.name), ParseError)
    if parsed.name == "sota":
        return isinstance(parse_sota(parsed.tokens), ParseError)
    return False


def private_answer(parsed: ParsedCommand) -> bool:
    """Whether this command's answer is private by design (known before computing it)."""
    if parsed.name in PRIVATE_COMMANDS:
        return True
    if parsed.name == "digest":
        first = parsed.tokens[0].text.lower() if parsed.tokens else "show"
        return first in PRIVATE_DIGEST_ACTIONS
    return False


def invite_url(application_id: str | int) -> str:
    """The install URL: bot + applications.commands scopes with REQUIRED_PERMISSIONS."""
    return discord.utils.oauth_url(
        str(application_id), permissions=REQUIRED_PERMISSIONS, scopes=("bot", "applications.commands")
    )


def application_id_from_token(token: str) -> str | None:
    """A bot token's first segment is its user id (= the application id) in base64."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4), validate=False).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded if decoded.isdigit() else None


def can_manage(interaction: discord.Interaction) -> bool:
    """Manage Channels (or Administrator) in this channel, from Discord's resolved permissions."""
    perms = interaction.permissions
    return bool(perms.manage_channels or perms.administrator)


def can_post(interaction: discord.Interaction) -> bool | None:
    """Whether the bot may post embeds in the interaction's channel (its resolved app permissions)."""
    perms = getattr(interaction, "app_permissions", None)
    if interaction.guild_id is None or not isinstance(perms, discord.Permissions):
        return None
    return bool(perms.administrator or (perms.view_channel and perms.send_messages and perms.embed_links))


def command_context(interaction: discord.Interaction) -> CommandContext:
    """Channels are keyed by guild id and channel id; DMs by "@me" and the DM channel id."""
    return CommandContext(
        can_post=can_post(interaction),
        platform="discord",
        workspace=str(interaction.guild_id) if interaction.guild_id else DM_WORKSPACE,
        channel=str(interaction.channel_id or ""),
        user=str(interaction.user.id) if interaction.user else "",
        can_manage=interaction.guild_id is not None and can_manage(interaction),
        channel_name=getattr(interaction.channel, "name", None),
    )


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CHOICE_LEN else text[: MAX_CHOICE_LEN - 1] + "…"


def task_choices(pairs: Sequence[tuple[str, str]]) -> list[app_commands.Choice[str]]:
    """(name, slug) pairs as at most 25 choices; names and values within 100 characters."""
    choices = []
    for name, slug in pairs[:MAX_CHOICES]:
        value = slug if len(slug) <= MAX_CHOICE_LEN else _clip(name)
        choices.append(app_commands.Choice(name=_clip(name or slug), value=value[:MAX_CHOICE_LEN]))
    return choices


def text_choices(names: Sequence[str]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=_clip(n), value=n[:MAX_CHOICE_LEN]) for n in names[:MAX_CHOICES] if n]


async def send_reply(interaction: discord.Interaction, msg: Message, *, deferred_ephemeral: bool) -> None:
    """Follow-ups for every payload; an ephemeral reply after a public defer replaces the
    "thinking" message by an ephemeral one (the first follow-up would otherwise be public)."""
    payloads = render_discord(msg)
    view = build_view(msg)
    ephemeral = msg.ephemeral
    if ephemeral and not deferred_ephemeral:
        try:
            await interaction.delete_original_response()
        except discord.HTTPException as exc:
            log.debug("could not delete the deferred response: %s", exc)
    for i, payload in enumerate(payloads):
        files = [discord.File(path) for path in payload.files]
        kwargs: dict[str, Any] = {"embeds": payload.embeds, "ephemeral": ephemeral, "allowed_mentions": NO_MENTIONS}
        if view is not None and i == len(payloads) - 1:
            kwargs["view"] = view  # the controls under the last part
        if payload.content:
            kwargs["content"] = payload.content
        if files:
            kwargs["files"] = files
        try:
            await interaction.followup.send(**kwargs)
        except discord.HTTPException as exc:
            log.warning("discord follow-up failed: %s", exc)
            return
        finally:
            for f in files:
                f.close()


class CommandRunner:
    """The shared path of every command: checks, defer, compute in a thread, follow up."""

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.config = config

    async def refuse(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def answer_now(self, interaction: discord.Interaction, msg: Message) -> None:
        """A private answer known at once (bad input): the interaction response itself, no defer."""
        payload = render_discord(msg)[0]
        kwargs: dict[str, Any] = {"embeds": payload.embeds, "ephemeral": True, "allowed_mentions": NO_MENTIONS}
        if payload.content:
            kwargs["content"] = payload.content
        await interaction.response.send_message(**kwargs)

    async def run(
        self, interaction: discord.Interaction, text: str, *, manage: bool = False, ephemeral: bool = False
    ) -> None:
        if manage:
            if interaction.guild_id is None:
                await self.refuse(interaction, "This command works in a server channel, not in DMs.")
                return
            if not can_manage(interaction):
                await self.refuse(interaction, "You need the **Manage Channels** permission to change this channel.")
                return
        ctx = command_context(interaction)
        parsed = parse(text)
        if bad_input(parsed):  # answered from the text alone: no database, well within 3 s, private
            await self.answer_now(interaction, handle(self.engine, self.config, ctx, text))
            return
        assert isinstance(parsed, ParsedCommand)
        ephemeral = ephemeral or private_answer(parsed)
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        try:
            msg = await asyncio.to_thread(handle, self.engine, self.config, ctx, text)
        except Exception:
            log.exception("discord command failed (guild %s, channel %s)", ctx.workspace, ctx.channel)
            msg = Message.error("Sorry, something went wrong answering that. Try again in a moment.")
        await send_reply(interaction, msg, deferred_ephemeral=ephemeral)

    async def complete_tasks(self, current: str) -> list[app_commands.Choice[str]]:
        try:
            pairs = await asyncio.to_thread(complete_task, self.engine, current, MAX_CHOICES)
        except Exception:
            log.exception("task autocomplete failed")
            return []
        return task_choices(pairs)

    async def complete_datasets(self, task_text: str, current: str) -> list[app_commands.Choice[str]]:
        try:
            names = await asyncio.to_thread(complete_dataset, self.engine, task_text, current, MAX_CHOICES)
        except Exception:
            log.exception("dataset autocomplete failed")
            return []
        return text_choices(names)

    async def complete_metrics(self, task_text: str, dataset: str | None, current: str
                               ) -> list[app_commands.Choice[str]]:
        try:
            names = await asyncio.to_thread(complete_metric, self.engine, task_text, dataset, current, MAX_CHOICES)
        except Exception:
            log.exception("metric autocomplete failed")
            return []
        return text_choices(names)

    async def complete_followed(self, interaction: discord.Interaction, current: str
                                ) -> list[app_commands.Choice[str]]:
        ctx = command_context(interaction)
        try:
            pairs = await asyncio.to_thread(complete_followed, self.engine, "discord", ctx.workspace, ctx.channel,
                                            current, MAX_CHOICES)
        except Exception:
            log.exception("unsubscribe autocomplete failed")
            return []
        return task_choices(pairs)


def _join(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _phrase(value: str, prefix: str = "", *, quote: bool = False) -> str:
    """One option value as one phrase of the command text: a task named "learning on graphs"
    must not split at "on". Single words stay bare."""
    value = " ".join(value.split())
    if not value or (" " not in value and not prefix and not quote):
        return value
    for open_q, close_q in (('"', '"'), ("'", "'"), ("«", "»")):
        if open_q not in value and close_q not in value:
            return f"{prefix}{open_q}{value}{close_q}"
    return prefix + "".join(c for c in value if c not in "\"'«»“”‘’„‚")


def sota_text(task: str, dataset: str | None = None, metric: str | None = None, private: bool = False) -> str:
    """The command text for /sota's options (the same grammar as Slack's `/sota ...`);
    `/sota task:help` alone is the help."""
    if task.strip().lower().lstrip("/") in ("help", "?") and not (dataset or "").strip() and not (metric or "").strip():
        return "help"
    return _join(
        _phrase(task, quote=True),  # quoted: /sota task:help looks up a task, it does not run help
        _phrase(dataset, "dataset:") if dataset and dataset.strip() else None,
        _phrase(metric, "metric:") if metric and metric.strip() else None,
        "private" if private else None,
    )


def build_command_tree(client: discord.Client, engine: Engine, config: Config) -> app_commands.CommandTree:
    """The CommandTree with every sotabot command; a thin adapter over bot.commands.handle."""
    tree = app_commands.CommandTree(client)
    runner = CommandRunner(engine, config)

    @tree.command(name="sota", description="State of the art on a task: leaderboard, papers and code")
    @app_commands.describe(task="Task, e.g. image classification", dataset="Benchmark dataset", metric="Rank by metric",
                           private="Only you see the answer (with a Share to channel button)")
    async def sota(
        interaction: discord.Interaction, task: str, dataset: str | None = None, metric: str | None = None,
        private: bool = False,
    ) -> None:
        await runner.run(interaction, sota_text(task, dataset, metric, private), ephemeral=private)

    @sota.autocomplete("task")
    async def sota_task(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await runner.complete_tasks(current)

    @sota.autocomplete("dataset")
    async def sota_dataset(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        task_text = getattr(interaction.namespace, "task", None) or ""
        return await runner.complete_datasets(str(task_text), current)

    @sota.autocomplete("metric")
    async def sota_metric(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        task_text = getattr(interaction.namespace, "task", None) or ""
        dataset = getattr(interaction.namespace, "dataset", None)
        return await runner.complete_metrics(str(task_text), str(dataset) if dataset else None, current)

    @tree.command(name="help", description="What sotabot can do, or how to use one command")
    @app_commands.describe(command="A command, e.g. digest")
    async def help_(interaction: discord.Interaction, command: str | None = None) -> None:
        await runner.run(interaction, _join("help", command), ephemeral=True)

    @tree.command(name="subscribe", description="Alert this channel on new results for a task, category or keyword")
    @app_commands.describe(target='A task, category:cs.CV or keyword:"diffusion"')
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    async def subscribe(interaction: discord.Interaction, target: str) -> None:
        await runner.run(interaction, _join("subscribe", target), manage=True)

    @subscribe.autocomplete("target")
    async def subscribe_target(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await runner.complete_tasks(current)

    @tree.command(name="unsubscribe", description="Stop alerts in this channel for a task, category or keyword")
    @app_commands.describe(target="What to stop following (see /subscriptions)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    async def unsubscribe(interaction: discord.Interaction, target: str) -> None:
        await runner.run(interaction, _join("unsubscribe", target), manage=True)

    @unsubscribe.autocomplete("target")
    async def unsubscribe_target(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await runner.complete_followed(interaction, current)  # only what this channel follows

    @tree.command(name="subscriptions", description="What this channel follows")
    async def subscriptions(interaction: discord.Interaction) -> None:
        await runner.run(interaction, "subscriptions")

    @tree.command(name="digest", description="This channel's daily digest: on, off, time, categories, keywords")
    @app_commands.describe(action="What to change", value="at: HH:MM [Time/Zone]; categories or keywords: a list")
    @app_commands.choices(action=[app_commands.Choice(name=a, value=a) for a in DIGEST_ACTIONS])
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    async def digest(interaction: discord.Interaction, action: str, value: str | None = None) -> None:
        await runner.run(interaction, _join("digest", action, value), manage=action not in READ_ONLY_DIGEST_ACTIONS)

    @tree.command(name="paper", description="A paper by arXiv id or URL, with its code")
    @app_commands.describe(paper="arXiv id (2411.17700) or URL")
    async def paper(interaction: discord.Interaction, paper: str) -> None:
        await runner.run(interaction, _join("paper", paper))

    @tree.command(name="trending", description="Trending papers with code")
    @app_commands.describe(category="arXiv category, e.g. cs.CV")
    async def trending(interaction: discord.Interaction, category: str | None = None) -> None:
        await runner.run(interaction, _join("trending", category))

    @tree.command(name="search", description="Search tasks and papers")
    @app_commands.describe(query="Words to look for")
    async def search(interaction: discord.Interaction, query: str) -> None:
        await runner.run(interaction, _join("search", query))

    @tree.error
    async def on_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("discord command error: %s", error, exc_info=error)
        text = "Sorry, something went wrong answering that."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            pass

    return tree


class SotaBotClient(discord.Client):
    """The Discord client; start it with `await client.start(token)` inside the service loop."""

    def __init__(self, engine: Engine, config: Config, *, intents: discord.Intents | None = None) -> None:
        super().__init__(intents=intents or discord.Intents(guilds=True), allowed_mentions=NO_MENTIONS)
        self.engine = engine
        self.config = config
        self.tree = build_command_tree(self, engine, config)
        self.add_dynamic_items(*DYNAMIC_ITEMS)  # controls on old messages keep working after a restart

    async def setup_hook(self) -> None:
        await sync_commands(self.tree, self.config.discord.guild_ids)

    async def on_ready(self) -> None:
        log.info("discord: connected as %s in %d guild(s)", self.user, len(self.guilds))

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Added to a server (again): its channels get deliveries again."""
        await asyncio.to_thread(lifecycle.workspace_joined, self.engine, "discord", str(guild.id))

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Removed from a server (kicked, banned, or the server is gone): its deliveries off."""
        await asyncio.to_thread(lifecycle.workspace_lost, self.engine, "discord", str(guild.id), "removed from guild")


async def sync_commands(tree: app_commands.CommandTree, guild_ids: Sequence[int]) -> None:
    """Globally (may take a while to appear), or at once to the development guilds given."""
    if not guild_ids:
        synced = await tree.sync()
        log.info("discord: synced %d commands globally", len(synced))
        return
    for guild_id in guild_ids:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
        log.info("discord: synced %d commands to guild %s", len(synced), guild_id)
