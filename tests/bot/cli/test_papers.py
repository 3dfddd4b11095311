"""`sotabot paper ID_OR_URL` and `sotabot trending` through the real entry point (`bot.cli.main`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from sotabot.bot.cli import main
from sotabot.bot.cli.papers import parse_paper_ref
from sotabot.storage.models import Paper, PaperRepo, Repo, StarSnapshot

PAPER_KEYS = ["arxiv_id", "version", "title", "authors", "categories", "published", "abstract", "repos", "hf_upvotes"]
NOW = datetime.now(UTC)


@pytest.fixture
def cli(engine, tmp_path, monkeypatch):
    """The CLI on the test database (SQLite and PostgreSQL), seeded with a few papers."""
    monkeypatch.chdir(tmp_path)  # no ./sotabot.toml
    monkeypatch.setenv("SOTABOT_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    with Session(engine) as s:
        p = Paper(
            arxiv_id="2411.17700", version=2, title="A paper with code", authors=["Ada Lovelace", "Alan Turing"],
            categories=["cs.CV", "cs.LG"], primary_category="cs.CV", abstract="We do things. Code at github.",
            published=NOW - timedelta(days=1), hf_upvotes=12,
        )
        old = Paper(arxiv_id="cs/9301114", version=1, title="An old-style id", categories=["cs.AI"],
                    published=NOW - timedelta(days=2), hf_upvotes=3)
        quiet = Paper(arxiv_id="2411.00001", title="Nobody looked", categories=["cs.CL"], published=NOW)
        s.add_all([p, old, quiet])
        s.flush()
        official = Repo(url="https://github.com/lab/official", stars=120)
        community = Repo(url="https://github.com/someone/port", stars=900, moved_to="https://github.com/other/port")
        gone = Repo(url="https://github.com/gone/away", stars=5, deleted=True)
        s.add_all([official, community, gone])
        s.flush()
        s.add_all([
            PaperRepo(paper_id=p.id, repo_id=community.id, official=False, found_by="huggingface"),
            PaperRepo(paper_id=p.id, repo_id=official.id, official=True, found_by="abstract"),
            PaperRepo(paper_id=p.id, repo_id=gone.id, official=False, found_by="github_search"),
            StarSnapshot(repo_id=official.id, taken_at=NOW - timedelta(days=2), stars=20),
            StarSnapshot(repo_id=official.id, taken_at=NOW - timedelta(hours=1), stars=120),
        ])
        s.commit()
    return main


def test_paper_json_has_exactly_the_documented_shape(cli, capsys):
    assert cli(["paper", "2411.17700", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == PAPER_KEYS
    assert data["arxiv_id"] == "2411.17700" and data["version"] == 2
    assert data["authors"] == ["Ada Lovelace", "Alan Turing"] and data["categories"] == ["cs.CV", "cs.LG"]
    assert datetime.fromisoformat(data["published"]).tzinfo is not None
    assert data["hf_upvotes"] == 12
    assert data["repos"] == [  # official first, then by stars; deleted repositories are not code
        {"url": "https://github.com/lab/official", "stars": 120, "official": True, "found_by": "abstract"},
        {"url": "https://github.com/other/port", "stars": 900, "official": False, "found_by": "huggingface"},
    ]


@pytest.mark.parametrize(
    "ref",
    ["2411.17700", "2411.17700v2", "arXiv:2411.17700", "arxiv:2411.17700v1", "https://arxiv.org/abs/2411.17700v2",
     "http://arxiv.org/pdf/2411.17700v2.pdf", "https://huggingface.co/papers/2411.17700", " 2411.17700 "],
)
def test_every_usual_way_of_writing_the_id_finds_the_paper(cli, capsys, ref):
    assert cli(["paper", ref, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["arxiv_id"] == "2411.17700"


def test_old_style_ids_work(cli, capsys):
    assert cli(["paper", "cs/9301114", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["arxiv_id"], data["repos"]) == ("cs/9301114", [])
    assert parse_paper_ref("https://arxiv.org/abs/math.AG/0601001v3") == ("math.AG/0601001", 3)


@pytest.mark.parametrize("ref", ["2411.99999", "arXiv:2411.99999v3"])
def test_an_unknown_paper_is_one_line_and_exit_1(cli, capsys, ref):
    assert cli(["paper", ref]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "2411.99999" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("ref", ["hello", "2411.177", "https://example.org/abs/2411.17700", ""])
def test_something_that_is_not_an_id_is_one_line_and_exit_1(cli, capsys, ref):
    assert cli(["paper", ref]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an arXiv id" in err


def test_paper_without_json_prints_title_code_and_abstract(cli, capsys):
    assert cli(["paper", "arXiv:2411.17700"]) == 0
    out = capsys.readouterr().out
    for text in ("A paper with code", "arXiv:2411.17700v2", "https://github.com/lab/official", "We do things",
                 "Ada Lovelace"):
        assert text in out
    assert "gone/away" not in out


def test_trending_json_ranks_papers_and_filters_by_category(cli, capsys):
    assert cli(["trending", "--json"]) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert [p["arxiv_id"] for p in ranked] == ["2411.17700", "cs/9301114"]
    top = ranked[0]
    assert set(top) == {"arxiv_id", "title", "categories", "published", "repo_url", "stars", "star_velocity",
                        "hf_upvotes", "score"}
    assert top["repo_url"] == "https://github.com/lab/official"  # 100 stars in 47 hours beats 900 unmeasured
    assert top["star_velocity"] == pytest.approx(100 / (47 / 24), rel=1e-3)
    assert cli(["trending", "--category", "cs.AI", "--json"]) == 0
    assert [p["arxiv_id"] for p in json.loads(capsys.readouterr().out)] == ["cs/9301114"]
    assert cli(["trending", "--days", "1", "--limit", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) <= 1


def test_trending_prints_a_table(cli, capsys):
    assert cli(["trending"]) == 0
    out = capsys.readouterr().out
    assert "Trending papers" in out and "A paper with code" in out
    assert cli(["trending", "--category", "q-bio.NC"]) == 0
    assert "No trending papers in q-bio.NC" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--days", "0"], ["--limit", "-3"], ["--days", "week"]])
def test_trending_refuses_bad_numbers_with_a_usage_error(cli, capsys, args):
    with pytest.raises(SystemExit) as exc:
        cli(["trending", *args])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
