"""Discord done properly: its own syntax in every hint, /help, private answers deferred privately,
no mentions ever, and autocomplete that knows the channel and the chosen task.

The real CommandTree with the fake interactions of test_discord.
"""

from __future__ import annotations

import discord
import pytest
from sqlmodel import Session

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.platforms.discord import NO_MENTIONS, SotaBotClient
from sotabot.bot.settings import Config
from sotabot.storage.models import Channel, Subscription
from tests.bot.platforms.test_discord import (
    CHANNEL,
    GUILD_A,
    MEMBER,
    MODERATOR,
    FakeInteraction,
    all_text,
    command,
)
from tests.bot.seed_leaderboards import seed_leaderboards


@pytest.fixture
def client(engine) -> SotaBotClient:
    seed_leaderboards(engine)
    return SotaBotClient(engine, Config())

SLACK_FORMS = ("/sota search", "/sota digest", "/sota subscribe", "/sota subscriptions", "/sota help", "/sota paper")


def _no_slack_syntax(text: str) -> None:
    for form in SLACK_FORMS:
        assert form not in text, form


async def test_help_is_a_command_of_its_own_answered_privately_in_discord_syntax(client) -> None:
    interaction = FakeInteraction(permissions=MEMBER)
    await command(client, "help").callback(interaction)
    assert interaction.response.calls == [("defer", {"ephemeral": True, "thinking": True})]
    text = all_text(interaction.followup.sent)
    assert "/digest action:" in text and "/subscribe target:" in text and "/sota task:" in text
    _no_slack_syntax(text)
    assert all(m["ephemeral"] is True for m in interaction.followup.sent)
    assert interaction.deleted_original is False  # nothing public to take back


async def test_sota_task_help_gives_the_help(client) -> None:
    interaction = FakeInteraction(permissions=MEMBER)
    await command(client, "sota").callback(interaction, task="help")
    text = all_text(interaction.followup.sent)
    assert "I don't know the task" not in text
    assert "/trending" in text and "/search query:" in text


async def test_help_for_one_command_names_its_options(client) -> None:
    interaction = FakeInteraction(permissions=MEMBER)
    await command(client, "help").callback(interaction, command="digest")
    text = all_text(interaction.followup.sent)
    assert "/digest action:" in text
    _no_slack_syntax(text)


async def test_an_unknown_task_suggests_discords_search_command(client) -> None:
    interaction = FakeInteraction(permissions=MEMBER)
    await command(client, "sota").callback(interaction, task="zzqx nothing like it")
    text = all_text(interaction.followup.sent)
    assert "/search query:" in text
    _no_slack_syntax(text)


def test_every_hint_of_every_answer_is_in_discord_syntax(client, engine) -> None:
    """The neutral handler, asked as Discord: usage lines, tips and examples are all Discord's."""
    ctx = CommandContext(platform="discord", workspace=str(GUILD_A), channel=str(CHANNEL), can_manage=True)
    for text in ("help", "help digest", "help subscribe", "subscriptions", "digest", "digest at 25:99",
                 "digest bogus", "subscribe", "unsubscribe", "zzqx nothing", "image classification",
                 "paper not-an-id", "search", "trending cs.XX", "digest at 08:00"):
        msg = handle(engine, Config(), ctx, text)
        blob = " ".join([msg.text, *(getattr(b, "text", "") for b in msg.blocks)])
        _no_slack_syntax(blob)
        assert "/sota " not in blob.replace("/sota task:", "").replace("`/sota`", ""), (text, blob)


async def test_bad_input_is_answered_privately_at_once_without_a_public_defer(client) -> None:
    interaction = FakeInteraction(permissions=MODERATOR)
    await command(client, "digest").callback(interaction, action="at", value="25:99")
    ((kind, sent),) = interaction.response.calls
    assert kind == "send_message" and sent["ephemeral"] is True
    assert sent["allowed_mentions"] is NO_MENTIONS
    assert interaction.followup.sent == [] and interaction.deleted_original is False


