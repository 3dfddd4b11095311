"""Leaderboard controls on Discord: real discord.ui Views and DynamicItems, fake interactions.

The first answer carries a View; each control's callback (as discord.py runs it) must update
the right message: board changes edit the original response, a refusal is ephemeral. After a
"restart" (a new client, nothing in memory) an item rebuilt from its custom id alone, the way
discord.py dispatches DynamicItems, still works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from sqlmodel import Session, select

from sotabot.bot.platforms.discord import SotaBotClient
from sotabot.bot.platforms.discord_views import DYNAMIC_ITEMS, BoardButton, BoardSelect
from sotabot.bot.settings import Config
from sotabot.storage.models import Subscription
from tests.bot.interactive_boards import MODELS, seed_interactive
from tests.bot.platforms.test_discord import MEMBER, MODERATOR, FakeInteraction, command


@dataclass
class ClickInteraction(FakeInteraction):
    """A component interaction: the client it came to, and what editing the message did."""

    client: Any = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    app_permissions: Any = None  # the bot's own permissions in the channel, as Discord sends them

    async def edit_original_response(self, **kw: Any) -> None:
        self.edits.append(kw)


def embeds_text(kw: dict[str, Any]) -> str:
    return " ".join(str(e.to_dict()) for e in kw.get("embeds") or [])


@pytest.fixture
def client(engine) -> SotaBotClient:
    seed_interactive(engine)
    return SotaBotClient(engine, Config())


async def first_view(client: SotaBotClient) -> discord.ui.View:
    interaction = FakeInteraction(permissions=MEMBER)
    await command(client, "sota").callback(interaction, task="image classification")
    views = [m["view"] for m in interaction.followup.sent if m.get("view") is not None]
    assert len(views) == 1
    return views[0]


def item(view: discord.ui.View, custom_id_start: str) -> Any:
    for child in view.children:
        if child.item.custom_id.startswith(custom_id_start):
            return child
    raise AssertionError(f"no {custom_id_start} control")


async def test_the_answer_has_menus_and_buttons_within_discords_limits(client) -> None:
    view = await first_view(client)
    assert view.timeout is None  # controls never expire
    ids = [c.item.custom_id for c in view.children]
    assert all(len(i) <= 100 for i in ids)
    assert {i.split(":")[0] for i in ids} >= {"sota.dataset", "sota.metric", "sota.more", "sota.subscribe"}
    metric = item(view, "sota.metric")
    assert [o.label for o in metric.item.options] == ["Top 1 Accuracy", "Top 5 Accuracy"]
    assert all(len(o.value) <= 100 for o in metric.item.options)


async def test_more_rows_edits_the_message_in_place(client) -> None:
    more = item(await first_view(client), "sota.more")
    click = ClickInteraction(permissions=MEMBER, client=client)
    await more.callback(click)
    assert click.response.calls == [("defer", {"ephemeral": False, "thinking": False})]
    (edit,) = click.edits
    assert MODELS[12] in embeds_text(edit) and isinstance(edit["view"], discord.ui.View)
    assert click.followup.sent == []


async def test_the_metric_menu_reranks_in_place(client) -> None:
    metric = item(await first_view(client), "sota.metric")
    top5 = metric.item.options[1].value
    metric.item._refresh_state(None, {"custom_id": metric.item.custom_id, "component_type": 3, "values": [top5]})
    click = ClickInteraction(permissions=MEMBER, client=client)
    await metric.callback(click)
    (edit,) = click.edits
    assert "Top 5 Accuracy" in embeds_text(edit)
    chosen = [o.label for o in item(edit["view"], "sota.metric").item.options if o.default]
    assert chosen == ["Top 5 Accuracy"]


async def test_subscribe_without_manage_channels_is_refused_privately(client, engine) -> None:
    button = item(await first_view(client), "sota.subscribe")
    click = ClickInteraction(permissions=MEMBER, client=client)
    await button.callback(click)
    assert click.response.calls == [("defer", {"ephemeral": True, "thinking": True})]
    (sent,) = click.followup.sent
    assert sent["ephemeral"] is True and "Manage Channels" in embeds_text(sent) and click.edits == []
    with Session(engine) as s:
        assert s.exec(select(Subscription)).all() == []


async def test_subscribe_with_manage_channels_subscribes_this_channel(client, engine) -> None:
    button = item(await first_view(client), "sota.subscribe")
    click = ClickInteraction(permissions=MODERATOR, client=client)
    await button.callback(click)
    (sent,) = click.followup.sent
    assert sent["ephemeral"] is True and "now follows" in embeds_text(sent)
    with Session(engine) as s:
        assert [x.target for x in s.exec(select(Subscription)).all()] == ["image-classification"]


async def test_subscribe_where_the_bot_cannot_post_says_which_permissions_to_give(client, engine) -> None:
    button = item(await first_view(client), "sota.subscribe")
    click = ClickInteraction(permissions=MODERATOR, client=client,
                             app_permissions=discord.Permissions(view_channel=True))  # no Send Messages
    await button.callback(click)
    (sent,) = click.followup.sent
    assert sent["ephemeral"] is True and "now follows" in embeds_text(sent)
    assert "Send Messages" in embeds_text(sent)  # the same hint as /subscribe gives
    with Session(engine) as s:
        assert [x.target for x in s.exec(select(Subscription)).all()] == ["image-classification"]


async def test_the_benchmark_menu_switches_the_board_in_place_with_its_footer(client) -> None:
    menu = item(await first_view(client), "sota.dataset")
    cifar = next(o.value for o in menu.item.options if o.label == "CIFAR-10")
    menu.item._refresh_state(None, {"custom_id": menu.item.custom_id, "component_type": 3, "values": [cifar]})
    click = ClickInteraction(permissions=MEMBER, client=client)
    await menu.callback(click)
    assert click.response.calls == [("defer", {"ephemeral": False, "thinking": False})]
    (edit,) = click.edits
    assert "Cifar A" in embeds_text(edit) and MODELS[0] not in embeds_text(edit) and click.followup.sent == []
    assert [o.label for o in item(edit["view"], "sota.dataset").item.options if o.default] == ["CIFAR-10"]
    assert "Papers with Code archive" in embeds_text(edit) and "live sources" not in embeds_text(edit)  # footer


async def test_a_private_answer_is_deferred_privately_and_share_posts_it_publicly(client) -> None:
    interaction = FakeInteraction(permissions=MEMBER)
    await command(client, "sota").callback(interaction, task="image classification", private=True)
    assert interaction.response.calls == [("defer", {"ephemeral": True, "thinking": True})]
    (answer,) = [m for m in interaction.followup.sent if m.get("view") is not None]
    assert answer["ephemeral"] is True
    share = item(answer["view"], "sota.share")
    click = ClickInteraction(permissions=MEMBER, client=client)
    await share.callback(click)
    (posted,) = click.followup.sent
    assert posted["ephemeral"] is False and MODELS[0] in embeds_text(posted) and click.edits == []
    assert not any(c.item.custom_id.startswith("sota.share") for c in posted["view"].children)


async def test_an_old_button_works_after_a_restart(engine, client) -> None:
    custom_id = item(await first_view(client), "sota.more").item.custom_id
    await client.close()
    restarted = SotaBotClient(engine, Config())  # nothing carried over but the message's custom id
    factory = next(cls for cls in DYNAMIC_ITEMS if cls.__discord_ui_compiled_template__.fullmatch(custom_id))
    assert factory is BoardButton
    match = factory.__discord_ui_compiled_template__.fullmatch(custom_id)
    base = discord.ui.Button(label="More rows", custom_id=custom_id)
    rebuilt = await factory.from_custom_id(None, base, match)  # what discord.py does for a dynamic item
    click = ClickInteraction(permissions=MEMBER, client=restarted)
    await rebuilt.callback(click)
    assert MODELS[12] in embeds_text(click.edits[0])


async def test_an_old_menu_works_after_a_restart(engine, client) -> None:
    menu = item(await first_view(client), "sota.dataset")
    cifar = next(o.value for o in menu.item.options if o.label == "CIFAR-10")
    restarted = SotaBotClient(engine, Config())
    match = BoardSelect.__discord_ui_compiled_template__.fullmatch(menu.item.custom_id)
    rebuilt = await BoardSelect.from_custom_id(None, discord.ui.Select(custom_id=menu.item.custom_id,
                                                                       options=list(menu.item.options)), match)
    rebuilt.item._refresh_state(None, {"custom_id": menu.item.custom_id, "component_type": 3, "values": [cifar]})
    click = ClickInteraction(permissions=MEMBER, client=restarted)
    await rebuilt.callback(click)
    assert "Cifar A" in embeds_text(click.edits[0]) and MODELS[0] not in embeds_text(click.edits[0])


def test_the_client_registers_the_dynamic_items_so_old_messages_dispatch(engine) -> None:
    fresh = SotaBotClient(engine, Config())
    registered = fresh._connection._view_store._dynamic_items  # what discord.py matches custom ids against
    assert set(registered.values()) == {BoardButton, BoardSelect}
    assert any(p.fullmatch("sota.more:1.2.3.20") for p in registered)
