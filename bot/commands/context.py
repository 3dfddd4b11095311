"""Who asked and where, each command's usage line, and the small text helpers every reply uses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sotabot.bot.commands.parser import USAGE
from sotabot.bot.render.inline import escape
from sotabot.digests.message import Message

ECHO_CHARS = 60  # how much of the user's own text an answer repeats


@dataclass(frozen=True)
class CommandContext:
    """Who asked, where: the channel key plus what the platform says the user may do."""

    platform: str  # "slack" | "discord" | "terminal"
    workspace: str  # Slack "E…:T…" or "T…"; Discord guild id; "local" for terminal
    channel: str
    user: str = ""
    can_manage: bool = True  # Manage Channels (Discord) / allowed to change channel settings
    channel_name: str | None = None
    can_post: bool | None = None  # whether the bot can post here, where the platform says; None: not known


DISCORD_USAGE: dict[str, str] = {
    "sota": "/sota task:TASK [dataset:DATASET] [metric:METRIC] [private:True]",
    "paper": "/paper paper:ARXIV_ID|URL",
    "trending": "/trending [category:CATEGORY]",
    "search": "/search query:QUERY",
    "subscribe": '/subscribe target:TASK | category:cs.CV | keyword:"..."',
    "unsubscribe": '/unsubscribe target:TASK | category:cs.CV | keyword:"..." | all',
    "subscriptions": "/subscriptions",
    "digest": "/digest action:on|off|at|categories|keywords|preview [value:...]",
    "help": "/help [command:COMMAND]",
}


DESCRIPTIONS: dict[str, str] = {
    "sota": "the leaderboard of a task, with papers and code",
    "paper": "a paper by arXiv id or URL, with its code and results",
    "trending": "papers with code gaining stars and upvotes",
    "search": "tasks and papers by name",
    "subscribe": "alert this channel on new results for a task, category or keyword",
    "unsubscribe": "stop an alert",
    "subscriptions": "what this channel follows, and its digest",
    "digest": "this channel's daily digest of new papers with code",
    "help": "this list",
}


EXAMPLES: dict[str, list[str]] = {
    "sota": ["object detection", "image classification on ImageNet", "question answering on SQuAD by F1",
             "object detection private"],
    "paper": ["paper 1706.03762", "paper https://arxiv.org/abs/2010.11929"],
    "trending": ["trending", "trending cs.CV"],
    "search": ["search segmentation", "search diffusion"],
    "subscribe": ["subscribe semantic segmentation", "subscribe category:cs.CL", 'subscribe keyword:"state space"'],
    "unsubscribe": ["unsubscribe semantic segmentation", "unsubscribe all"],
    "subscriptions": ["subscriptions"],
    "digest": ["digest on", "digest at 09:00 Europe/Berlin", "digest categories cs.CV cs.LG", "digest preview"],
    "help": ["help", "help digest"],
}


def usage(command: str, platform: str = "slack") -> str:
    table = DISCORD_USAGE if platform == "discord" else USAGE
    return table.get(command, table["help"])


def shown(text: str, limit: int = ECHO_CHARS) -> str:
    """The user's text, cut short and made literal, for echoing in a reply."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape(text)


def code(text: str) -> str:
    return "`" + text.replace("`", "ˋ") + "`"


def error(ctx: CommandContext, text: str, command: str | None) -> Message:
    return Message.error(text, usage(command, ctx.platform) if command else None)


def cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def repo_label(url: str) -> str:
    m = re.match(r"^https?://(?:www\.)?github\.com/([^/\s]+/[^/\s#?]+)", url)
    return m.group(1).removesuffix(".git") if m else "code"


def fmt_value(value: float | None, raw: str) -> str:
    if raw and raw.strip():
        return raw.strip()
    if value is None:
        return "—"
    return f"{value:g}"


ARXIV_ABS = "https://arxiv.org/abs/"
