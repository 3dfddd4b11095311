"""Archive records (links, papers) turned into plain row tuples: what the reader hands the writers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.sqlite import dialect as _sqlite_dialect

from sotabot.sources.archive.clean import clean_line, clean_prose, clean_url, iso_date, truthy
from sotabot.sources.normalise.repo_urls import normalise_repo_url
from sotabot.sources.normalise.values import arxiv_id_from_url, normalise_arxiv_id
from sotabot.storage.models import ARXIV_ID_CHARS, FRAMEWORK_CHARS, REPO_URL_CHARS, Paper


def link_record(record: Any) -> tuple[Any, ...] | None:
    if not isinstance(record, dict):
        return None
    repo = normalise_repo_url(record.get("repo_url"))
    arxiv_id = normalise_arxiv_id(record.get("paper_arxiv_id")) or arxiv_id_from_url(record.get("paper_url_abs"))
    paper_url = None if arxiv_id else (clean_url(record.get("paper_url_abs")) or clean_url(record.get("paper_url")))
    paper_url = paper_url or None
    if repo is None or not (arxiv_id or paper_url):
        return None
    framework = clean_line(record.get("framework"), FRAMEWORK_CHARS)
    return (
        arxiv_id,
        paper_url,
        clean_line(record.get("paper_title"), 2000),
        repo[:REPO_URL_CHARS],
        truthy(record.get("is_official")),
        None if framework.lower() in ("", "none", "null") else framework,
    )


def paper_record(record: Any) -> tuple[Any, ...] | None:
    """(arxiv_id, url, title, abstract, authors, published) of a papers-with-abstracts record."""
    if not isinstance(record, dict):
        return None
    arxiv_id = normalise_arxiv_id(record.get("arxiv_id")) or arxiv_id_from_url(record.get("url_abs"))
    url = None if arxiv_id else (clean_url(record.get("url_abs")) or clean_url(record.get("paper_url")) or None)
    if not (arxiv_id or url):
        return None
    authors = record.get("authors")
    if not isinstance(authors, list):
        authors = []
    day = iso_date(record.get("date"))
    return (
        arxiv_id[:ARXIV_ID_CHARS] if arxiv_id else None,
        url,
        clean_line(record.get("title"), 5000),
        clean_prose(record.get("abstract"), 100_000),
        [a.strip() for a in authors if isinstance(a, str) and a and not a.isspace()],
        datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None,
    )


_PUBLISHED = Paper.__table__.c.published  # type: ignore[attr-defined]
SQLITE_DATETIME = _PUBLISHED.type.dialect_impl(_sqlite_dialect()).bind_processor(_sqlite_dialect())


def sqlite_ready_paper(record: Any) -> tuple[Any, ...] | None:
    """A paper with authors and date already in SQLite's stored form (done in the reader process)."""
    paper = paper_record(record)
    if paper is None:
        return None
    authors, published = paper[4], paper[5]
    return (
        *paper[:4],
        json.dumps(authors) if authors else [],
        SQLITE_DATETIME(published) if published is not None and SQLITE_DATETIME else published,
    )


NORMALISERS: dict[str, Callable[[Any], Any]] = {"links": link_record, "papers": paper_record}


def normalised_batches(
    records: Iterable[Any], normalise: Callable[[Any], Any], size: int
) -> Iterator[tuple[list[Any], int, int]]:
    """(normalised items, records read, records skipped), `size` items at a time: what every reader yields."""
    items: list[Any] = []
    rows = skipped = 0
    for record in records:
        rows += 1
        item = normalise(record)
        if item is None:
            skipped += 1
            continue
        items.append(item)
        if len(items) >= size:
            yield items, rows, skipped
            items, rows, skipped = [], 0, 0
    yield items, rows, skipped
