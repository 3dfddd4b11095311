"""Trending ranking: star velocity from snapshots, upvotes, recency, category and window, in few queries."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session

from sotabot.digests.trending import HALF_LIFE_DAYS, fallback_velocity, score, trending
from sotabot.storage.models import Paper, PaperRepo, Repo, StarSnapshot

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


class World:
    """Builds papers, repositories and snapshots relative to NOW."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.n = 0

    def paper(self, age_days: float, *, upvotes: int | None = None, categories: tuple[str, ...] = ("cs.LG",),
              arxiv_id: str | None = None) -> Paper:
        self.n += 1
        paper = Paper(
            arxiv_id=arxiv_id or f"2603.{self.n:05d}", title=f"paper {self.n}", categories=list(categories),
            primary_category=categories[0] if categories else None, published=NOW - timedelta(days=age_days),
            hf_upvotes=upvotes,
        )
        self.session.add(paper)
        self.session.flush()
        return paper

    def repo(self, paper: Paper, history: list[tuple[float, int]], *, deleted: bool = False,
             stars: int | None = None) -> Repo:
        """`history`: (days ago, stars) snapshots; the repo's current stars are the newest."""
        self.n += 1
        current = stars if stars is not None else (history[-1][1] if history else None)
        repo = Repo(url=f"https://github.com/lab/r{self.n}", stars=current, deleted=deleted)
        self.session.add(repo)
        self.session.flush()
        self.session.add(PaperRepo(paper_id=paper.id, repo_id=repo.id, found_by="abstract", official=True))
        for days_ago, count in history:
            self.session.add(StarSnapshot(repo_id=repo.id, taken_at=NOW - timedelta(days=days_ago), stars=count))
        self.session.flush()
        return repo


@pytest.fixture
def world(engine):
    with Session(engine) as session:
        yield World(session)
        session.commit()


def ids(result) -> list[str]:
    return [p.arxiv_id for p in result]


def test_faster_star_growth_beats_a_bigger_but_flat_star_count(world):
    fast = world.paper(2)
    world.repo(fast, [(2, 10), (1, 200), (0, 400)])  # +195/day
    flat = world.paper(2)
    world.repo(flat, [(2, 5000), (1, 5001), (0, 5002)])  # +1/day
    result = trending(world.session, now=NOW)
    assert ids(result) == [fast.arxiv_id, flat.arxiv_id]
    assert result[0].star_velocity == pytest.approx(195.0)
    assert result[0].stars == 400 and result[0].repo_url.startswith("https://github.com/lab/")
    assert result[1].star_velocity == pytest.approx(1.0)


def test_velocity_uses_the_last_snapshot_before_the_window_as_baseline(world):
    paper = world.paper(1)
    world.repo(paper, [(5.5, 50), (5, 100), (1, 200), (0, 300)])
    (entry,) = trending(world.session, now=NOW, velocity_days=3)
    assert entry.star_velocity == pytest.approx(200 / 5)


def test_the_score_is_the_documented_formula(world):
    paper = world.paper(HALF_LIFE_DAYS, upvotes=30)
    world.repo(paper, [(2, 0), (0, 40)])  # 20 stars/day
    (entry,) = trending(world.session, now=NOW)
    expected = (math.log1p(20) + math.log1p(30)) * 0.5
    assert entry.score == pytest.approx(expected, rel=1e-6)
    assert score(20, 30, 0) == pytest.approx(2 * expected)


def test_recency_decays_the_same_signal(world):
    new = world.paper(0.5, upvotes=50)
    old = world.paper(6, upvotes=50)
    result = trending(world.session, now=NOW)
    assert ids(result) == [new.arxiv_id, old.arxiv_id]
    assert result[0].score / result[1].score == pytest.approx(0.5 ** ((0.5 - 6) / HALF_LIFE_DAYS))


def test_upvotes_alone_trend_and_papers_without_any_signal_do_not(world):
    upvoted = world.paper(1, upvotes=80)
    world.paper(1, upvotes=0)
    world.paper(1)
    (entry,) = trending(world.session, now=NOW)
    assert entry.arxiv_id == upvoted.arxiv_id
    assert (entry.repo_url, entry.stars, entry.star_velocity, entry.hf_upvotes) == (None, None, 0.0, 80)