async def test_private_answers_are_deferred_privately(client) -> None:
    for name, kwargs in (("subscriptions", {}), ("search", {"query": "classification"}),
                         ("digest", {"action": "preview", "value": None})):
        interaction = FakeInteraction(permissions=MODERATOR)
        await command(client, name).callback(interaction, **kwargs)
        assert interaction.response.calls[0] == ("defer", {"ephemeral": True, "thinking": True}), name
        assert interaction.followup.sent and all(m["ephemeral"] for m in interaction.followup.sent), name
        assert interaction.deleted_original is False


async def test_no_send_can_mention_anyone(client, engine) -> None:
    assert client.allowed_mentions is not None
    assert client.allowed_mentions.to_dict() == discord.AllowedMentions.none().to_dict()
    for name, kwargs, perms in (("sota", {"task": "image classification"}, MEMBER),
                                ("subscribe", {"target": "image classification"}, MEMBER),  # refused
                                ("help", {}, MEMBER)):
        interaction = FakeInteraction(permissions=perms)
        await command(client, name).callback(interaction, **kwargs)
        sends = [c[1] for c in interaction.response.calls if c[0] == "send_message"] + interaction.followup.sent
        assert sends, name
        assert all(s.get("allowed_mentions") is NO_MENTIONS for s in sends), name


def _subscribe(engine, guild: int, channel: int, *subs: tuple[str, str]) -> None:
    with Session(engine) as s:
        row = Channel(platform="discord", workspace=str(guild), channel=str(channel))
        s.add(row)
        s.flush()
        s.add_all(Subscription(channel_id=row.id, kind=k, target=t) for k, t in subs)
        s.commit()


async def _complete(bot: SotaBotClient, name: str, option: str, interaction: FakeInteraction, current: str):
    from types import SimpleNamespace

    namespace = SimpleNamespace(**{**vars(interaction.namespace), option: current})
    await command(bot, name)._invoke_autocomplete(interaction, option, namespace)  # as CommandTree does
    return interaction.response.choices


async def test_unsubscribe_completes_only_what_this_channel_follows(client, engine) -> None:
    _subscribe(engine, GUILD_A, CHANNEL, ("task", "image-classification"), ("category", "cs.CV"),
               ("keyword", "state space"))
    _subscribe(engine, GUILD_A, 999, ("task", "object-detection"))  # another channel of the same server
    interaction = FakeInteraction(permissions=MODERATOR)
    choices = await _complete(client, "unsubscribe", "target", interaction, "")
    assert [(c.name, c.value) for c in choices] == [
        ("category:cs.CV", "category:cs.CV"),
        ('keyword:"state space"', 'keyword:"state space"'),
        ("Image Classification", "image-classification"),
        ("all (every subscription here)", "all"),
    ]
    narrowed = await _complete(client, "unsubscribe", "target", FakeInteraction(permissions=MODERATOR), "imag")
    assert [c.value for c in narrowed] == ["image-classification"]
    elsewhere = await _complete(client, "unsubscribe", "target", FakeInteraction(guild_id=222, permissions=MODERATOR),
                                "")
    assert elsewhere == []


async def test_metric_completes_from_the_chosen_tasks_metrics(client, engine) -> None:
    from types import SimpleNamespace

    interaction = FakeInteraction(permissions=MEMBER, namespace=SimpleNamespace(task="image-classification"))
    choices = await _complete(client, "sota", "metric", interaction, "")
    assert [c.value for c in choices] == ["Top 1 Accuracy"]
    other = FakeInteraction(permissions=MEMBER, namespace=SimpleNamespace(task="object detection", dataset="COCO"))
    assert [c.value for c in await _complete(client, "sota", "metric", other, "box")] == ["box AP"]
    none = FakeInteraction(permissions=MEMBER, namespace=SimpleNamespace())
    assert await _complete(client, "sota", "metric", none, "") == []
