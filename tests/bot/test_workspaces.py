"""Slack's two spellings of one team, as the bot tells storage: the same team's channel, never another's."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from sotabot.bot.workspaces import same_workspace
from sotabot.storage import channels as store


def test_a_team_in_or_out_of_a_grid_finds_its_channel_and_never_another_teams(engine: Engine) -> None:
    with Session(engine) as s:
        mine = store.get_or_create_channel(s, "slack", "T1", "C1")
        other = store.get_or_create_channel(s, "slack", "E9:T2", "C1")  # another team, same channel id
        s.commit()
        for key in ("E1:T1", "T1"):
            assert store.find_channel(s, "slack", key, "C1", same_workspace("slack", key)).id == mine.id
        assert store.find_channel(s, "slack", "E1:T1", "C1") is None  # storage alone knows one spelling
        assert store.find_channel(s, "slack", "T2", "C1", same_workspace("slack", "T2")).id == other.id
        assert store.find_channel(s, "slack", "T3", "C1", same_workspace("slack", "T3")) is None
        assert [c.id for c in store.workspace_channels(s, "slack", "T1", same_workspace("slack", "T1"))] == [mine.id]


def test_discord_guilds_have_one_spelling() -> None:
    assert same_workspace("discord", "111") is None and same_workspace("slack", "") is None
