"""Hypothesis fuzzing: whatever is typed after `/sota`, an answer comes back and renders.

Unicode of every category (lone surrogates included), 10 kB strings, quotes, SQL-looking
text, control characters and chat markup: `handle` returns a Message without reaching its
catch-all, and every reply renders within Slack's and Discord's limits.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.console import Console
from sqlalchemy.engine import Engine

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.commands.parser import ParsedCommand, ParseError, parse, parse_digest, parse_sota, parse_target
from sotabot.bot.render.discord import MARKDOWN, render_discord
from sotabot.bot.render.inline import split, truncate
from sotabot.bot.render.slack import MRKDWN, render_slack
from sotabot.bot.render.terminal import render_terminal
from sotabot.bot.settings import Config
from sotabot.digests.message import Context, Divider, Fields, Header, Image, Message, Section, Table
from sotabot.sources.archive.tables import import_tables
from tests.bot.platform_limits import discord_problems, slack_problems
from tests.fixture_data import FixtureFiles

FUZZ = settings(
    max_examples=200, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
CONFIG = Config()

any_char = st.characters(exclude_categories=())  # every category, lone surrogates too
nasty = st.sampled_from([
    "'; DROP TABLE channels; --", "\" OR 1=1 --", "%", "_", "%_%", "\\", "\\\\'", "\x00", "\x1b[31m", "\r\n",
    "\u202e", "\u200b", "\ufeff", "<!channel>", "<@U123>", "@everyone", "**", "__", "`", "```", "[a](https://x.y)",
    "[a](javascript:alert(1))", "\"", "'", "“", "”", "«", "»", "on", "by", "category:", "keyword:\"", "all", ":", "|",
    "cs.CV", "09:00", "Europe/Berlin", "1706.03762", "https://arxiv.org/abs/1711.03953v2", "💥", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ä",
])
words = st.lists(st.one_of(nasty, st.text(any_char, max_size=12)), max_size=12).map(" ".join)
huge = st.builds(lambda piece, n: (piece * n)[:10_240], st.text(any_char, min_size=1, max_size=8), st.just(10_240))
prefixes = st.sampled_from([
    "", "sota ", "paper ", "trending ", "search ", "subscribe ", "unsubscribe ", "subscriptions ", "digest ",
    "digest at ", "digest timezone ", "digest categories ", "digest keywords ", "help ", 'subscribe keyword:"',
    "subscribe category:", "language modelling on ", "language modelling on PTB by ", "subscibe ", "dgiest ",
])
command_text = st.one_of(
    st.builds(lambda p, t: p + t, prefixes, words),
    st.builds(lambda p, t: p + t, prefixes, st.text(any_char, max_size=300)),
    st.builds(lambda p, t: p + t, prefixes, huge),
)
contexts = st.builds(
    CommandContext,
    platform=st.sampled_from(["slack", "discord", "terminal"]),
    workspace=st.sampled_from(["T1", "E1:T2", "123456789012345678", "local"]),
    channel=st.sampled_from(["C1", "987", "local"]),
    user=st.just("u"),
    can_manage=st.booleans(),
    channel_name=st.one_of(st.none(), st.text(any_char, max_size=300)),
)


@pytest.fixture
def db(engine: Engine, fixture_files: FixtureFiles) -> Engine:
    import_tables(engine, fixture_files.pwc_tables / "redditsota.json")
    return engine


@FUZZ
@given(text=command_text, ctx=contexts)
# found by this test on PostgreSQL: a channel name the platform sent with a NUL (text fields cannot hold one)
@example(text="digest keywords robots", ctx=CommandContext("slack", "T1", "C1", user="u", channel_name="\x00"))
def test_no_command_text_escapes_handle_and_every_reply_renders_within_limits(
    db: Engine, text: str, ctx: CommandContext
) -> None:
    msg = handle(db, CONFIG, ctx, text, charts=False)
    assert isinstance(msg, Message)
    assert "went wrong" not in msg.text, f"internal error for {text[:200]!r}"
    if msg.kind == "error":  # a short answer with the usage line
        assert any(isinstance(b, Context) and b.text.startswith("Usage: `/") for b in msg.blocks), msg
        assert len(msg.text) < 1000
    assert slack_problems(render_slack(msg)) == []
    assert discord_problems(render_discord(msg)) == []
    render_terminal(msg, Console(file=io.StringIO(), width=80))


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(any_char, max_size=500), command_text))
def test_parsing_never_raises(text: str) -> None:
    parsed = parse(text)
    assert isinstance(parsed, ParsedCommand | ParseError)
    if isinstance(parsed, ParsedCommand):
        parse_sota(parsed.tokens)
        parse_target(parsed.tokens, "subscribe")
        parse_digest(parsed.tokens)


inline = st.lists(
    st.one_of(
        st.text(any_char, max_size=80),
        st.builds(lambda t, u: f"[{t}](https://example.org/{u})", st.text(max_size=30), st.text(max_size=40)),
        st.builds(lambda t: f"**{t}**", st.text(max_size=30)),
        st.builds(lambda t: f"`{t}`", st.text(max_size=30)),
        nasty,
        st.just("\n"),
    ),
    max_size=40,
).map("".join)
long_inline = st.one_of(inline, inline, st.builds(lambda t, n: (t * n)[:5_000], inline, st.integers(1, 100)))
blocks = st.lists(
    st.one_of(
        st.builds(Header, long_inline),
        st.builds(Section, long_inline),
        st.builds(Context, long_inline),
        st.builds(Divider),
        st.builds(Fields, st.lists(st.tuples(inline, st.one_of(inline, long_inline)), max_size=30)),
        st.builds(
            Table,
            st.lists(inline, max_size=6),
            st.lists(st.lists(inline, max_size=7), max_size=40),
            st.lists(st.sampled_from(["l", "r"]), max_size=6),
        ),
        st.builds(Image, inline, st.one_of(st.none(), st.just("/tmp/chart.png")),
                  st.one_of(st.none(), st.just("https://example.org/c.png"), st.text(max_size=30))),
    ),
    max_size=55,
)


@settings(FUZZ, max_examples=100)  # big messages: fewer, each one heavier
@given(text=long_inline, body=blocks, kind=st.sampled_from(["reply", "error", "digest", "alert"]))
def test_any_message_renders_within_both_platforms_limits(text: str, body: list, kind: str) -> None:
    msg = Message(text=text, blocks=body, kind=kind)
    assert slack_problems(render_slack(msg)) == []
    assert discord_problems(render_discord(msg)) == []
    render_terminal(msg, Console(file=io.StringIO(), width=80))


@settings(max_examples=200, deadline=None)
@given(md=long_inline, limit=st.integers(1, 5000))
def test_truncate_and_split_respect_the_limit_and_never_break_a_slack_link(md: str, limit: int) -> None:
    for flavour in (MRKDWN, MARKDOWN):
        assert len(truncate(md, limit, flavour)) <= limit
    limit = max(limit, 12)  # a rendered character is at most 5 long ("&amp;")
    for chunk in split(md, limit, MRKDWN):
        assert len(chunk) <= limit
        assert chunk.count("<") == chunk.count(">")  # raw brackets only come from whole links
    for chunk in split(md, limit, MARKDOWN):
        assert len(chunk) <= limit
