"""`sotabot data update [--papers]`: download the Papers with Code archive from the Hugging Face Hub and import it.

A repository whose Hub commit was already imported is skipped without a download. Errors are one
line naming the repository (exit 1) and leave the database as it was. Progress bars on a terminal,
plain log lines otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from sotabot.bot.cli.app import App, UserError
from sotabot.bot.cli.archive import _progress_bar
from sotabot.sources.archive.hub import ArchiveUpdateError, update_archive
from sotabot.sources.archive.report import ProgressCallback
from sotabot.storage.db import make_engine, upgrade


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="the Papers with Code archive from the Hugging Face Hub")
    verbs = p.add_subparsers(dest="data_command", metavar="VERB")
    update = verbs.add_parser(
        "update",
        help="download and import the archive (evaluation tables and links; --papers adds abstracts)",
        description=(
            "Download the Papers with Code archive datasets ([sources.archive]: pwc-archive/evaluation-tables "
            "and pwc-archive/links-between-paper-and-code) from the Hugging Face Hub as Parquet and import "
            "every shard. HF_ENDPOINT selects a mirror, HF_HOME the download cache. A repository whose "
            "Hub revision was already imported is skipped without downloading."
        ),
    )
    update.add_argument("--papers", action="store_true", help="also pwc-archive/papers-with-abstracts (~580 MB)")
    update.set_defaults(func=_update)
    p.set_defaults(func=lambda args, app: (p.print_help(), 2)[1])


@contextmanager
def _bars() -> Iterator[Callable[[str], ProgressCallback | None]]:
    """One rich bar per shard, the previous one closed first (rich shows one live display at a time)."""
    current = [ExitStack()]

    def for_shard(label: str) -> ProgressCallback | None:
        current[0].close()
        current[0] = ExitStack()
        return current[0].enter_context(_progress_bar(label.rsplit("/", 1)[-1]))

    try:
        yield for_shard
    finally:
        current[0].close()


def _update(args: argparse.Namespace, app: App) -> int:
    engine = make_engine(app.config.database.url, echo=app.config.database.echo)
    upgrade(engine)
    try:
        with _bars() as progress:
            try:
                updates = update_archive(
                    engine, app.config, papers=args.papers, progress=progress, download_bars=sys.stderr.isatty()
                )
            except ArchiveUpdateError as exc:
                raise UserError(f"data update: {exc}") from None
        for update in updates:
            print(update.summary())
        sys.stdout.flush()
    finally:
        engine.dispose()
    return 0
