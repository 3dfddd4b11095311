"""The `sotabot` command: one entry point, subcommands registered by feature modules.

Each module in COMMAND_MODULES exposes `register(subparsers)` and sets `func(args, app)`
on its parsers. Errors reach the user as one line (exit 1; a bad config exits 2), never a
traceback unless `--debug`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from sotabot.bot.cli.app import App, UserError
from sotabot.bot.settings import load_config
from sotabot.storage.config import ConfigError

log = logging.getLogger("sotabot")

# Every subcommand: the module whose register(subparsers) defines it, and its one-line help.
# `sotabot --help` lists them from here without importing any of them, and a command imports
# only its own module (tests/bot/cli/test_registry.py checks this table against register()).
COMMANDS: dict[str, tuple[str, str]] = {
    "db": ("sotabot.bot.cli.db", "database schema"),
    "poll": ("sotabot.bot.cli.poll", "run one poll of an upstream source now"),
    "import": (
        "sotabot.bot.cli.archive",
        "import Papers with Code archive dumps (Parquet, JSON or .json.gz; path or URL)",
    ),
    "data": ("sotabot.bot.cli.data", "the Papers with Code archive from the Hugging Face Hub"),
    "events": ("sotabot.bot.cli.events", "list recent result events (new results, new SOTA, papers with code)"),
    "sota": ("sotabot.bot.cli.sota", "the leaderboard of a task (state of the art, papers, code)"),
    "tasks": ("sotabot.bot.cli.sota", "search tasks by name (fuzzy); without QUERY the most popular"),
    "trending": ("sotabot.bot.cli.papers", "papers gaining stars and upvotes"),
    "paper": ("sotabot.bot.cli.papers", "one paper with its code links"),
    "digest": ("sotabot.bot.cli.digest", "daily digests"),
    "deliver": ("sotabot.bot.cli.deliver", "send queued deliveries"),
    "channels": ("sotabot.bot.cli.status", "list channels with their settings"),
    "status": ("sotabot.bot.cli.status", "sources, outbox depth, next digests"),
    "doctor": ("sotabot.bot.cli.doctor", "check config, database, tokens and upstream reachability"),
    "run": (
        "sotabot.bot.cli.run",
        "run the bot: Slack, Discord, HTTP server and background jobs (terminal chat without tokens)",
    ),
    "discord": ("sotabot.bot.cli.run", "Discord set-up helpers"),
}
COMMAND_MODULES = list(dict.fromkeys(module for module, _ in COMMANDS.values()))


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names (skipping the global options), or None."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token == "--config":
            skip = True
        elif not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv`, only the named command's module is imported (the rest are listed)."""
    parser = argparse.ArgumentParser(
        prog="sotabot",
        description="State of the art on task X, and where is the code.",
    )
    parser.add_argument("--config", metavar="PATH", help="TOML config (default: $SOTABOT_CONFIG, ./sotabot.toml)")
    parser.add_argument("--debug", action="store_true", help="verbose logs and full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = None if argv is None else _command_in(argv)
    full = set(COMMAND_MODULES) if argv is None else {COMMANDS[wanted][0]} if wanted else set()
    registered: set[str] = set()
    for name, (module, help_text) in COMMANDS.items():
        if module in full:
            if module not in registered:
                registered.add(module)
                importlib.import_module(module).register(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "alembic", "discord", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, getattr(logging, level)))


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"sotabot: {exc}", file=sys.stderr)
        return 2
    setup_logging("DEBUG" if args.debug else config.log.level)
    app = App(config)
    try:
        result = args.func(args, app)
    except UserError as exc:
        print(f"sotabot: {exc}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:
        print(f"sotabot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from sotabot.storage.db import NewerDatabase, disk_full_message  # a command ran: sqlalchemy is loaded

        if isinstance(exc, NewerDatabase):
            print(f"sotabot: {exc}", file=sys.stderr)
            return 1
        if args.debug:
            raise
        full = disk_full_message(exc, config.database.url)
        if full is not None:
            print(f"sotabot: {full}", file=sys.stderr)
            return 1
        log.debug("unexpected error", exc_info=True)
        print(f"sotabot: error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 1
    return int(result or 0)


