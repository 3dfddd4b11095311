"""A digest is one parent message (date, counts, top 3) with the rest in its thread, links not unfurled.

The real digest builder and delivery loop; the Slack Web API is tests/fakes/slack_api.py and
the Discord REST API a FakeUpstream, each recording what arrived in which call.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from sotabot.bot.delivery import DeliveryLoop, DiscordSender, SlackSender
from sotabot.bot.render.discord import render_discord
from sotabot.bot.render.slack import render_slack
from sotabot.bot.settings import Config
from sotabot.digests.digest import build_digest
from sotabot.digests.message import Item, Message, Section
from sotabot.storage.models import Channel, Paper, PaperRepo, Repo
from sotabot.storage.outbox import enqueue
from tests.bot.platform_limits import discord_problems, slack_problems
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.upstream import FakeUpstream, LoggedRequest, Reply

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
PAPERS = 120


def _digest(engine, papers: int = PAPERS) -> Message:
    with Session(engine) as s:
        for i in range(papers):
            paper = Paper(arxiv_id=f"2701.{i:05d}", title=f"Paper number {i}", authors=["A", "B"],
                          categories=["cs.CV"], primary_category="cs.CV", published=NOW - timedelta(hours=5),
                          first_seen_at=NOW - timedelta(hours=5))
            repo = Repo(url=f"https://github.com/lab/p{i}", stars=1000 - i)
            s.add_all([paper, repo])
            s.flush()
            s.add(PaperRepo(paper_id=paper.id, repo_id=repo.id, official=True, found_by="abstract",
                            created_at=NOW - timedelta(hours=4)))
        s.commit()
        config = Config()
        config.digest.max_new_papers = papers
        msg = build_digest(s, config, categories=["cs.CV"], keywords=[], since=NOW - timedelta(days=1), now=NOW,
                           local_date=date(2027, 1, 4))
    assert msg is not None
    return Message.from_dict(msg.to_dict())


def _queue(engine, platform: str, channel: str, msg: Message) -> None:
    with Session(engine) as s:
        row = Channel(platform=platform, workspace="T1", channel=channel)
        s.add(row)
        s.flush()
        enqueue(s, row.id, "digest:2027-01-04", msg.to_dict(), kind="digest")
        s.commit()


def test_the_parent_is_the_headline_and_everything_else_is_in_the_thread(engine) -> None:
    msg = _digest(engine)
    items = [b for b in msg.blocks if isinstance(b, Item)]
    assert [i.title for i in items] == ["Paper number 0", "Paper number 1", "Paper number 2"]  # the top 3
    headline = " ".join(getattr(b, "text", "") for b in msg.blocks)
    assert "Mon 04 Jan 2027" in headline and f"**{PAPERS}** new papers with code" in headline
    cut = next((i for i, b in enumerate(msg.thread) if isinstance(b, Section) and b.text == "**Trending**"),
               len(msg.thread))
    thread_titles = [b.title for b in msg.thread[:cut] if isinstance(b, Item)]
    assert thread_titles == [f"Paper number {i}" for i in range(3, PAPERS)]  # the new papers after the top 3
    assert any(isinstance(b, Item) for b in msg.thread[cut:])  # then what is trending
    slack = render_slack(msg)
    assert [bool(p.get("thread")) for p in slack].count(False) == 1  # one top-level message, whatever the size
    assert slack_problems([{k: v for k, v in p.items() if k != "thread"} for p in slack]) == []
    discord = render_discord(msg)
    assert [p.thread for p in discord].count(False) == 1
    assert discord_problems(discord) == []


def test_a_small_digest_has_no_thread(engine) -> None:
    msg = _digest(engine, papers=2)
    assert msg.thread == []
    assert all(not p.get("thread") for p in render_slack(msg))


async def test_at_slack_the_rest_arrives_in_the_parents_thread_without_unfurls(engine) -> None:
    _queue(engine, "slack", "C1", _digest(engine))
    with FakeSlackApi() as api:
        config = Config()
        config.delivery.per_channel_interval_seconds = 0
        await DeliveryLoop(engine, config, {"slack": SlackSender("xoxb-t", api.url)}).drain_once()
    parent, *replies = api.posts
    assert parent.thread_ts is None and "Paper number 0" in json.dumps(parent.blocks)
    assert replies and all(r.thread_ts == parent.ts for r in replies)
    assert "Paper number 119" in json.dumps([r.blocks for r in replies])
    assert all(p.unfurl_links is False and p.unfurl_media is False for p in api.posts)


async def test_alerts_are_not_unfurled_either(engine) -> None:
    _queue(engine, "slack", "C1", Message(text="New result", blocks=[Section("[paper](https://arxiv.org/abs/1)")],
                                          kind="alert"))
    with FakeSlackApi() as api:
        config = Config()
        await DeliveryLoop(engine, config, {"slack": SlackSender("xoxb-t", api.url)}).drain_once()
    (post,) = api.posts
    assert (post.thread_ts, post.unfurl_links, post.unfurl_media) == (None, False, False)


async def test_at_discord_the_rest_goes_into_a_thread_started_on_the_parent(engine) -> None:
    _queue(engine, "discord", "42", _digest(engine))
    with FakeUpstream() as api:
        api.route("/api/channels/42/messages", Reply.json({"id": "9001"}), "POST")
        api.route("/api/channels/42/messages/9001/threads", Reply.json({"id": "7007"}), "POST")
        api.route("/api/channels/7007/messages", Reply.json({"id": "9002"}), "POST")
        config = Config()
        config.delivery.per_channel_interval_seconds = 0
        await DeliveryLoop(engine, config, {"discord": DiscordSender("t", api.url + "/api")}).drain_once()
        in_channel = api.requests_to("/api/channels/42/messages")
        thread = api.requests_to("/api/channels/7007/messages")
        (start,) = api.requests_to("/api/channels/42/messages/9001/threads")
    assert len([r for r in in_channel if r.path == "/api/channels/42/messages"]) == 1
    assert json.loads(start.body)["name"].startswith("sotabot digest")
    assert thread and "Paper number 119" in " ".join(r.body.decode() for r in thread)
    assert all(json.loads(r.body)["allowed_mentions"] == {"parse": []} for r in [*in_channel, *thread]
               if r.path.endswith("/messages"))


async def test_at_discord_without_thread_permission_the_rest_follows_in_the_channel(engine) -> None:
    _queue(engine, "discord", "42", _digest(engine, papers=8))
    posted: list[LoggedRequest] = []

    def post(req: LoggedRequest) -> Reply:
        posted.append(req)
        return Reply.json({"id": f"90{len(posted)}"})

    with FakeUpstream() as api:
        api.route("/api/channels/42/messages", post, "POST")
        api.route("/api/channels/42/messages/901/threads",
                  Reply.json({"code": 50013, "message": "Missing Permissions"}, status=403), "POST")
        await DeliveryLoop(engine, Config(), {"discord": DiscordSender("t", api.url + "/api")}).drain_once()
    assert len(posted) >= 2 and "Paper number 7" in posted[-1].body.decode()
    with Session(engine) as s:
        from sqlmodel import select

        assert s.exec(select(Channel)).one().active is True  # no thread is not "cannot post here"