def test_a_single_snapshot_falls_back_to_a_conservative_estimate(world):
    young = world.paper(2)
    world.repo(young, [(0, 600)])
    old = world.paper(6)
    world.repo(old, [], stars=900)  # stars known (e.g. from Hugging Face), never snapshotted
    result = {p.arxiv_id: p for p in trending(world.session, now=NOW)}
    assert result[young.arxiv_id].star_velocity == pytest.approx(600 / 30)
    assert result[old.arxiv_id].star_velocity == pytest.approx(900 / 30)
    assert fallback_velocity(600, 45) == pytest.approx(600 / 45)
    assert fallback_velocity(None, 1) == 0


def test_stars_lost_count_as_no_gain_not_as_a_negative_velocity(world):
    paper = world.paper(1, upvotes=10)
    world.repo(paper, [(2, 500), (0, 400)])  # -50 stars/day
    (entry,) = trending(world.session, now=NOW)
    assert (entry.stars, entry.star_velocity) == (400, 0.0)
    assert entry.score == pytest.approx(score(0, 10, 1), rel=1e-6)


def test_a_gain_seen_over_a_few_hours_is_divided_by_at_least_one_day(world):
    hour = world.paper(2)
    world.repo(hour, [(1 / 24, 0), (0, 100)])  # +100 stars in one hour
    six_hours = world.paper(2)
    world.repo(six_hours, [(6 / 24, 1000), (0, 1300)])  # +300 stars in six hours
    result = {p.arxiv_id: p for p in trending(world.session, now=NOW)}
    assert result[hour.arxiv_id].star_velocity == pytest.approx(100.0)  # not 2400/day
    assert result[six_hours.arxiv_id].star_velocity == pytest.approx(300.0)  # not 1200/day


def test_while_snapshots_span_less_than_a_day_the_single_snapshot_estimate_is_a_floor(world):
    paper = world.paper(2)
    world.repo(paper, [(1 / 24, 2990), (0, 3000)])  # +10 stars in an hour on a famous repository
    (entry,) = trending(world.session, now=NOW)
    assert entry.star_velocity == pytest.approx(fallback_velocity(3000, 2))  # 3000 / 30 days = 100/day


def test_a_paper_is_scored_by_its_fastest_live_repository(world):
    paper = world.paper(1)
    world.repo(paper, [(2, 0), (0, 10)])
    fastest = world.repo(paper, [(2, 0), (0, 100)])
    world.repo(paper, [(2, 0), (0, 10_000)], deleted=True)
    (entry,) = trending(world.session, now=NOW)
    assert entry.repo_url == fastest.url and entry.star_velocity == pytest.approx(50)


def test_category_matches_primary_or_cross_list_and_ignores_case(world):
    cv = world.paper(1, upvotes=5, categories=("cs.CV",))
    cross = world.paper(1, upvotes=4, categories=("cs.LG", "cs.CV"))
    world.paper(1, upvotes=9, categories=("cs.CL",))
    assert ids(trending(world.session, category="cs.cv", now=NOW)) == [cv.arxiv_id, cross.arxiv_id]
    assert trending(world.session, category="cs.C%", now=NOW) == []


def test_the_window_and_the_limit_bound_the_answer(world):
    recent = [world.paper(d, upvotes=10) for d in (1, 2, 3)]
    world.paper(9, upvotes=1000)
    assert sorted(ids(trending(world.session, days=7, now=NOW))) == sorted(p.arxiv_id for p in recent)
    assert len(trending(world.session, days=7, limit=2, now=NOW)) == 2
    assert world.paper(-1, upvotes=1000).arxiv_id not in ids(trending(world.session, now=NOW))  # future: not yet
    with pytest.raises(ValueError):
        trending(world.session, days=0, now=NOW)


def test_ranking_takes_a_fixed_number_of_queries_however_many_papers(engine, world):
    for i in range(40):
        paper = world.paper(i % 6, upvotes=i)
        world.repo(paper, [(3, i), (1, 2 * i), (0, 3 * i)])
    world.session.commit()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with Session(engine) as session:
            result = trending(session, limit=40, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(result) == 39  # paper 0 has no stars and no upvotes
    # candidates, their links, their repositories, their snapshots: one query each per 500
    # candidates (so no planner can turn a join into a scan), never one per paper
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 4
