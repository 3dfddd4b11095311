"""What every `sotabot` subcommand receives: the config, a database made ready on first use, and UserError."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sotabot.bot.settings import Config

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class App:
    """What a command needs: the config and, on first use, a ready database."""

    def __init__(self, config: Config, *, prepare: bool = True) -> None:
        self.config = config
        self.prepare = prepare

    @cached_property
    def engine(self) -> Engine:
        from sotabot.storage.db import make_engine, upgrade

        database = self.config.database
        engine = make_engine(database.url, echo=database.echo, busy_timeout=database.busy_timeout_seconds)
        if self.prepare:
            upgrade(engine)
            self.on_ready(engine)
        return engine

    def on_ready(self, engine: Engine) -> None:
        """An import a crash cut off undone, then first-use data (the starter leaderboards)."""
        from sotabot.storage.imports import recover_if_idle

        recover_if_idle(engine)
        with engine.connect() as conn:  # the usual case, without importing every archive importer
            if conn.exec_driver_sql("SELECT 1 FROM tasks LIMIT 1").first() is not None:
                return
        from sotabot.sources.archive.starter import ensure_starter_data

        ensure_starter_data(engine, self.config)
