"""The real discord.py CommandTree: commands, options, autocomplete, permission checks, embeds.

discord.py cannot connect offline, so handlers get small fake Interaction objects that carry
real `discord.Permissions` and record what the bot sent (defer, follow-ups, refusals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from discord import AppCommandOptionType
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sotabot.bot.commands.parser import parse, parse_sota
from sotabot.bot.platforms.discord import (
    REQUIRED_PERMISSIONS,
    SotaBotClient,
    application_id_from_token,
    invite_url,
    sota_text,
    task_choices,
)
from sotabot.bot.render.discord import DiscordPayload
from sotabot.bot.settings import Config
from sotabot.storage.models import Channel, Subscription
from tests.bot.platform_limits import discord_problems
from tests.bot.seed_leaderboards import EXTRA_CLASSIFICATION_TASKS, TOP_MODEL, seed_leaderboards

GUILD_A = 111111111111111111
GUILD_B = 222222222222222222
CHANNEL = 333333333333333333
USER = 444444444444444444


@dataclass
class FakeResponse:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    choices: list[discord.app_commands.Choice] | None = None

    def is_done(self) -> bool:
        return bool(self.calls)

    async def defer(self, *, ephemeral: bool = False, thinking: bool = False) -> None:
        assert not self.calls, "responded twice"
        self.calls.append(("defer", {"ephemeral": ephemeral, "thinking": thinking}))

    async def send_message(self, content: str | None = None, *, ephemeral: bool = False, **kw: Any) -> None:
        assert not self.calls, "responded twice"
        self.calls.append(("send_message", {"content": content, "ephemeral": ephemeral, **kw}))

    async def autocomplete(self, choices: list[discord.app_commands.Choice]) -> None:
        self.choices = list(choices)


@dataclass
class FakeFollowup:
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, content: str | None = None, **kw: Any) -> None:
        self.sent.append({"content": content, **kw})


@dataclass
class FakeInteraction:
    """The parts of discord.Interaction the bot uses."""

    guild_id: int | None = GUILD_A
    channel_id: int = CHANNEL
    permissions: discord.Permissions = field(default_factory=discord.Permissions.none)
    namespace: Any = field(default_factory=SimpleNamespace)
    response: FakeResponse = field(default_factory=FakeResponse)
    followup: FakeFollowup = field(default_factory=FakeFollowup)
    deleted_original: bool = False

    @property
    def user(self) -> Any:
        return SimpleNamespace(id=USER, name="ada")

    @property
    def channel(self) -> Any:
        return SimpleNamespace(id=self.channel_id, name="papers")

    async def delete_original_response(self) -> None:
        self.deleted_original = True


MEMBER = discord.Permissions(view_channel=True, send_messages=True, use_application_commands=True)
MODERATOR = discord.Permissions(view_channel=True, send_messages=True, manage_channels=True)


@pytest.fixture
def client(engine: Engine) -> SotaBotClient:
    seed_leaderboards(engine)
    return SotaBotClient(engine, Config())


def command(client: SotaBotClient, name: str) -> discord.app_commands.Command:
    cmd = client.tree.get_command(name)
    assert isinstance(cmd, discord.app_commands.Command), name
    return cmd


def count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def check_embed_limits(sent: dict[str, Any]) -> list[discord.Embed]:
    embeds = sent.get("embeds") or []
    assert all(isinstance(e, discord.Embed) for e in embeds)
    assert len(embeds) <= 10
    assert sum(len(e) for e in embeds) <= 6000
    for e in embeds:
        assert len(e.title or "") <= 256
        assert len(e.description or "") <= 4096
        assert len(e.fields) <= 25
        assert all(len(f.name) <= 256 and len(f.value) <= 1024 for f in e.fields)
        assert len(e.footer.text or "") <= 2048
    assert len(sent.get("content") or "") <= 2000
    files = [f.filename for f in sent.get("files") or []]
    assert discord_problems([DiscordPayload(content=sent.get("content"), embeds=embeds, files=files)]) == []
    return embeds


def all_text(sent: list[dict[str, Any]]) -> str:
    parts = []
    for message in sent:
        parts.append(message.get("content") or "")
        for e in message.get("embeds") or []:
            parts.append(str(e.to_dict()))
    return "\n".join(parts)


# --- the tree ------------------------------------------------------------------------------


def test_the_tree_has_every_command(client):
    names = {c.name for c in client.tree.get_commands()}
    assert names == {"sota", "subscribe", "unsubscribe", "subscriptions", "digest", "paper", "trending", "search",
                     "help"}


def test_sota_takes_a_task_with_autocomplete_and_optional_dataset_and_metric(client):
    payload = command(client, "sota").to_dict(client.tree)
    options = {o["name"]: o for o in payload["options"]}
    assert list(options) == ["task", "dataset", "metric", "private"]
    assert all(options[n]["type"] == AppCommandOptionType.string.value for n in ("task", "dataset", "metric"))
    assert options["private"]["type"] == AppCommandOptionType.boolean.value  # an answer only the asker sees
    assert [options[n]["required"] for n in options] == [True, False, False, False]
    assert options["task"]["autocomplete"] is True
    assert options["dataset"]["autocomplete"] is True
    assert options["metric"]["autocomplete"] is True  # from the chosen task's metrics
    assert all(len(o["description"]) <= 100 for o in options.values())


@pytest.mark.parametrize("name", ["subscribe", "unsubscribe", "digest"])
def test_changing_a_channel_is_guild_only_and_hinted_to_manage_channels(client, name):
    cmd = command(client, name)
    payload = cmd.to_dict(client.tree)
    assert cmd.guild_only is True
    assert payload["dm_permission"] is False
    assert payload["contexts"] == [0]  # guild only
    assert payload["default_member_permissions"] == discord.Permissions(manage_channels=True).value


@pytest.mark.parametrize("name", ["sota", "paper", "trending", "search", "subscriptions"])
def test_reading_commands_are_open_to_everyone(client, name):
    payload = command(client, name).to_dict(client.tree)
    assert payload["default_member_permissions"] is None
    assert command(client, name).guild_only is False


def test_digest_offers_its_actions_as_choices(client):
    options = {o["name"]: o for o in command(client, "digest").to_dict(client.tree)["options"]}
    actions = [c["value"] for c in options["action"]["choices"]]
    assert actions == ["on", "off", "at", "categories", "keywords", "preview"]


# --- autocomplete --------------------------------------------------------------------------
# `_invoke_autocomplete` is what CommandTree calls for an autocomplete interaction: it runs the
# registered callback and answers with `interaction.response.autocomplete(choices)`.


async def test_task_autocomplete_returns_at_most_25_choices_that_match(client):
    interaction = FakeInteraction()
    await command(client, "sota")._invoke_autocomplete(interaction, "task", SimpleNamespace(task="classif"))
    choices = interaction.response.choices
    assert choices is not None
    assert 0 < len(choices) <= 25
    assert len(EXTRA_CLASSIFICATION_TASKS) + 1 > 25  # more matches exist than fit
    assert all("classif" in c.name.lower() for c in choices)
    assert all(len(c.name) <= 100 and len(str(c.value)) <= 100 for c in choices)


async def test_task_autocomplete_values_are_slugs_that_the_sota_command_accepts(client):
    interaction = FakeInteraction()
    await command(client, "sota")._invoke_autocomplete(interaction, "task", SimpleNamespace(task="image class"))
    values = [c.value for c in interaction.response.choices or []]
    assert "image-classification" in values


async def test_dataset_autocomplete_offers_the_datasets_of_the_chosen_task(client):
    interaction = FakeInteraction(namespace=SimpleNamespace(task="image-classification", dataset="ima"))
    await command(client, "sota")._invoke_autocomplete(interaction, "dataset", interaction.namespace)
    choices = interaction.response.choices or []
    assert len(choices) <= 25
    assert "ImageNet" in [c.value for c in choices]


def test_choices_are_clipped_to_discord_limits():
    pairs = [("N" * 300, "s" * 150)] + [(f"Task {i}", f"task-{i}") for i in range(40)]
    choices = task_choices(pairs)
    assert len(choices) == 25
    assert all(len(c.name) <= 100 and len(c.value) <= 100 for c in choices)


def test_option_values_stay_whole_in_the_command_text():
    for task, dataset, metric in [
        ("learning on graphs", "COCO test-dev", "box AP"),
        ("question answering by retrieval", None, "F1 on test"),
        ('a "quoted" task', "it's «odd»", None),
        ("image-classification", "ImageNet", None),
        ("help", "ImageNet", None),  # with a dataset, "help" is looked up as a task
        ("subscribe", "x", None),
    ]:
        parsed = parse(sota_text(task, dataset, metric))
        assert parsed.name == "sota"
        query = parse_sota(parsed.tokens)
        assert (query.task, query.dataset, query.metric) == (task, dataset, metric)


# --- running commands ----------------------------------------------------------------------


async def test_sota_defers_then_follows_up_with_a_leaderboard_in_real_embeds(client):
    interaction = FakeInteraction(permissions=MEMBER)
    await command(client, "sota").callback(interaction, task="image-classification")
    assert interaction.response.calls[0] == ("defer", {"ephemeral": False, "thinking": True})
    assert interaction.followup.sent
    for message in interaction.followup.sent:
        check_embed_limits(message)
    assert TOP_MODEL in all_text(interaction.followup.sent)
    assert "ImageNet" in all_text(interaction.followup.sent)


async def test_a_member_without_manage_channels_cannot_subscribe(client, engine):
    interaction = FakeInteraction(permissions=MEMBER)
    await command(client, "subscribe").callback(interaction, target="image-classification")
    ((kind, sent),) = interaction.response.calls
    assert kind == "send_message"
    assert sent["ephemeral"] is True
    assert "Manage Channels" in sent["content"]
    assert interaction.followup.sent == []
    assert count(engine, Subscription) == 0


@pytest.mark.parametrize(("name", "kwargs"), [("unsubscribe", {"target": "image-classification"}),
                                               ("digest", {"action": "on", "value": None}),
                                               ("digest", {"action": "at", "value": "08:30 Europe/Paris"})])
async def test_a_member_without_manage_channels_cannot_change_the_channel(client, engine, name, kwargs):
    interaction = FakeInteraction(permissions=MEMBER)
    await command(client, name).callback(interaction, **kwargs)
    assert [c[0] for c in interaction.response.calls] == ["send_message"]
    assert interaction.response.calls[0][1]["ephemeral"] is True
    assert interaction.followup.sent == []
    assert (count(engine, Channel), count(engine, Subscription)) == (0, 0)


async def test_a_member_with_manage_channels_subscribes_this_guilds_channel(client, engine):
    interaction = FakeInteraction(permissions=MODERATOR)
    await command(client, "subscribe").callback(interaction, target="image-classification")
    assert interaction.response.calls[0][0] == "defer"
    for message in interaction.followup.sent:
        check_embed_limits(message)
    with Session(engine) as s:
        (channel,) = s.exec(select(Channel)).all()
        (sub,) = s.exec(select(Subscription)).all()
    assert (channel.platform, channel.workspace, channel.channel) == ("discord", str(GUILD_A), str(CHANNEL))
    assert (sub.channel_id, sub.target) == (channel.id, "image-classification")


async def test_administrator_counts_as_manage_channels(client, engine):
    interaction = FakeInteraction(permissions=discord.Permissions(administrator=True))
    await command(client, "subscribe").callback(interaction, target="image-classification")
    assert interaction.response.calls[0][0] == "defer"
    assert count(engine, Subscription) == 1


async def test_guild_only_commands_refuse_in_dms_even_if_discord_let_them_through(client, engine):
    interaction = FakeInteraction(guild_id=None, permissions=discord.Permissions.all())
    await command(client, "subscribe").callback(interaction, target="image-classification")
    assert [c[0] for c in interaction.response.calls] == ["send_message"]
    assert count(engine, Subscription) == 0


async def test_subscriptions_of_one_guild_are_invisible_from_another(client, engine):
    await command(client, "subscribe").callback(FakeInteraction(permissions=MODERATOR), target="image-classification")
    other = FakeInteraction(guild_id=GUILD_B, permissions=MODERATOR)
    await command(client, "subscriptions").callback(other)
    assert "image-classification" not in all_text(other.followup.sent).lower().replace(" ", "-")
    same = FakeInteraction(permissions=MEMBER)
    await command(client, "subscriptions").callback(same)
    text = all_text(same.followup.sent).lower()
    assert "image-classification" in text or "image classification" in text


async def test_an_error_answer_is_shown_only_to_the_person_who_asked(client):
    interaction = FakeInteraction(permissions=MEMBER)
    await command(client, "paper").callback(interaction, paper="not a paper id ' OR 1=1 --")
    assert interaction.response.calls[0][0] == "defer"
    assert interaction.followup.sent
    assert all(m.get("ephemeral") is True for m in interaction.followup.sent)
    assert interaction.deleted_original is True  # the public "thinking" message is replaced
    for message in interaction.followup.sent:
        check_embed_limits(message)


# --- install -------------------------------------------------------------------------------


def test_the_invite_url_asks_for_the_bot_and_commands_scopes_and_only_the_needed_permissions():
    url = invite_url("123456789012345678")
    assert url.startswith("https://discord.com/oauth2/authorize?client_id=123456789012345678")
    assert "scope=bot+applications.commands" in url
    perms = discord.Permissions(int(url.split("permissions=")[1].split("&")[0]))
    assert perms == REQUIRED_PERMISSIONS
    assert perms.send_messages and perms.embed_links and perms.attach_files and perms.view_channel
    assert perms.use_application_commands
    assert not perms.administrator and not perms.manage_channels and not perms.manage_messages


def test_the_application_id_can_be_read_from_a_bot_token():
    # a token's first segment is the base64 of the bot's id
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.abcdefghijklmnopqrstuvwxyz"
    assert application_id_from_token(token) == "123456789012345678"
    assert application_id_from_token("not-a-token") is None


def test_the_client_asks_for_no_privileged_intents(engine):
    intents = SotaBotClient(engine, Config()).intents
    assert not intents.members and not intents.presences and not intents.message_content
