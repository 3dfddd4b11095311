"""Paper -> code links: GitHub URLs found in a paper's own text, stored with how they were found.

A repository named in the abstract or the arXiv comment was put there by the authors, so it
counts as official. A paper's first link is news for the tasks it has results on: every
writer here calls `storage.results.paper_got_code` for papers that had no code before, which
writes one `new_paper_with_code` event per task (deduplicated, so a relink writes nothing).

Code often appears days after the announcement, so a paper without code is re-checked (by
the Hugging Face poller or GitHub search) for `code_recheck_days` after it was first seen,
then left alone; `Paper.code_checked_at` spaces those re-checks out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import exists, insert
from sqlmodel import Session, col, select

from sotabot.sources.normalise.repo_urls import normalise_repo_url
from sotabot.storage.db import chunks
from sotabot.storage.models import Paper, PaperRepo, Repo, Result, utcnow
from sotabot.storage.results import paper_got_code

FOUND_BY = frozenset({"abstract", "comment", "huggingface", "pwc", "github_search", "manual"})

# A github.com URL with at least owner/name, not preceded by a host label ("gist.", "user.")
# or an e-mail/path character. Characters that cannot be in an owner or repository name end
# the match, which drops trailing ")", "}", quotes and ".../tree/..." paths for free.
_CANDIDATE = re.compile(
    r"(?<![\w.@/-])(?:https?://)?(?:www\.)?github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+",
    re.IGNORECASE,
)


def find_github_urls(text: str | None) -> list[str]:
    """GitHub repositories mentioned in `text`, as `https://github.com/owner/name`, in order, once."""
    if not text or "github.com" not in text.lower():
        return []
    found: list[str] = []
    for match in _CANDIDATE.finditer(text):
        url = normalise_repo_url(match.group(0))
        if url is not None and url.startswith("https://github.com/") and url not in found:
            found.append(url)
    return found


def _repos_for(session: Session, urls: Sequence[str]) -> dict[str, Repo]:
    """The Repo rows for `urls`, created when missing (one query per 500 that may exist)."""
    repos: dict[str, Repo] = {}
    for chunk in chunks(urls):
        repos.update({r.url: r for r in session.exec(select(Repo).where(col(Repo.url).in_(chunk))).all()})
    missing = [Repo(url=url) for url in urls if url not in repos]
    if missing:
        session.add_all(missing)
        session.flush()
        repos.update({r.url: r for r in missing})
    return repos


def _normalised(urls: Iterable[str]) -> list[str]:
    wanted: list[str] = []
    for raw in urls:
        url = normalise_repo_url(raw)
        if url is not None and url not in wanted:
            wanted.append(url)
    return wanted


def _link_many(session: Session, found: Sequence[tuple[int, str, list[str], bool]]) -> int:
    """Store (paper_id, found_by, normalised urls, official) evidence in a few batched queries.

    The first evidence for a (paper, repo) pair sets its `found_by`; official evidence
    promotes an existing link. Returns the number of new links.
    """
    urls = list(dict.fromkeys(url for _, _, found_urls, _ in found for url in found_urls))
    if not urls:
        return 0
    repos = _repos_for(session, urls)
    wanted: dict[tuple[int, int], tuple[str, bool]] = {}
    for paper_id, found_by, found_urls, official in found:
        for url in found_urls:
            key = (paper_id, repos[url].id or 0)
            if key not in wanted:
                wanted[key] = (found_by, official)
            elif official and not wanted[key][1]:
                wanted[key] = (wanted[key][0], True)
    existing: dict[tuple[int, int], PaperRepo] = {}
    for chunk in chunks(list({paper_id for paper_id, _ in wanted})):
        for link in session.exec(select(PaperRepo).where(col(PaperRepo.paper_id).in_(chunk))).all():
            existing[(link.paper_id, link.repo_id)] = link
    created: list[dict[str, object]] = []
    had_code = {paper_id for paper_id, _ in existing}
    first_code: set[int] = set()
    now = utcnow()
    for (paper_id, repo_id), (found_by, official) in wanted.items():
        link = existing.get((paper_id, repo_id))
        if link is None:
            if paper_id not in had_code:
                first_code.add(paper_id)
            created.append(
                {"paper_id": paper_id, "repo_id": repo_id, "official": official, "found_by": found_by}
                | {"created_at": now}
            )
        elif official and not link.official:
            link.official = True
            session.add(link)
    if created:
        session.exec(insert(PaperRepo), params=created)  # one bulk INSERT, not one per link
    session.flush()
    _announce_code(session, sorted(first_code), now)
    return len(created)


def _announce_code(session: Session, paper_ids: Sequence[int], now: datetime) -> None:
    """`new_paper_with_code` events for papers that just got their first repository.

    Only papers with results can belong to a task, so one query per 500 papers finds them
    first; a fresh arXiv paper (no results yet) costs nothing more.
    """
    with_results: set[int] = set()
    for chunk in chunks(paper_ids):
        found = session.exec(select(Result.paper_id).where(col(Result.paper_id).in_(chunk)).distinct()).all()
        with_results.update(paper_id for paper_id in found if paper_id is not None)
    for paper_id in sorted(with_results):
        paper_got_code(session, paper_id, now=now)


def link_paper(session: Session, paper: Paper, found_by: str, urls: Iterable[str], official: bool) -> int:
    """Link `paper` to the repositories at `urls`; returns how many links are new.

    URLs are normalised here, so callers may pass what they found verbatim; anything that is
    not a repository is ignored. An existing link is kept (its first `found_by` wins) but is
    promoted to official when the new evidence is official.
    """
    if found_by not in FOUND_BY:
        raise ValueError(f"found_by must be one of {sorted(FOUND_BY)}, got {found_by!r}")
    wanted = _normalised(urls)
    if not wanted:
        return 0
    if paper.id is None:
        session.add(paper)
        session.flush()
    return _link_many(session, [(paper.id or 0, found_by, wanted, official)])


def discover_links_for(session: Session, papers: Iterable[Paper]) -> int:
    """Link the repositories named in each paper's abstract (first) and comment; returns new links."""
    found: list[tuple[int, str, list[str], bool]] = []
    for paper in papers:
        from_abstract = find_github_urls(paper.abstract)
        from_comment = [url for url in find_github_urls(paper.comment) if url not in from_abstract]
        if (from_abstract or from_comment) and paper.id is None:
            session.add(paper)
            session.flush()
        if from_abstract:
            found.append((paper.id or 0, "abstract", from_abstract, True))
        if from_comment:
            found.append((paper.id or 0, "comment", from_comment, True))
    return _link_many(session, found) if found else 0


