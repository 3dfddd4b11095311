"""Every kind of message, with titles full of markup characters, renders native links and literal titles.

Each message comes from the real builder (digest, trending, leaderboard, paper, alert, an
error with its usage line) and is rendered for Slack, Discord and the terminal. Slack
payloads are parsed and validated by slack_sdk's own Block Kit models; Discord payloads are
measured against the documented limits on the real discord.Embed objects.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from rich.console import Console
from slack_sdk.models.blocks import Block
from sqlmodel import Session, select

from sotabot.bot.commands import CommandContext, handle
from sotabot.bot.commands.leaderboard import leaderboard_message
from sotabot.bot.commands.paper import paper_message
from sotabot.bot.commands.trending import trending_message
from sotabot.bot.render.discord import MARKDOWN, render_discord
from sotabot.bot.render.slack import render_slack
from sotabot.bot.render.terminal import render_terminal
from sotabot.bot.settings import Config
from sotabot.digests.alerts import build_alerts
from sotabot.digests.digest import build_digest
from sotabot.digests.message import Item, Link, Message, md_link
from sotabot.digests.trending import TrendingPaper
from sotabot.storage.leaderboards import Leaderboard, LeaderboardRow
from sotabot.storage.models import Channel, Delivery, Paper, PaperRepo, Repo, ResultEvent, Subscription
from tests.bot.platform_limits import discord_problems, slack_problems, slack_texts

NASTY = "Seg*ment _Any_ ~thing~ \\ `v2` [draft] <b> & | x"
URL = "https://arxiv.org/abs/2611.00001"
REPO = "https://github.com/lab/seg-any"
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


# Slack mrkdwn has no escapes: &<> become entities, `|` (ends a link label) and markers at a
# word's edge become look-alikes, a `*` inside a bold link too; a `*` inside a word stays.
SLACK_TITLE = "Seg*ment ˍAnyˍ ∼thing∼ \\ ˋv2ˋ [draft] &lt;b&gt; &amp; ¦ x"
SLACK_BOLD_TITLE = SLACK_TITLE.replace("*", "∗")
# Discord: every Markdown character backslash-escaped
DISCORD_TITLE = "Seg\\*ment \\_Any\\_ \\~thing\\~ \\\\ \\`v2\\` \\[draft\\] <b\\> & \\| x"


def _slack_texts(payloads: list[dict]) -> str:
    return "\n".join(slack_texts(payloads))


def _discord_texts(payloads) -> str:
    out = []
    for p in payloads:
        out.append(p.content or "")
        for e in p.embeds:
            out += [e.title or "", e.description or "", e.footer.text or ""]
            out += [f"{f.name}\n{f.value}" for f in e.fields]
    return "\n".join(out)


def _terminal(msg: Message) -> str:
    buf = io.StringIO()
    render_terminal(msg, Console(file=buf, width=400, color_system=None))
    return buf.getvalue()


def _check_slack(msg: Message) -> str:
    payloads = render_slack(msg)
    assert slack_problems(payloads) == []
    for p in payloads:
        for raw in p.get("blocks", []):
            Block.parse(raw).validate_json()  # slack_sdk's own model of the block: raises when invalid
    return _slack_texts(payloads)


def _check_discord(msg: Message) -> str:
    payloads = render_discord(msg)
    assert discord_problems(payloads) == []
    return _discord_texts(payloads)


def _digest(engine) -> Message:
    with Session(engine) as s:
        paper = Paper(arxiv_id="2611.00001", title=NASTY, authors=["A*uthor <one>", "B"], categories=["cs.CV"],
                      primary_category="cs.CV", published=NOW - timedelta(hours=10),
                      first_seen_at=NOW - timedelta(hours=10))
        repo = Repo(url=REPO, stars=12)
        s.add_all([paper, repo])
        s.flush()
        s.add(PaperRepo(paper_id=paper.id, repo_id=repo.id, official=True, found_by="abstract",
                        created_at=NOW - timedelta(hours=9)))
        s.commit()
        msg = build_digest(s, Config(), categories=["cs.CV"], keywords=[], since=NOW - timedelta(days=1), now=NOW,
                           local_date=date(2026, 11, 29))
    assert msg is not None
    return Message.from_dict(msg.to_dict())  # as the outbox stores and the delivery loop reads it


def _alert(engine) -> Message:
    with Session(engine) as s:
        channel = Channel(platform="slack", workspace="T1", channel="C1")
        paper = Paper(arxiv_id="2611.00001", title=NASTY, categories=["cs.CV"], primary_category="cs.CV")
        s.add_all([channel, paper])
        s.flush()
        s.add(Subscription(channel_id=channel.id, kind="category", target="cs.CV"))
        s.add(ResultEvent(kind="new_paper_with_code", dedupe_key="pwc:2611.00001", paper_id=paper.id,
                          payload={"repo_url": REPO}))
        s.commit()
    build_alerts(engine, NOW)
    with Session(engine) as s:
        return Message.from_dict(s.exec(select(Delivery)).one().payload)


def _leaderboard() -> Message:
    row = LeaderboardRow(rank=1, model=NASTY, value=66.0, raw="66.0", paper_title=NASTY, paper_url=URL,
                         code_url=REPO, date=date(2026, 11, 1), extra_data=False, verified=True, source="pwc_archive")
    board = Leaderboard(task_id=1, task_slug="seg", task_name=NASTY, benchmark_id=1, dataset=NASTY, metric="AP",
                        metric_id=1, higher_is_better=True, rows=[row], other_benchmarks=[])
    return leaderboard_message(board)


def _trending() -> Message:
    item = TrendingPaper(arxiv_id="2611.00001", title=NASTY, categories=["cs.CV"], published=NOW, repo_url=REPO,
                         stars=900, star_velocity=30.0, hf_upvotes=4, score=1.0)
    return trending_message([item], "cs.CV")


def _paper() -> Message:
    paper = Paper(arxiv_id="2611.00001", title=NASTY, authors=[NASTY], abstract=NASTY, categories=["cs.CV"])
    repo = Repo(url=REPO, stars=3)
    return paper_message(paper, [(repo, PaperRepo(paper_id=0, repo_id=0, official=True, found_by="abstract"))], [])


def _error(engine) -> Message:
    ctx = CommandContext(platform="slack", workspace="T1", channel="C1")
    return handle(engine, Config(), ctx, "sota " + NASTY)


# builder, whether the title is a (bold?) link, and whether the title appears at all as words
BUILDERS = {
    "digest": (_digest, "strong"),
    "alert": (_alert, "link"),
    "leaderboard": (lambda engine: _leaderboard(), "link"),
    "trending": (lambda engine: _trending(), "strong"),
    "paper": (lambda engine: _paper(), None),
    "error": (_error, None),
}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_every_message_type_renders_native_links_and_literal_titles(kind, sqlite_engine) -> None:
    build, link = BUILDERS[kind]
    msg = build(sqlite_engine)

    slack = _check_slack(msg)
    assert "](" not in slack and "**" not in slack  # never the neutral Markdown itself
    discord = _check_discord(msg)
    terminal = _terminal(msg)
    assert "](" not in terminal and "\\*" not in terminal

    if link is not None:
        strong = link == "strong"
        assert (f"*<{URL}|{SLACK_BOLD_TITLE}>*" if strong else f"<{URL}|{SLACK_TITLE}>") in slack
        assert MARKDOWN.text(NASTY) == DISCORD_TITLE
        assert (f"**[{DISCORD_TITLE}]({URL})**" if strong else f"[{DISCORD_TITLE}]({URL})") in discord
        assert f"{NASTY} ({URL})" in terminal  # "text (url)" after the OSC-8 hyperlinked words
    else:
        # no link to the title: the title is still there character for character (less what the
        # error echo cuts), literal on Discord and in the terminal
        assert DISCORD_TITLE[:40] in discord
        assert NASTY[:40] in terminal
        assert SLACK_TITLE[:40] in slack.replace("∗", "*")


def test_a_digest_item_keeps_its_links_as_data_through_the_outbox() -> None:
    item = Item(title=NASTY, url=URL, byline="Someone et al.", links=[Link("lab/seg-any", REPO)], note=" ★12")
    again = Message.from_dict(Message("x", [item], kind="digest").to_dict()).blocks[0]
    assert again == item
    assert isinstance(again, Item) and again.links[0].url == REPO


def test_old_outbox_payloads_with_bold_markdown_links_render_as_links() -> None:
    """Digests queued before links were data carry `**[title](url)**`: they still render as bold links."""
    stored = {"text": "digest", "kind": "digest", "blocks": [
        {"type": "section", "text": "**[Segment Anything 2](https://arxiv.org/abs/2410.00001)** — A et al."}]}
    msg = Message.from_dict(stored)
    slack = _check_slack(msg)
    assert "*<https://arxiv.org/abs/2410.00001|Segment Anything 2>* — A et al." in slack
    discord = _check_discord(msg)
    assert "**[Segment Anything 2](https://arxiv.org/abs/2410.00001)**" in discord
    assert "\\[" not in discord


def test_a_url_with_spaces_or_parentheses_stays_one_link() -> None:
    md = md_link("Wiki (page)", "https://en.wikipedia.org/wiki/A_(b) c")
    rendered = _slack_texts(render_slack(Message("x", [Item(title="Wiki (page)", url="https://e.org/a_(b) c")])))
    assert re.fullmatch(r"\*<https://e\.org/a_%28b%29%20c\|Wiki \(page\)>\*", rendered)
    assert md == "[Wiki \\(page\\)](https://en.wikipedia.org/wiki/A_%28b%29%20c)"
