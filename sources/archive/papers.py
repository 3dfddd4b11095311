"""Papers: found by arXiv id (or URL), created minimal when missing, only ever filled in; and the
papers-with-abstracts importer."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from sotabot.sources.archive.clean import utc_now
from sotabot.sources.archive.reader import counted_items
from sotabot.sources.archive.report import ImportReport, ProgressCallback
from sotabot.sources.archive.writer import T_PAPER, ArchiveDb, run_file

PAPER_CACHE_MAX = 200_000  # resolved paper ids kept between chunks (bounded memory)
PAPER_COLS = ("id", "arxiv_id", "url", "version", "title", "abstract", "authors", "categories", "published",
              "first_seen_at")


def _paper_row(
    pid: int,
    arxiv_id: str | None,
    url: str | None,
    title: str,
    now: datetime,
    abstract: str = "",
    authors: list[str] | None = None,
    published: datetime | None = None,
) -> tuple[Any, ...]:
    return (pid, arxiv_id, url, 1, title, abstract, authors or [], [], published, now)


class PaperIds:
    """Resolves paper keys to ids for a chunk, creating or filling papers as needed."""

    def __init__(self, db: ArchiveDb, report: ImportReport) -> None:
        self.db = db
        self.report = report
        self.by_arxiv: dict[str, int] = {}
        self.by_url: dict[str, int] = {}

    def resolve(self, arxiv_titles: dict[str, str], url_titles: dict[str, str]) -> None:
        """Make sure every key has a paper row; ids land in `by_arxiv` / `by_url`."""
        for column, cache, wanted in (
            ("arxiv_id", self.by_arxiv, arxiv_titles),
            ("url", self.by_url, url_titles),
        ):
            if len(cache) > PAPER_CACHE_MAX:
                cache.clear()
            missing = [key for key in wanted if key not in cache]
            if not missing:
                continue
            fills = []
            for key, pid, title in self.db.lookup(T_PAPER, column, missing, "id", "title"):
                cache[key] = pid
                if not title and wanted[key]:
                    fills.append((wanted[key], pid))
            self.db.update(T_PAPER, ("title",), fills)
            now = utc_now()
            new = [key for key in missing if key not in cache]
            rows = []
            for key, pid in zip(new, self.db.take_ids(T_PAPER, len(new)), strict=True):
                cache[key] = pid
                arxiv_id, url = (key, None) if column == "arxiv_id" else (None, key)
                rows.append(_paper_row(pid, arxiv_id, url, wanted[key], now))
            self.db.insert(T_PAPER, PAPER_COLS, rows)
            self.report.add("papers", inserted=len(new), updated=len(fills), seen=len(missing))


_FILLABLE = ("title", "abstract", "authors", "published")


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == "[]"


def _flush_papers(db: ArchiveDb, batch: list[tuple[Any, ...]], report: ImportReport) -> None:
    now = utc_now()
    for position, column in enumerate(("arxiv_id", "url")):
        wanted: dict[str, tuple[Any, ...]] = {}
        for paper in batch:
            key = paper[position]
            if key is None:
                continue
            if key in wanted:
                report.duplicates += 1
            else:
                wanted[key] = paper
        if not wanted:
            continue
        stored = {rec[0]: rec[1:] for rec in db.lookup(T_PAPER, column, list(wanted), "id", *_FILLABLE)}
        inserts, updates = [], []
        ids = iter(db.take_ids(T_PAPER, sum(1 for key in wanted if key not in stored)))
        for key, paper in wanted.items():
            current = stored.get(key)
            if current is None:
                inserts.append(_paper_row(next(ids), paper[0], paper[1], paper[2], now, *paper[3:]))
                continue
            fill = tuple(new if _blank(old) and not _blank(new) else old
                         for old, new in zip(current[1:], paper[2:], strict=True))
            if fill != tuple(current[1:]):  # only gaps are filled: what a richer source wrote stays
                updates.append((*fill, current[0]))
        db.insert(T_PAPER, PAPER_COLS, inserts)
        db.update(T_PAPER, _FILLABLE, updates)
        report.add("papers", inserted=len(inserts), updated=len(updates), seen=len(wanted))


def import_papers(
    engine: Engine,
    source: str | os.PathLike[str],
    config: Any = None,
    progress: ProgressCallback | None = None,
    *,
    parallel: bool | None = None,
) -> ImportReport:
    """Import papers-with-abstracts.json(.gz): papers by arXiv id (or URL), gaps filled, never overwritten.

    `parallel` parses in a second process (default: for files of PARALLEL_MIN_BYTES or more).
    """

    def body(db: ArchiveDb, path: Path, label: str, report: ImportReport) -> None:
        for items in counted_items(db, path, "papers", label, progress, parallel, report):
            with db.chunk():
                _flush_papers(db, items, report)

    return run_file("pwc-papers", engine, source, progress, body)
