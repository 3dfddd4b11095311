"""The `/sota` commands, platform-neutral: text in, a Message out.

Slack, Discord and the terminal all call `handle(engine, config, ctx, text)` with whatever
the user typed after `/sota`; the adapters only ack, render and send. Nothing raises out of
`handle`: bad input gets a short answer with the command's usage line, a failure inside
gets a one-line apology and a log entry. Channel settings are reached only through the
context's (platform, workspace, channel) key, so one workspace can never touch another's.

One module per command (`leaderboard`, `paper`, `trending`, `search`, `subscriptions`,
`digest`, `help`), the parser in `parser`, the dispatcher in `dispatch`.
"""

from sotabot.bot.commands.context import CommandContext, usage
from sotabot.bot.commands.dispatch import handle

__all__ = ["CommandContext", "handle", "usage"]
