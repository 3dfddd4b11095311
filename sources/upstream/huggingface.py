"""Hugging Face papers: daily lists, upvotes, the linked GitHub repository and the AI summary.

`/api/daily_papers?date=YYYY-MM-DD` is polled for every day from the cursor (the last day
fully stored, polled again because upvotes and entries keep arriving) to today; papers still
without code are re-checked one by one with `/api/papers/{id}`. Both the 2024 shape (upvotes
inside `paper`, no repository fields) and the 2026 shape (`githubRepo`, `githubStars`,
`ai_summary`, fields repeated at the top level) are read; any field may be missing.

Papers are keyed by arXiv id without version, so a paper Hugging Face lists never becomes a
second row next to the one the arXiv poller stores. `githubRepo` is linked with
found_by="huggingface", official=False (anyone can add it on the Hub). `githubStars` only
seeds `Repo.stars` for a repository GitHub has not been asked about yet; it never makes a
star snapshot, so velocity is measured on GitHub's numbers alone.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sotabot.sources.normalise.links import link_paper, mark_code_checked, papers_needing_code
from sotabot.sources.normalise.repo_urls import normalise_repo_url
from sotabot.sources.normalise.values import parse_timestamp
from sotabot.sources.poll import PollReport, get_state, run_poll
from sotabot.sources.settings import SourcesSettings
from sotabot.sources.upstream.http import Clock, PoliteClient, Politeness, SystemClock, UpstreamError, user_agent
from sotabot.storage.db import session_scope, upsert
from sotabot.storage.models import Paper, Repo

log = logging.getLogger(__name__)

SOURCE = "huggingface"
ANONYMOUS_CALLS_PER_5_MIN = 500
MIN_INTERVAL = 300.0 / ANONYMOUS_CALLS_PER_5_MIN  # 0.6 s: never more than the anonymous budget
DEFAULT_MAX_RECHECKS = 100
FIRST_POLL_DAYS = 1  # without a cursor or --since: yesterday and today

_NEW_ID = re.compile(r"^(\d{4}\.\d{4,5})(?:v(\d+))?$")
_OLD_ID = re.compile(r"^([a-z][a-z-]*(?:\.[A-Za-z]{2})?/\d{7})(?:v(\d+))?$")


@dataclass
class HfPaper:
    """The fields we take from one Hugging Face paper, whatever the response vintage."""

    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    published: datetime | None
    upvotes: int | None
    github_repo: str | None
    github_stars: int | None
    ai_summary: str | None


def split_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """('2411.17700', 2) for '2411.17700v2'; old-style ids too; None if not an arXiv id."""
    text = text.strip()
    match = _NEW_ID.match(text) or _OLD_ID.match(text)
    if match is None:
        return None
    return match.group(1), int(match.group(2)) if match.group(2) else None


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def parse_paper(entry: Any) -> HfPaper | None:
    """A daily-papers entry (`{"paper": {...}, ...}`) or a `/api/papers/{id}` object; None if unusable."""
    if not isinstance(entry, dict):
        return None
    paper = entry.get("paper") if isinstance(entry.get("paper"), dict) else entry
    raw_id = paper.get("id")
    parsed = split_arxiv_id(raw_id) if isinstance(raw_id, str) else None
    if parsed is None:
        return None

    def pick(key: str) -> Any:
        value = paper.get(key)
        return entry.get(key) if value is None else value

    authors = [
        _text(a.get("name")) for a in paper.get("authors") or [] if isinstance(a, dict) and _text(a.get("name"))
    ]
    repo = pick("githubRepo")
    summary = pick("ai_summary")
    return HfPaper(
        arxiv_id=parsed[0],
        title=_text(paper.get("title")) or _text(entry.get("title")),
        abstract=_text(paper.get("summary")) or _text(entry.get("summary")),
        authors=authors,
        published=parse_timestamp(paper.get("publishedAt")),
        upvotes=_count(pick("upvotes")),
        github_repo=repo if isinstance(repo, str) and repo.strip() else None,
        github_stars=_count(pick("githubStars")),
        ai_summary=_text(summary) or None,
    )


def parse_daily(body: Any) -> list[HfPaper]:
    """Every usable entry of a daily-papers answer (a JSON list); ValueError if it is not one."""
    if not isinstance(body, list):
        raise ValueError(f"expected a list of papers, got {type(body).__name__}")
    return [p for p in (parse_paper(e) for e in body) if p is not None]


def store_paper(session: Session, hf: HfPaper, now: datetime, report: PollReport) -> Paper:
    """Create or update the paper (arXiv id is the key), link its repository; counts into `report`."""
    created = session.execute(
        upsert(session, Paper)
        .values(
            arxiv_id=hf.arxiv_id, version=1, title=hf.title, abstract=hf.abstract, authors=hf.authors,
            categories=[], published=hf.published, hf_upvotes=hf.upvotes, hf_summary=hf.ai_summary,
            first_seen_at=now,
        )
        .on_conflict_do_nothing(index_elements=["arxiv_id"])
        .returning(Paper.id)
    ).first() is not None
    paper = session.exec(select(Paper).where(Paper.arxiv_id == hf.arxiv_id)).one()
    if created:
        report.new += 1
    else:
        changed = False
        fill: dict[str, Any] = {"title": hf.title, "abstract": hf.abstract, "authors": hf.authors}
        for key, value in fill.items():
            if value and not getattr(paper, key):
                setattr(paper, key, value)
                changed = True
        if paper.published is None and hf.published is not None:
            paper.published, changed = hf.published, True
        if hf.upvotes is not None and paper.hf_upvotes != hf.upvotes:
            paper.hf_upvotes, changed = hf.upvotes, True
        if hf.ai_summary and paper.hf_summary != hf.ai_summary:
            paper.hf_summary, changed = hf.ai_summary, True
        if changed:
            session.add(paper)
            report.updated += 1
        else:
            report.unchanged += 1
    if hf.github_repo:
        report.linked += link_paper(session, paper, "huggingface", [hf.github_repo], False)
        url = normalise_repo_url(hf.github_repo)
        if url and hf.github_stars is not None:
            repo = session.exec(select(Repo).where(Repo.url == url)).first()
            if repo is not None and repo.stars is None and repo.checked_at is None:
                repo.stars = hf.github_stars
                session.add(repo)
    session.flush()
    return paper


class HuggingFace:
    """The two paper endpoints, paced to the anonymous budget."""

    def __init__(
        self, config: SourcesSettings, *, clock: Clock | None = None, transport: httpx.BaseTransport | None = None
    ) -> None:
        hf = config.sources.huggingface
        headers = {"Authorization": f"Bearer {hf.token.reveal()}"} if hf.token.reveal() else {}
        self.http = PoliteClient(
            hf.api_url,
            politeness=Politeness.from_config(config.sources.http, min_interval=MIN_INTERVAL),
            user_agent=user_agent(config.sources.arxiv.contact),
            headers=headers,
            clock=clock,
            transport=transport,
            name="huggingface",
        )

    @property
    def requests(self) -> int:
        return self.http.requests

    def close(self) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise UpstreamError(f"huggingface: invalid JSON from {response.request.url}") from None

    def daily(self, day: date) -> list[HfPaper]:
        response = self.http.get("daily_papers", params={"date": day.isoformat()})
        if response.status_code != 200:
            raise UpstreamError(f"huggingface: daily_papers {day}: HTTP {response.status_code}",
                                status=response.status_code)
        try:
            return parse_daily(self._json(response))
        except ValueError as exc:
            raise UpstreamError(f"huggingface: daily_papers {day}: {exc}") from None

    def paper(self, arxiv_id: str) -> HfPaper | None:
        """The paper's page data, or None when Hugging Face does not know the paper."""
        response = self.http.get(f"papers/{arxiv_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise UpstreamError(f"huggingface: papers/{arxiv_id}: HTTP {response.status_code}",
                                status=response.status_code)
        return parse_paper(self._json(response))


