"""The command table: `sotabot --help` lists every command without importing one; a command imports only its own."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

import pytest

from sotabot.bot.cli import COMMAND_MODULES, COMMANDS, build_parser


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_the_table_names_exactly_what_each_module_registers(module: str) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    importlib.import_module(module).register(sub)
    registered = {action.dest: action.help for action in sub._choices_actions}
    assert registered == {name: help_text for name, (owner, help_text) in COMMANDS.items() if owner == module}


def test_the_lazy_parser_parses_a_command_like_the_full_one() -> None:
    argv = ["--config", "sota", "sota", "image classification", "--json"]
    lazy = vars(build_parser(argv).parse_args(argv))
    full = vars(build_parser().parse_args(argv))
    assert lazy == full and lazy["command"] == "sota"


def _modules_after(args: list[str]) -> set[str]:
    code = (
        "import json, sys\n"
        "from sotabot.bot.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stderr.strip().splitlines()[-1]))


def test_help_imports_no_command_and_no_database_library() -> None:
    loaded = _modules_after(["--help"])
    assert not loaded & set(COMMAND_MODULES)
    assert not {"sqlalchemy", "sqlmodel", "alembic", "rich", "discord", "slack_bolt"} & loaded


def test_a_command_imports_its_own_module_only() -> None:
    loaded = _modules_after(["sota", "--help"])
    assert "sotabot.bot.cli.sota" in loaded
    assert not loaded & (set(COMMAND_MODULES) - {"sotabot.bot.cli.sota"})
    assert not {"discord", "slack_bolt", "apscheduler", "alembic", "matplotlib"} & loaded
