"""Command examples in each platform's own syntax: `/sota digest on` on Slack, `/digest action:on` on Discord.

Handlers write every hint once, in Slack's one-command form (`/sota SUBCOMMAND ...` inside a
code span). Discord has one slash command per subcommand with named options, so before a
Discord answer leaves `handle`, `for_discord` rewrites each such code span. User text never
matches: it reaches a reply escaped, and an escaped backtick opens no code span.
"""

from __future__ import annotations

import re

from sotabot.digests.message import Context, Fields, Header, Item, Message, Section

# subcommand -> (Discord command, option names for the words that follow, in order)
_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "paper": ("/paper", ("paper",)),
    "trending": ("/trending", ("category",)),
    "search": ("/search", ("query",)),
    "subscribe": ("/subscribe", ("target",)),
    "unsubscribe": ("/unsubscribe", ("target",)),
    "subscriptions": ("/subscriptions", ()),
    "digest": ("/digest", ("action", "value")),
    "help": ("/help", ("command",)),
}
_SPAN = re.compile(r"(?<!\\)`(/sota(?:\s[^`\n]*)?)`")
_ON_BY = re.compile(r"\s+(on|by)\s+", re.IGNORECASE)
_QUOTED = re.compile(r'^(["“«\'])(.+?)["”»\']\s*(.*)$')


def discord_command(slack_form: str) -> str:
    """`/sota digest at 09:00 Europe/Berlin` -> `/digest action:at value:09:00 Europe/Berlin`."""
    words = slack_form.split()[1:]
    if not words or ":" in words[0]:
        return slack_form  # bare, or already Discord's form (`/sota task:TASK`)
    name, rest = words[0].lower(), words[1:]
    if name in _OPTIONS:
        command, options = _OPTIONS[name]
        if not options or not rest:
            return command
        first, tail = rest[0], " ".join(rest[1:])
        if len(options) == 1:
            return f"{command} {options[0]}:{' '.join(rest)}"
        return f"{command} {options[0]}:{first}" + (f" {options[1]}:{tail}" if tail else "")
    # a leaderboard: TASK [on DATASET] [by METRIC]; a quoted task may contain "on" or "by"
    joined = " ".join(words)
    quoted = _QUOTED.match(joined)
    task, tail = (quoted.group(2), quoted.group(3)) if quoted else ("", joined)
    parts = [p.strip() for p in _ON_BY.split(" " + tail)] if tail else [""]
    if quoted:
        parts[0] = task + (" " + parts[0] if parts[0] else "")
    out = f"/sota task:{parts[0]}"
    for i in range(1, len(parts) - 1, 2):
        out += f" {'dataset' if parts[i].lower() == 'on' else 'metric'}:{parts[i + 1]}"
    return out


def rewrite(text: str) -> str:
    return _SPAN.sub(lambda m: f"`{discord_command(m.group(1))}`", text) if "/sota" in text else text


def for_discord(msg: Message) -> Message:
    """The same message with every `/sota ...` example in Discord's syntax (in place, returned)."""
    msg.text = rewrite(msg.text)
    for block in msg.blocks:
        if isinstance(block, (Section, Context, Header)):
            block.text = rewrite(block.text)
        elif isinstance(block, Fields):
            block.pairs = [(rewrite(k), rewrite(v)) for k, v in block.pairs]
        elif isinstance(block, Item):
            block.note = rewrite(block.note)
    return msg
