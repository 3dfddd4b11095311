"""What a click on a leaderboard control does, platform-neutral: state in the value, never in memory."""

from __future__ import annotations

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.commands.actions import (
    CHART,
    DATASET,
    MAX_ROWS,
    METRIC,
    MORE,
    SHARE,
    SUBSCRIBE,
    BoardState,
    handle_action,
)
from sotabot.bot.settings import Config
from sotabot.digests.message import Actions, Context, Image, Message, Table
from sotabot.sources.archive.hub import record_import
from tests.bot.interactive_boards import MODELS, seed_interactive

CTX = CommandContext(platform="slack", workspace="T1", channel="C1", user="U1")


def controls_of(msg: Message) -> dict[str, object]:
    (actions,) = [b for b in msg.blocks if isinstance(b, Actions)]
    return {c.action: c for c in actions.controls}


def rows_of(msg: Message) -> list[str]:
    (table,) = [b for b in msg.blocks if isinstance(b, Table)]
    return [r[1] for r in table.rows]


def test_a_leaderboard_answer_carries_controls_whose_values_are_the_whole_state(engine) -> None:
    task_id = seed_interactive(engine)
    msg = handle(engine, Config(), CTX, "image classification", charts=False)
    controls = controls_of(msg)
    assert set(controls) == {"sota.dataset", "sota.metric", MORE, CHART, SUBSCRIBE}  # Share only on private answers
    more = BoardState.decode(controls[MORE].value)
    assert more is not None and (more.task_id, more.rows) == (task_id, 20)
    every_value = [c.value for c in controls.values() if c.value] + [v for c in controls.values() for _, v in c.options]
    assert all(len(v) <= 100 for v in every_value)  # fits a Discord custom id and a Slack option value


def test_more_rows_pages_and_stops_at_the_cap(engine) -> None:
    seed_interactive(engine)
    first = handle(engine, Config(), CTX, "image classification", charts=False)
    reply = handle_action(engine, Config(), CTX, MORE, controls_of(first)[MORE].value)
    assert reply.mode == "replace" and rows_of(reply.message) == MODELS
    assert MORE not in controls_of(reply.message)  # every row is shown: no more to page
    assert BoardState.decode("1.1.0.999").rows == MAX_ROWS


def test_share_posts_the_same_board_to_the_channel(engine) -> None:
    seed_interactive(engine)
    first = handle(engine, Config(), CTX, "image classification", charts=False)
    reply = handle_action(engine, Config(), CTX, SHARE, controls_of(first)[SUBSCRIBE].value)
    assert reply.mode == "post" and reply.message.ephemeral is False
    assert rows_of(reply.message) == rows_of(first)


def test_the_chart_button_adds_the_chart_or_says_why_not(engine) -> None:
    seed_interactive(engine)
    first = handle(engine, Config(), CTX, "image classification", charts=False)
    assert not [b for b in first.blocks if isinstance(b, Image)]
    reply = handle_action(engine, Config(), CTX, CHART, controls_of(first)[CHART].value)
    assert reply.mode == "replace"
    images = [b for b in reply.message.blocks if isinstance(b, Image)]
    said = " ".join(getattr(b, "text", "") for b in reply.message.blocks)
    assert images or "No chart" in said


def test_stale_and_forged_values_get_a_private_answer(engine) -> None:
    seed_interactive(engine)
    for action, value in ((MORE, "77.77.0.10"), (MORE, "1; drop"), ("sota.nope", "1.1.0.10"), (SUBSCRIBE, "")):
        reply = handle_action(engine, Config(), CTX, action, value)
        assert reply.mode == "private" and reply.message.kind == "error", (action, value)


def footer_of(msg: Message) -> str:
    """The last line of text under the board (above its controls): the provenance footer."""
    return [b.text for b in msg.blocks if isinstance(b, Context)][-1]


def test_every_click_answers_with_the_same_provenance_footer_as_the_command(engine) -> None:
    seed_interactive(engine)
    record_import(engine, "pwc-archive/evaluation-tables", "abc123")
    first = handle(engine, Config(), CTX, "image classification", charts=False)
    footer = footer_of(first)
    assert footer.startswith("Papers with Code archive (CC BY-SA 4.0), imported ")
    controls = controls_of(first)
    clicks = [(MORE, controls[MORE].value), (CHART, controls[CHART].value), (SHARE, controls[SUBSCRIBE].value),
              (DATASET, controls[DATASET].options[1][1]), (METRIC, controls[METRIC].options[1][1])]
    for action, value in clicks:
        reply = handle_action(engine, Config(), CTX, action, value, charts=False)
        assert reply.message.kind != "error", action
        assert footer_of(reply.message) == footer, action


def test_subscribe_this_channel_is_checked_like_the_subscribe_command(engine) -> None:
    """Where the platform says the bot cannot post, the button answers as `/sota subscribe` does: invite it."""
    from dataclasses import replace

    from sotabot.bot.commands.lifecycle import invite_hint

    seed_interactive(engine)
    value = controls_of(handle(engine, Config(), CTX, "image classification", charts=False))[SUBSCRIBE].value
    command = handle(engine, Config(), replace(CTX, channel="C2", can_post=False), "subscribe image classification")
    assert invite_hint("slack") in [b.text for b in command.blocks if isinstance(b, Context)]
    for platform in ("slack", "discord"):
        cannot = replace(CTX, platform=platform, channel="C3", can_post=False)
        reply = handle_action(engine, Config(), cannot, SUBSCRIBE, value)
        assert reply.mode == "private" and "now follows" in reply.message.text, platform
        assert invite_hint(platform) in [b.text for b in reply.message.blocks if isinstance(b, Context)], platform
    able = handle_action(engine, Config(), replace(CTX, channel="C4", can_post=True), SUBSCRIBE, value)
    assert not any("can't post" in getattr(b, "text", "") for b in able.message.blocks)


def test_a_private_answer_can_be_shared_and_its_clicks_stay_private(engine) -> None:
    """`/sota TASK private`: only the asker sees it, with "Share to channel"; paging keeps it private;
    sharing posts the same board, footer and all, to the channel, with no Share button of its own."""
    seed_interactive(engine)
    private = handle(engine, Config(), CTX, "image classification private", charts=False)
    assert private.ephemeral is True and SHARE in controls_of(private)
    paged = handle_action(engine, Config(), CTX, MORE, controls_of(private)[MORE].value)
    assert paged.mode == "replace" and rows_of(paged.message) == MODELS
    assert SHARE in controls_of(paged.message)  # still the asker's own answer
    for name in (DATASET, METRIC):
        switched = handle_action(engine, Config(), CTX, name, controls_of(private)[name].options[1][1])
        assert SHARE in controls_of(switched.message), name
    shared = handle_action(engine, Config(), CTX, SHARE, controls_of(paged.message)[SHARE].value)
    assert shared.mode == "post" and shared.message.ephemeral is False
    assert rows_of(shared.message) == MODELS and footer_of(shared.message) == footer_of(private)
    assert SHARE not in controls_of(shared.message)
    assert BoardState.decode(controls_of(shared.message)[MORE].value if MORE in controls_of(shared.message)
                             else controls_of(shared.message)[SUBSCRIBE].value).private is False
