"""Channels and subscriptions: keyed by (platform, workspace, channel), idempotent, isolated."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from sotabot.storage import channels as store
from sotabot.storage.db import session_scope
from sotabot.storage.models import Channel, Subscription


def test_get_or_create_creates_one_row_per_key_and_keeps_it(engine: Engine) -> None:
    with session_scope(engine) as s:
        first = store.get_or_create_channel(s, "slack", "T1", "C1", "general", timezone="Europe/Berlin")
        again = store.get_or_create_channel(s, "slack", "T1", "C1")
        assert first.id == again.id
        assert (again.name, again.timezone, again.digest_time, again.digest_enabled) == (
            "general", "Europe/Berlin", "09:00", False,
        )
        assert again.categories == [] and again.keywords == []
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Channel)).one() == 1


def test_a_new_channel_name_is_remembered(engine: Engine) -> None:
    with session_scope(engine) as s:
        store.get_or_create_channel(s, "discord", "G1", "42", "old")
        assert store.get_or_create_channel(s, "discord", "G1", "42", "renamed").name == "renamed"


def test_same_channel_id_in_two_workspaces_or_platforms_are_different_channels(engine: Engine) -> None:
    with session_scope(engine) as s:
        a = store.get_or_create_channel(s, "slack", "T-A", "C1")
        b = store.get_or_create_channel(s, "slack", "T-B", "C1")
        c = store.get_or_create_channel(s, "discord", "T-A", "C1")
        assert len({a.id, b.id, c.id}) == 3


def test_find_channel_never_creates(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert store.find_channel(s, "slack", "T1", "C404") is None
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Channel)).one() == 0


def test_subscribe_is_idempotent_and_unsubscribe_reports_what_it_removed(engine: Engine) -> None:
    with session_scope(engine) as s:
        ch = store.get_or_create_channel(s, "slack", "T1", "C1")
        assert store.subscribe(s, ch, "task", "object-detection") is True
        assert store.subscribe(s, ch, "task", "object-detection") is False
        assert store.subscribe(s, ch, "category", "cs.CV") is True
        assert [(x.kind, x.target) for x in store.list_subscriptions(s, ch)] == [
            ("category", "cs.CV"), ("task", "object-detection"),
        ]
        assert store.unsubscribe(s, ch, "task", "object-detection") is True
        assert store.unsubscribe(s, ch, "task", "object-detection") is False
        assert store.unsubscribe_all(s, ch) == 1
        assert store.list_subscriptions(s, ch) == []


def test_workspace_b_can_neither_see_nor_remove_the_subscriptions_of_workspace_a(engine: Engine) -> None:
    with session_scope(engine) as s:
        a = store.get_or_create_channel(s, "discord", "guild-A", "123")
        store.subscribe(s, a, "task", "semantic-segmentation")
        store.set_digest(s, a, enabled=True, time="07:00", timezone="Asia/Tokyo", categories=["cs.CV"])
    with session_scope(engine) as s:
        b = store.get_or_create_channel(s, "discord", "guild-B", "123")
        assert store.list_subscriptions(s, b) == []
        assert store.unsubscribe(s, b, "task", "semantic-segmentation") is False
        assert store.unsubscribe_all(s, b) == 0
        store.set_digest(s, b, enabled=False, time="18:00")
        assert (b.digest_enabled, b.timezone, b.categories) == (False, "UTC", [])
    with session_scope(engine) as s:
        a = store.find_channel(s, "discord", "guild-A", "123")
        assert a is not None
        assert [x.target for x in store.list_subscriptions(s, a)] == ["semantic-segmentation"]
        assert (a.digest_enabled, a.digest_time, a.timezone, a.categories) == (True, "07:00", "Asia/Tokyo", ["cs.CV"])


def test_set_digest_changes_only_what_is_given(engine: Engine) -> None:
    with session_scope(engine) as s:
        ch = store.get_or_create_channel(s, "terminal", "local", "local")
        store.set_digest(s, ch, keywords=["diffusion", "diffusion", "graph"])
        store.set_digest(s, ch, time="23:30")
    with session_scope(engine) as s:
        ch = store.find_channel(s, "terminal", "local", "local")
        assert ch is not None
        assert (ch.keywords, ch.digest_time, ch.timezone, ch.digest_enabled) == (
            ["diffusion", "graph"], "23:30", "UTC", False,
        )


@pytest.mark.parametrize("kwargs", [{"time": "24:00"}, {"time": "9:00"}, {"time": "ab:cd"}, {"timezone": "Mars/Base"}])
def test_set_digest_refuses_bad_times_and_zones(engine: Engine, kwargs: dict) -> None:
    with session_scope(engine) as s:
        ch = store.get_or_create_channel(s, "slack", "T1", "C1")
        with pytest.raises((ValueError, KeyError)):
            store.set_digest(s, ch, **kwargs)


def test_bad_keys_and_targets_are_refused(engine: Engine) -> None:
    with session_scope(engine) as s:
        with pytest.raises(ValueError):
            store.get_or_create_channel(s, "irc", "x", "y")
        with pytest.raises(ValueError):
            store.get_or_create_channel(s, "slack", "", "C1")
        ch = store.get_or_create_channel(s, "slack", "T1", "C1")
        for kind, target in (("person", "x"), ("task", " "), ("keyword", "k" * 301)):
            with pytest.raises(ValueError):
                store.subscribe(s, ch, kind, target)


def test_deleting_a_channel_deletes_its_subscriptions(engine: Engine) -> None:
    with session_scope(engine) as s:
        ch = store.get_or_create_channel(s, "slack", "T1", "C1")
        store.subscribe(s, ch, "keyword", "diffusion")
    with session_scope(engine) as s:
        s.delete(store.find_channel(s, "slack", "T1", "C1"))
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Subscription)).one() == 0
