"""Paper -> code links: GitHub URLs found in text, normalised, stored once with how they were found,
and the window in which papers without code are re-checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from sotabot.sources.normalise.links import (
    discover_links_for,
    find_github_urls,
    link_paper,
    mark_code_checked,
    papers_needing_code,
)
from sotabot.storage.models import Benchmark, Dataset, Metric, Paper, PaperRepo, Repo, ResultEvent, Task
from sotabot.storage.results import record_result

OWNER_REPO = ["https://github.com/owner/repo"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # real shapes from the 2024 RSS slice
        ("We made our code available in: https://github.com/mandiehyewon/goodviews_ecg.git",
         ["https://github.com/mandiehyewon/goodviews_ecg"]),
        (r"The experiment code is open-sourced at \href{https://github.com/Kanyooo/EEG-DCNet}{here}.",
         ["https://github.com/kanyooo/eeg-dcnet"]),
        # case, scheme, www
        ("https://GitHub.com/Owner/Repo", OWNER_REPO),
        ("http://www.github.com/owner/repo", OWNER_REPO),
        ("code: github.com/owner/repo", OWNER_REPO),
        # trailing punctuation and wrappers
        ("see https://github.com/owner/repo.", OWNER_REPO),
        ("(https://github.com/owner/repo)", OWNER_REPO),
        ("[code](https://github.com/owner/repo)]", OWNER_REPO),
        ("<https://github.com/owner/repo>", OWNER_REPO),
        ('"https://github.com/owner/repo"', OWNER_REPO),
        ("'https://github.com/owner/repo'", OWNER_REPO),
        ("https://github.com/owner/repo; and more", OWNER_REPO),
        ("https://github.com/owner/repo: the code", OWNER_REPO),
        ("https://github.com/owner/repo,", OWNER_REPO),
        ("{https://github.com/owner/repo}", OWNER_REPO),
        ("https://github.com/owner/repo.git.", OWNER_REPO),
        ("https://github.com/owner/repo/", OWNER_REPO),
        # paths, queries, fragments
        ("https://github.com/owner/repo/tree/main/src/models", OWNER_REPO),
        ("https://github.com/owner/repo/blob/master/README.md", OWNER_REPO),
        ("https://github.com/owner/repo?tab=readme-ov-file#install", OWNER_REPO),
        ("https://github.com/owner/repo#readme", OWNER_REPO),
        # names with dots, dashes and underscores survive
        ("https://github.com/open-mmlab/mmdetection3d", ["https://github.com/open-mmlab/mmdetection3d"]),
        ("https://github.com/owner/my.repo_v2-final", ["https://github.com/owner/my.repo_v2-final"]),
        ("https://github.com/owner/owner.github.io", ["https://github.com/owner/owner.github.io"]),
        # not repositories
        ("https://github.com/someuser", []),
        ("https://github.com/someuser/", []),
        ("https://github.com/someuser?tab=repositories", []),
        ("https://gist.github.com/someuser/0123456789abcdef", []),
        ("https://github.com/orgs/openai/repositories", []),
        ("https://github.com/features/copilot", []),
        ("https://github.com/sponsors/someone", []),
        ("https://github.com/topics/object-detection", []),
        ("https://github.com/marketplace/actions/foo", []),
        ("https://someone.github.io/project-page", []),
        ("https://raw.githubusercontent.com/owner/repo/main/x.py", []),
        ("https://notgithub.com/owner/repo", []),
        ("https://gitlab.com/owner/repo", []),
        ("no links here", []),
        ("", []),
        (None, []),
    ],
)
def test_find_github_urls_normalises_to_owner_and_name(text, expected):
    assert find_github_urls(text) == expected


def test_find_github_urls_keeps_order_and_drops_repeats():
    text = "Code: https://github.com/B/two and github.com/a/one.git; mirror https://github.com/b/TWO/tree/dev"
    assert find_github_urls(text) == ["https://github.com/b/two", "https://github.com/a/one"]


def _paper(session: Session, arxiv_id: str = "2411.00001", **kw) -> Paper:
    paper = Paper(arxiv_id=arxiv_id, title=f"Paper {arxiv_id}", **kw)
    session.add(paper)
    session.flush()
    return paper


def _links(session: Session, paper: Paper) -> list[tuple[str, str, bool]]:
    rows = session.exec(
        select(Repo.url, PaperRepo.found_by, PaperRepo.official)
        .join(PaperRepo, PaperRepo.repo_id == Repo.id)
        .where(PaperRepo.paper_id == paper.id)
    ).all()
    return sorted(rows)


def test_link_paper_stores_each_repo_once_and_counts_only_new_links(engine):
    with Session(engine) as s:
        a, b = _paper(s, "2411.00001"), _paper(s, "2411.00002")
        assert link_paper(s, a, "abstract", ["https://github.com/Owner/Repo.git", "github.com/owner/repo"], True) == 1
        assert link_paper(s, a, "abstract", ["https://github.com/owner/repo"], True) == 0
        assert link_paper(s, b, "huggingface", ["https://github.com/owner/repo"], False) == 1
        s.commit()
        assert s.exec(select(Repo.url)).all() == ["https://github.com/owner/repo"]
        assert _links(s, b) == [("https://github.com/owner/repo", "huggingface", False)]


def test_link_paper_ignores_urls_that_are_not_repositories(engine):
    with Session(engine) as s:
        paper = _paper(s)
        assert link_paper(s, paper, "manual", ["https://github.com/someuser", "not a url", ""], True) == 0
        assert s.exec(select(Repo)).all() == []


def test_official_evidence_promotes_an_existing_link_and_keeps_how_it_was_first_found(engine):
    with Session(engine) as s:
        paper = _paper(s)
        link_paper(s, paper, "github_search", ["https://github.com/owner/repo"], official=False)
        assert link_paper(s, paper, "abstract", ["https://github.com/owner/repo"], official=True) == 0
        link_paper(s, paper, "pwc", ["https://github.com/owner/repo"], official=False)
        s.commit()
        assert _links(s, paper) == [("https://github.com/owner/repo", "github_search", True)]


def test_link_paper_refuses_an_unknown_found_by(engine):
    with Session(engine) as s, pytest.raises(ValueError, match="found_by"):
        link_paper(s, _paper(s), "twitter", ["https://github.com/owner/repo"], True)


def test_discover_links_reads_abstract_and_comment_as_official(engine):
    with Session(engine) as s:
        paper = _paper(
            s,
            abstract="Code is at https://github.com/lab/model.",
            comment="Accepted at CVPR. Code: https://github.com/lab/model and https://github.com/lab/data-tools",
        )
        assert discover_links_for(s, [paper]) == 2
        assert discover_links_for(s, [paper]) == 0
        s.commit()
        assert _links(s, paper) == [
            ("https://github.com/lab/data-tools", "comment", True),
            ("https://github.com/lab/model", "abstract", True),
        ]


def test_papers_without_code_are_rechecked_for_a_few_days_then_left_alone(engine):
    now = datetime(2024, 11, 28, 12, 0, tzinfo=UTC)
    with Session(engine) as s:
        fresh = _paper(s, "2411.00001", first_seen_at=now - timedelta(hours=2))
        with_code = _paper(s, "2411.00002", first_seen_at=now - timedelta(hours=2))
        link_paper(s, with_code, "abstract", ["https://github.com/lab/model"], True)
        _paper(s, "2411.00003", first_seen_at=now - timedelta(days=6))  # past the 5-day window
        _paper(s, "2411.00004", first_seen_at=now - timedelta(days=1), code_checked_at=now - timedelta(hours=1))
        stale_check = _paper(
            s, "2411.00005", first_seen_at=now - timedelta(days=2), code_checked_at=now - timedelta(hours=7)
        )
        s.add(Paper(url="https://openreview.net/forum?id=x", title="not on arXiv", first_seen_at=now))
        s.commit()

        due = papers_needing_code(s, now, recheck_days=5, every=timedelta(hours=6))
        assert [p.arxiv_id for p in due] == [stale_check.arxiv_id, fresh.arxiv_id]

        mark_code_checked(s, due, now)
        s.commit()
        assert papers_needing_code(s, now, recheck_days=5, every=timedelta(hours=6)) == []
        later = now + timedelta(hours=7)
        assert [p.arxiv_id for p in papers_needing_code(s, later, recheck_days=5, limit=1)] == ["2411.00005"]


def _paper_with_results(session: Session, arxiv_id: str, tasks: list[str]) -> Paper:
    """A paper with a result on one benchmark of each task (so it belongs to those tasks)."""
    paper = _paper(session, arxiv_id)
    metric = Metric(name="Accuracy", direction="higher")
    dataset = Dataset(name="Some Set")
    session.add_all([metric, dataset])
    session.flush()
    for slug in tasks:
        task = Task(slug=slug, name=slug.title())
        session.add(task)
        session.flush()
        bench = Benchmark(task_id=task.id, dataset_id=dataset.id, primary_metric_id=metric.id)
        session.add(bench)
        session.flush()
        record_result(
            session, benchmark_id=bench.id, model="M", paper_key=arxiv_id, paper_id=paper.id,
            values={metric.id: (90.0, "90.0")}, source="pwc_api", verified=True,
        )
    return paper


def _code_events(session: Session) -> list[ResultEvent]:
    return list(session.exec(select(ResultEvent).where(ResultEvent.kind == "new_paper_with_code")).all())


def test_a_papers_first_repository_is_one_new_paper_with_code_event_per_task_and_relinking_writes_none(engine):
    with Session(engine) as s:
        paper = _paper_with_results(s, "2411.00007", ["image-classification"])
        assert link_paper(s, paper, "huggingface", ["https://github.com/Lab/Model"], False) == 1
        s.commit()
        (event,) = _code_events(s)
        assert (event.paper_id, event.payload["task"]) == (paper.id, "image-classification")
        assert event.payload["repo_url"] == "https://github.com/lab/model"  # what digests.alerts shows as code
        assert link_paper(s, paper, "github_search", ["https://github.com/lab/model"], False) == 0  # relink
        assert link_paper(s, paper, "pwc", ["https://github.com/lab/model-v2"], True) == 1  # not its first code
        assert discover_links_for(s, [paper]) == 0
        s.commit()
        assert len(_code_events(s)) == 1


def test_a_paper_with_results_on_two_tasks_gets_an_event_for_each_and_a_paper_without_results_none(engine):
    with Session(engine) as s:
        both = _paper_with_results(s, "2411.00008", ["object-detection", "instance-segmentation"])
        bare = _paper(s, "2411.00009", abstract="Code: https://github.com/lab/bare")
        link_paper(s, both, "abstract", ["https://github.com/lab/both"], True)
        discover_links_for(s, [bare])
        s.commit()
        assert sorted(e.payload["task"] for e in _code_events(s)) == ["instance-segmentation", "object-detection"]


def test_a_second_repository_is_not_news_even_when_the_paper_had_code_before_its_results(engine):
    with Session(engine) as s:
        paper = _paper(s, "2411.00010")
        link_paper(s, paper, "abstract", ["https://github.com/lab/first"], True)  # code, no task yet
        s.commit()
        task = Task(slug="depth-estimation", name="Depth Estimation")
        metric, dataset = Metric(name="RMSE", direction="lower"), Dataset(name="NYU")
        s.add_all([task, metric, dataset])
        s.flush()
        bench = Benchmark(task_id=task.id, dataset_id=dataset.id, primary_metric_id=metric.id)
        s.add(bench)
        s.flush()
        record_result(
            s, benchmark_id=bench.id, model="M", paper_key="2411.00010", paper_id=paper.id,
            values={metric.id: (0.3, "0.3")}, source="pwc_api", verified=True,
        )
        assert link_paper(s, paper, "huggingface", ["https://github.com/lab/second"], False) == 1
        s.commit()
        assert _code_events(s) == []
