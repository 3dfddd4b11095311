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

COMMAND_MODULES = [
    "sotabot.bot.cli.db",
    "sotabot.bot.cli.poll",
    "sotabot.bot.cli.archive",
    "sotabot.bot.cli.data",
    "sotabot.bot.cli.events",
    "sotabot.bot.cli.sota",
    "sotabot.bot.cli.papers",
    "sotabot.bot.cli.digest",
    "sotabot.bot.cli.deliver",
    "sotabot.bot.cli.status",
    "sotabot.bot.cli.doctor",
    "sotabot.bot.cli.run",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sotabot",
        description="State of the art on task X, and where is the code.",
    )
    parser.add_argument("--config", metavar="PATH", help="TOML config (default: $SOTABOT_CONFIG, ./sotabot.toml)")
    parser.add_argument("--debug", action="store_true", help="verbose logs and full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "alembic.runtime.migration", "discord", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, getattr(logging, level)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
        if args.debug:
            raise
        log.debug("unexpected error", exc_info=True)
        print(f"sotabot: error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 1
    return int(result or 0)