def mentions_code(*texts: str | None) -> bool:
    """Cheap pre-check: could any of these texts name a GitHub repository?"""
    return any(text and "github.com" in text.lower() for text in texts)


def papers_needing_code(
    session: Session,
    now: datetime,
    *,
    recheck_days: int = 5,
    every: timedelta = timedelta(hours=6),
    limit: int | None = None,
) -> list[Paper]:
    """arXiv papers still without code that are young enough to re-check and not checked lately.

    `recheck_days` is `sources.arxiv.code_recheck_days`; callers mark what they checked
    with `mark_code_checked` so the next caller skips it for `every`.
    """
    has_code = exists().where(PaperRepo.paper_id == Paper.id)
    query = (
        select(Paper)
        .where(
            col(Paper.arxiv_id).is_not(None),
            col(Paper.first_seen_at) >= now - timedelta(days=recheck_days),
            ~has_code,
            (col(Paper.code_checked_at).is_(None)) | (col(Paper.code_checked_at) <= now - every),
        )
        .order_by(col(Paper.first_seen_at), col(Paper.id))
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def mark_code_checked(session: Session, papers: Iterable[Paper], now: datetime) -> None:
    """Record that these papers were just looked at for code (found or not)."""
    for paper in papers:
        paper.code_checked_at = now
        session.add(paper)