def _cursor(engine: Engine) -> date | None:
    with Session(engine) as session:
        state = get_state(session, SOURCE)
        session.commit()
        try:
            return date.fromisoformat(state.cursor) if state.cursor else None
        except ValueError:
            return None


def poll_days(engine: Engine, hf: HuggingFace, days: list[date], report: PollReport, now: datetime) -> None:
    """Store each day in its own transaction with the cursor, so a failure resumes at that day."""
    for day in days:
        try:
            papers = hf.daily(day)
        except UpstreamError as exc:
            report.errors.append(str(exc))
            return
        with session_scope(engine) as session:
            for item in papers:
                store_paper(session, item, now, report)
            state = get_state(session, SOURCE)
            if not state.cursor or state.cursor < day.isoformat():
                state.cursor = day.isoformat()
                session.add(state)
        report.add("days")


def recheck_code(
    engine: Engine, hf: HuggingFace, report: PollReport, now: datetime, recheck_days: int, limit: int
) -> None:
    """Ask `/api/papers/{id}` about papers still without code; code often appears days later."""
    with Session(engine) as session:
        ids = [
            p.arxiv_id
            for p in papers_needing_code(session, now, recheck_days=recheck_days, limit=limit)
            if p.arxiv_id
        ]
    checked = 0
    for arxiv_id in ids:
        try:
            found = hf.paper(arxiv_id)
        except UpstreamError as exc:
            report.errors.append(f"recheck {arxiv_id}: {exc}")
            break
        checked += 1
        with session_scope(engine) as session:
            paper = session.exec(select(Paper).where(Paper.arxiv_id == arxiv_id)).first()
            if paper is None:
                continue
            if found is not None and found.arxiv_id == arxiv_id:
                paper = store_paper(session, found, now, report)
            mark_code_checked(session, [paper], now)
    report.add("rechecked", checked)


def poll(
    engine: Engine,
    config: SourcesSettings,
    since: date | None = None,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
    *,
    max_rechecks: int = DEFAULT_MAX_RECHECKS,
) -> PollReport:
    """Daily papers from `since` (else the cursor, else yesterday) to today, then code re-checks."""
    clock = clock or SystemClock()
    now = datetime.fromtimestamp(clock.time(), UTC)
    today = now.date()
    start = since or _cursor(engine) or today - timedelta(days=FIRST_POLL_DAYS)
    start = min(start, today)
    days = [start + timedelta(days=i) for i in range((today - start).days + 1)]
    hf = HuggingFace(config, clock=clock, transport=transport)

    def body(report: PollReport) -> None:
        poll_days(engine, hf, days, report, now)
        if report.ok:
            recheck_code(engine, hf, report, now, config.sources.arxiv.code_recheck_days, max_rechecks)

    return run_poll(engine, SOURCE, body, client=hf, now=lambda: datetime.fromtimestamp(clock.time(), UTC))


__all__ = ["HfPaper", "HuggingFace", "parse_daily", "parse_paper", "poll", "split_arxiv_id", "store_paper"]
