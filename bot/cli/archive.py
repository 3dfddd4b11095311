"""`sotabot import pwc-tables|pwc-links|pwc-papers PATH_OR_URL...`: load the Papers with Code archive.

Each file is one transaction: the first bad file stops the command with a one-line error
naming the file and the problem (exit 1), and files imported before it stay imported. A
progress bar on stderr shows bytes read (and downloaded, for URLs) when stderr is a terminal;
one summary line per file goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from sotabot.bot.cli.app import App, UserError
from sotabot.sources.archive.hub import record_import
from sotabot.sources.archive.importer import IMPORTERS
from sotabot.sources.archive.report import ArchiveError, ImportReport
from sotabot.storage.db import make_engine, upgrade

ARCHIVE_HOME = "https://huggingface.co/pwc-archive"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import",
        help="import Papers with Code archive dumps (Parquet, JSON or .json.gz; path or URL)",
        description=(
            "Import the Papers with Code archive dumps: the Parquet shards the Hugging Face Hub "
            f"publishes at {ARCHIVE_HOME} (`sotabot data update` downloads and imports them), or "
            "the old JSON dumps (evaluation-tables.json, links-between-papers-and-code.json, "
            "papers-with-abstracts.json; plain or .gz). Local path or http(s) URL. Each file is one "
            "transaction; importing the same file again changes nothing."
        ),
    )
    p.add_argument("kind", choices=sorted(IMPORTERS), help="which dump the files are")
    p.add_argument("sources", nargs="+", metavar="PATH_OR_URL", help="dump files or URLs")
    p.set_defaults(func=_import)


@contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[int, int | None, str], None]]:
    """A rich progress callback on stderr (silent when stderr is not a terminal)."""
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    task = bar.add_task(label, total=None)
    stage_seen = {"stage": ""}

    def update(done: int, total: int | None, stage: str) -> None:
        if stage != stage_seen["stage"]:
            stage_seen["stage"] = stage
            bar.reset(task, total=total, description=f"{stage} {label}")
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


def _import(args: argparse.Namespace, app: App) -> int:
    importer = IMPORTERS[args.kind]
    # The archive is imported into the schema as it is: the starter leaderboards that a first
    # `sotabot sota` would load are not wanted underneath a real archive.
    database = app.config.database
    engine = make_engine(database.url, echo=database.echo, busy_timeout=database.busy_timeout_seconds)
    upgrade(engine)
    try:
        for source in args.sources:
            with _progress_bar(source.rsplit("/", 1)[-1]) as progress:
                try:
                    report: ImportReport = importer(engine, source, app.config, progress)
                except ArchiveError as exc:
                    undone = " (nothing from this file was stored)" if exc.rolled_back else ""
                    raise UserError(f"import {args.kind}: {exc}{undone}") from None
            if report.changed:  # the leaderboards are no longer the starter set alone (`sotabot run` stops saying so)
                record_import(engine, f"file:{args.kind}", str(source)[-500:])
            print(report.summary())
            sys.stdout.flush()
    finally:
        engine.dispose()
    return 0
