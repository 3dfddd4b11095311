"""`sotabot db upgrade|current`: schema management."""

from __future__ import annotations

import argparse

from sotabot.bot.cli.app import App
from sotabot.storage.db import current_revision, make_engine, upgrade


def register(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_sub.add_parser("upgrade", help="bring the schema up to date")
    up.set_defaults(func=_upgrade)
    cur = db_sub.add_parser("current", help="print the schema revision")
    cur.set_defaults(func=_current)


def _upgrade(args: argparse.Namespace, app: App) -> int:
    engine = make_engine(app.config.database.url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    print(f"schema at {after}" + ("" if before == after else f" (was {before or 'empty'})"))
    return 0


def _current(args: argparse.Namespace, app: App) -> int:
    print(current_revision(make_engine(app.config.database.url)) or "empty")
    return 0
