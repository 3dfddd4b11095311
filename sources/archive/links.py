"""Links between papers and code: repositories and paper<->repo links (found_by "pwc")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from sotabot.sources.archive.clean import utc_now
from sotabot.sources.archive.papers import PaperIds
from sotabot.sources.archive.reader import counted_items
from sotabot.sources.archive.report import ImportReport, ProgressCallback
from sotabot.sources.archive.writer import T_LINK, T_REPO, ArchiveDb, run_file

LINK_COLS = ("paper_id", "repo_id", "official", "found_by", "framework", "created_at")


def _flush_links(db: ArchiveDb, papers: PaperIds, batch: list[tuple[Any, ...]], report: ImportReport) -> None:
    """batch: (arxiv_id, paper_url, title, repo_url, official, framework) tuples."""
    arxiv_titles: dict[str, str] = {}
    url_titles: dict[str, str] = {}
    for arxiv_id, paper_url, title, *_ in batch:
        if arxiv_id:
            if not arxiv_titles.get(arxiv_id):
                arxiv_titles[arxiv_id] = title
        elif not url_titles.get(paper_url):
            url_titles[paper_url] = title
    papers.resolve(arxiv_titles, url_titles)

    urls = sorted({link[3] for link in batch})
    repo_ids: dict[str, int] = {url: rid for url, rid in db.lookup(T_REPO, "url", urls, "id")}
    new_urls = [url for url in urls if url not in repo_ids]
    repo_rows = []
    for url, rid in zip(new_urls, db.take_ids(T_REPO, len(new_urls)), strict=True):
        repo_ids[url] = rid
        repo_rows.append((rid, url, False, False))
    db.insert(T_REPO, ("id", "url", "archived", "deleted"), repo_rows)
    report.add("repos", inserted=len(new_urls), seen=len(urls))

    wanted: dict[tuple[int, int], tuple[bool, str | None]] = {}
    for arxiv_id, paper_url, _, repo, official, framework in batch:
        pid = papers.by_arxiv[arxiv_id] if arxiv_id else papers.by_url[paper_url]
        pair = (pid, repo_ids[repo])
        if pair in wanted:
            report.duplicates += 1
            before = wanted[pair]
            wanted[pair] = (before[0] or official, before[1] or framework)
        else:
            wanted[pair] = (official, framework)
    stored: dict[tuple[int, int], tuple[int, bool, str | None]] = {}
    for pid, rid, lid, official, framework in db.lookup(
        T_LINK, "paper_id", sorted({pid for pid, _ in wanted}), "repo_id", "id", "official", "framework"
    ):
        stored[(pid, rid)] = (lid, bool(official), framework)
    now = utc_now()
    inserts, updates = [], []
    for (pid, rid), (official, framework) in wanted.items():
        current = stored.get((pid, rid))
        if current is None:
            inserts.append((pid, rid, official, "pwc", framework, now))
            continue
        merged = (current[1] or official, current[2] or framework)  # a dump never takes "official" back
        if merged != current[1:]:
            updates.append((*merged, current[0]))
    db.insert(T_LINK, LINK_COLS, inserts)
    db.update(T_LINK, ("official", "framework"), updates)
    report.add("links", inserted=len(inserts), updated=len(updates), seen=len(wanted))


def import_links(
    engine: Engine,
    source: str | os.PathLike[str],
    config: Any = None,
    progress: ProgressCallback | None = None,
    *,
    parallel: bool | None = None,
) -> ImportReport:
    """Import links-between-papers-and-code.json(.gz): repos and paper<->repo links (found_by "pwc").

    `parallel` parses in a second process (default: for files of PARALLEL_MIN_BYTES or more).
    """

    def body(db: ArchiveDb, path: Path, label: str, report: ImportReport) -> None:
        papers = PaperIds(db, report)
        for items in counted_items(db, path, "links", label, progress, parallel, report):
            with db.chunk():
                _flush_links(db, papers, items, report)

    return run_file("pwc-links", engine, source, progress, body)
