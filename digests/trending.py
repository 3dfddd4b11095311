"""Trending papers: which recent papers are gaining attention, from stars, upvotes and age.

The score of a paper::

    score = (W_STARS * log1p(star_velocity) + W_UPVOTES * log1p(hf_upvotes))
            * 0.5 ** (age_days / HALF_LIFE_DAYS)

- `star_velocity` is stars gained per day by the paper's fastest linked repository (deleted
  repositories do not count), measured on `StarSnapshot` rows over the last `VELOCITY_DAYS`:
  the baseline is the last snapshot at or before the window start (looking back at most
  another `VELOCITY_DAYS`), else the first snapshot inside the window; the gain to the newest
  snapshot is divided by the time between them, floored at one day so that a gain seen over
  an hour is not multiplied by 24. Stars lost count as zero gain.
- With a single snapshot (or none, when only `Repo.stars` is known, e.g. from Hugging Face)
  there is no gain to measure, so the conservative estimate is the star count spread over the
  paper's age but over at least `FALLBACK_MIN_DAYS` (30) days: a new repository is
  under-rated until its second refresh rather than an old famous one over-rated. While the
  snapshots span less than a day, the larger of the measured gain and that estimate is used.
- `hf_upvotes` are the Hugging Face upvotes of the paper (0 when unknown).
- `age_days` counts from the paper's publication (its first sighting when unpublished); the
  half-life is `HALF_LIFE_DAYS` (3), so a week-old paper needs about five times the signal of
  a new one. log1p keeps one viral repository from drowning everything else.

Candidates are papers published in the last `days` days (optionally in one arXiv category,
primary or cross-listed) with at least a repository or an upvote. Four indexed reads, each
one query per 500 candidates: the candidates, their links, their repositories, and the
snapshots aggregated per repository. `TrendingPool` ranks every candidate once so the digest
job filters one list per tick instead of querying per channel and category.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from sotabot.storage.db import chunks
from sotabot.storage.models import Paper, PaperRepo, Repo, StarSnapshot, as_utc

W_STARS = 1.0
W_UPVOTES = 1.0
HALF_LIFE_DAYS = 3.0
VELOCITY_DAYS = 3.0
MIN_SPAN_DAYS = 1.0
FALLBACK_MIN_DAYS = 30.0
DAY = 86400.0


@dataclass
class TrendingPaper:
    arxiv_id: str | None
    title: str
    categories: list[str]
    published: datetime | None
    repo_url: str | None
    stars: int | None
    star_velocity: float
    hf_upvotes: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else None
        return data


@dataclass
class _Velocity:
    n: int
    t0: datetime
    s0: int
    t1: datetime
    s1: int


def score(star_velocity: float, upvotes: int, age_days: float) -> float:
    """The documented formula, on its own so digests and tests can reason about it."""
    signal = W_STARS * math.log1p(max(0.0, star_velocity)) + W_UPVOTES * math.log1p(max(0, upvotes))
    return signal * 0.5 ** (max(0.0, age_days) / HALF_LIFE_DAYS)


def fallback_velocity(stars: int | None, age_days: float) -> float:
    """Stars per day when there is no gain to measure: the count spread over at least 30 days."""
    return (stars or 0) / max(age_days, FALLBACK_MIN_DAYS)


def star_velocity(snap: _Velocity | None, stars: int | None, age_days: float) -> float:
    estimate = fallback_velocity(snap.s1 if snap else stars, age_days)
    if snap is None or snap.n < 2 or snap.t1 <= snap.t0:
        return estimate
    span = (snap.t1 - snap.t0).total_seconds() / DAY
    measured = max(0, snap.s1 - snap.s0) / max(span, MIN_SPAN_DAYS)
    return measured if span >= MIN_SPAN_DAYS else max(measured, estimate)


def _in_window(column: Any, start: datetime, now: datetime) -> Any:
    return and_(column >= start, column <= now)


def _candidate_filter(category: str | None, start: datetime, now: datetime) -> list[Any]:
    """Published in [start, now], or unpublished and first seen then: coalesce(published, first_seen_at)
    spelt as an OR of two indexed ranges, so no planner has to scan papers to evaluate it."""
    conditions: list[Any] = [
        or_(
            _in_window(Paper.published, start, now),
            and_(Paper.published.is_(None), _in_window(Paper.first_seen_at, start, now)),  # type: ignore[union-attr]
        )
    ]
    if category:
        needle = category.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(
            or_(
                func.lower(Paper.primary_category) == category.strip().lower(),
                func.lower(cast(Paper.categories, String)).like(f'%"{needle}"%', escape="\\"),
            )
        )
    return conditions


def _snapshots(session: Session, repo_ids: list[int], now: datetime, velocity_days: float) -> dict[int, _Velocity]:
    """Per candidate repository: baseline and newest snapshot, one aggregate query per IN_CHUNK repositories."""
    out: dict[int, _Velocity] = {}
    for chunk in chunks(repo_ids):
        out.update(_snapshot_chunk(session, chunk, now, velocity_days))
    return out


def _snapshot_chunk(session: Session, repo_ids: list[int], now: datetime, velocity_days: float) -> dict[int, _Velocity]:
    window_start = now - timedelta(days=velocity_days)
    lookback = window_start - timedelta(days=velocity_days)
    agg = (
        select(
            StarSnapshot.repo_id.label("repo_id"),
            func.max(case((StarSnapshot.taken_at <= window_start, StarSnapshot.taken_at))).label("before_t"),
            func.min(StarSnapshot.taken_at).label("first_t"),
            func.max(StarSnapshot.taken_at).label("last_t"),
            func.count().label("n"),
        )
        .where(
            StarSnapshot.repo_id.in_(repo_ids),
            StarSnapshot.taken_at >= lookback,
            StarSnapshot.taken_at <= now,
        )
        .group_by(StarSnapshot.repo_id)
        .subquery()
    )
    s0 = aliased(StarSnapshot)
    s1 = aliased(StarSnapshot)
    base_t = func.coalesce(agg.c.before_t, agg.c.first_t)
    stmt = (
        select(agg.c.repo_id, agg.c.n, s0.taken_at, s0.stars, s1.taken_at, s1.stars)
        .join(s0, and_(s0.repo_id == agg.c.repo_id, s0.taken_at == base_t))
        .join(s1, and_(s1.repo_id == agg.c.repo_id, s1.taken_at == agg.c.last_t))
    )
    out: dict[int, _Velocity] = {}
    for repo_id, n, t0, stars0, t1, stars1 in session.execute(stmt):
        out[repo_id] = _Velocity(n=n, t0=as_utc(t0), s0=stars0, t1=as_utc(t1), s1=stars1)  # type: ignore[arg-type]
    return out


def trending(
    session: Session,
    category: str | None = None,
    days: int = 7,
    limit: int = 10,
    now: datetime | None = None,
    *,
    velocity_days: float = VELOCITY_DAYS,
) -> list[TrendingPaper]:
    """The `limit` best-scoring papers published in the last `days` days (see the module doc)."""
    if days <= 0 or limit <= 0:
        raise ValueError("days and limit must be positive")
    now = as_utc(now) if now is not None else datetime.now(UTC)
    assert now is not None
    return [paper for paper, _ in _ranked(session, category, days, now, velocity_days)[:limit]]


class TrendingPool:
    """Every trending candidate of one instant, scored and ranked once; `top` filters it by category.

    `top(category, limit)` equals `trending(session, category, days, limit, now)`: the digest
    job reads the candidates once per tick instead of once per channel and category.
    """

    def __init__(self, session: Session, days: int, now: datetime, *, velocity_days: float = VELOCITY_DAYS) -> None:
        if days <= 0:
            raise ValueError("days must be positive")
        now = as_utc(now)  # type: ignore[assignment]
        self._ranked = _ranked(session, None, days, now, velocity_days)

    def top(self, category: str | None, limit: int) -> list[TrendingPaper]:
        if limit <= 0:
            raise ValueError("limit must be positive")
        wanted = category.strip().lower() if category else None
        out: list[TrendingPaper] = []
        for paper, categories in self._ranked:
            if wanted is None or wanted in categories:
                out.append(paper)
                if len(out) == limit:
                    break
        return out


def _ranked(
    session: Session, category: str | None, days: int, now: datetime, velocity_days: float
) -> list[tuple[TrendingPaper, frozenset[str]]]:
    """Every candidate with a positive score, best first, with its lowercased categories (primary too)."""
    conditions = _candidate_filter(category, now - timedelta(days=days), now)
    # Three steps, each with one sensible plan whatever the statistics: the candidate papers
    # (`ix_papers_published`, `ix_papers_first_seen_at`), their links and repositories by
    # paper id, the snapshots by repository id. (One join let PostgreSQL hash a scan of paper_repos.)
    papers = session.execute(
        select(
            Paper.id, Paper.arxiv_id, Paper.title, Paper.categories, Paper.published, Paper.first_seen_at,
            Paper.hf_upvotes, Paper.primary_category,
        ).where(*conditions)
    ).all()
    links: dict[int, list[int]] = {}
    for chunk in chunks(sorted(p.id for p in papers)):
        for paper_id, repo_id in session.execute(
            select(PaperRepo.paper_id, PaperRepo.repo_id).where(PaperRepo.paper_id.in_(chunk))
        ):
            links.setdefault(paper_id, []).append(repo_id)
    live: dict[int, tuple[int, str, int | None]] = {}  # deleted repositories do not count
    for chunk in chunks(sorted({repo_id for repo_ids in links.values() for repo_id in repo_ids})):
        for repo_id, url, stars in session.execute(
            select(Repo.id, Repo.url, Repo.stars).where(Repo.id.in_(chunk), Repo.deleted == False)  # noqa: E712
        ):
            live[repo_id] = (repo_id, url, stars)
    none = (None, None, None)
    links_of = {pid: [live.get(repo_id, none) for repo_id in repo_ids] for pid, repo_ids in links.items()}
    rows = [
        (p.id, p.arxiv_id, p.title, p.categories, p.published, p.first_seen_at, p.hf_upvotes, *link, p.primary_category)
        for p in papers
        for link in (links_of.get(p.id) or ([none] if (p.hf_upvotes or 0) > 0 else []))
    ]
    repo_ids = sorted({row[7] for row in rows if row[7] is not None})
    snaps = _snapshots(session, repo_ids, now, velocity_days) if repo_ids else {}

    best: dict[int, tuple[TrendingPaper, frozenset[str]]] = {}
    for pid, arxiv_id, title, categories, published, first_seen, upvotes, repo_id, url, stars, primary in rows:
        published = as_utc(published)
        age = max(0.0, (now - (published or as_utc(first_seen))).total_seconds() / DAY)  # type: ignore[operator]
        velocity = 0.0
        repo_stars = stars
        if repo_id is not None:
            snap = snaps.get(repo_id)
            velocity = star_velocity(snap, stars, age)
            if snap is not None:
                repo_stars = snap.s1
        entry = TrendingPaper(
            arxiv_id=arxiv_id, title=title, categories=list(categories or []), published=published,
            repo_url=url if repo_id is not None else None, stars=repo_stars if repo_id is not None else None,
            star_velocity=round(velocity, 3), hf_upvotes=upvotes or 0,
            score=round(score(velocity, upvotes or 0, age), 6),
        )
        current = best.get(pid)
        if current is None or (entry.star_velocity, entry.stars or 0) > (
            current[0].star_velocity, current[0].stars or 0
        ):
            keys = frozenset([*(c.lower() for c in entry.categories), *([primary.lower()] if primary else [])])
            best[pid] = (entry, keys)
    ranked = [item for item in best.values() if item[0].score > 0]
    ranked.sort(key=lambda item: (-item[0].score, -item[0].star_velocity, -item[0].hf_upvotes, item[0].arxiv_id or ""))
    return ranked
