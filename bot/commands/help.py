"""`/sota help [COMMAND]`: every command with its usage, or one command with examples."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from sotabot.bot.commands.context import DESCRIPTIONS, EXAMPLES, CommandContext, code, usage
from sotabot.bot.commands.parser import USAGE, ParsedCommand, parse
from sotabot.bot.settings import Config
from sotabot.digests.message import Context, Header, Message, Section


def help_command(engine: Engine, config: Config, ctx: CommandContext, cmd: ParsedCommand, charts: bool) -> Message:
    topic = cmd.tokens[0].text.lower().lstrip("/") if cmd.tokens else ""
    parsed = parse(topic) if topic else None
    if isinstance(parsed, ParsedCommand) and not parsed.implicit and parsed.name != "help":
        name = parsed.name
        lines = [f"{code(usage(name, ctx.platform))}: {DESCRIPTIONS[name]}."]
        if ctx.platform != "discord":
            lines.append("Examples: " + ", ".join(code("/sota " + e) for e in EXAMPLES[name]))
        return Message(text=f"{name}: {usage(name, ctx.platform)}", blocks=[Section("\n".join(lines))], ephemeral=True)
    lines = [f"{code(usage(name, ctx.platform))}: {DESCRIPTIONS[name]}" for name in USAGE]
    return Message(
        text="sotabot: state of the art on a task, and where the code is.",
        blocks=[
            Header("sotabot commands"),
            Section("\n".join(lines)),
            Context("Task names may be loose (“obj det”, “semseg”); quote names that contain *on* or *by*: "
                    "`/sota \"learning on graphs\"`."),
        ],
        ephemeral=True,
    )
