"""GitHub refresh: real repository JSON, ETags and 304s, moves, deletions, rate limits, GraphQL batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from sotabot.bot.cli import main
from sotabot.bot.settings import Config
from sotabot.sources.upstream import github
from sotabot.sources.upstream.github import parse_graphql_repo, parse_repo_json, search_result_urls
from sotabot.storage.config import Secret
from sotabot.storage.models import Paper, PaperRepo, Repo, SourceState, StarSnapshot, as_utc
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub, load_replay
from tests.fakes.upstream import FakeUpstream, Fault

RECORDED_AT = datetime(2025, 1, 7, 7, 32, 15, tzinfo=UTC).timestamp()  # Date: of the PyGithub recording
PYGITHUB = "https://github.com/pygithub/pygithub"
GITHUBKIT = "https://github.com/yanyongyu/githubkit"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=RECORDED_AT)


@pytest.fixture
def fake(clock: FakeClock):
    with FakeUpstream(clock=clock) as srv:
        yield FakeGitHub(srv, clock)


@pytest.fixture
def recorded(fake: FakeGitHub, fixture_files) -> FakeGitHub:
    """PyGithub as recorded (body, ETag and headers verbatim) and githubkit's fixture JSON."""
    _, headers, body = load_replay(fixture_files.upstream / "github_get_repo_pygithub_replay.txt")
    fake.add_repo("PyGithub/PyGithub", body, etag=headers["ETag"], headers=headers)
    fake.add_repo("yanyongyu/githubkit", (fixture_files.upstream / "github_get_repo_githubkit.json").read_bytes())
    return fake


def config_for(fake: FakeGitHub, token: str = "") -> Config:
    cfg = Config()
    cfg.sources.github.api_url = fake.srv.url
    cfg.sources.github.graphql_url = f"{fake.srv.url}/graphql"
    cfg.sources.github.token = Secret(token)
    cfg.sources.http.timeout_seconds = 0.5
    cfg.sources.http.backoff_base_seconds = 1.0
    return cfg


def track(engine, *urls: str) -> None:
    with Session(engine) as session:
        session.add_all([Repo(url=url) for url in urls])
        session.commit()


def repo(engine, url: str) -> Repo:
    with Session(engine) as session:
        return session.exec(select(Repo).where(Repo.url == url)).one()


def snapshots(engine, url: str) -> list[tuple[datetime, int]]:
    with Session(engine) as session:
        rows = session.exec(
            select(StarSnapshot.taken_at, StarSnapshot.stars)
            .join(Repo, Repo.id == StarSnapshot.repo_id)
            .where(Repo.url == url)
            .order_by(StarSnapshot.taken_at)
        ).all()
    return [(as_utc(t), s) for t, s in rows]


def poll(engine, fake: FakeGitHub, clock: FakeClock, token: str = "", **kw):
    return github.poll(engine, config_for(fake, token), clock=clock, **kw)


# --------------------------------------------------------------------------- REST, no token


def test_rest_refresh_stores_metadata_from_the_real_repository_json(engine, recorded, clock):
    track(engine, PYGITHUB, GITHUBKIT)
    report = poll(engine, recorded, clock)
    assert report.ok, report.errors
    assert report.updated == 2
    py = repo(engine, PYGITHUB)
    assert (py.stars, py.language, py.license, py.archived) == (7122, "Python", "LGPL-3.0", False)
    assert as_utc(py.pushed_at) == datetime(2024, 12, 19, 12, 1, 11, tzinfo=UTC)
    assert py.etag == 'W/"37ea58577585c38f93634ef43114c657de2581286eb6976ec18c274de296eff0"'
    kit = repo(engine, GITHUBKIT)
    assert (kit.stars, kit.license, kit.language) == (175, "MIT", "Python")
    assert snapshots(engine, PYGITHUB) == [(datetime.fromtimestamp(RECORDED_AT, UTC), 7122)]
    assert [r.path for r in recorded.srv.log] == ["/repos/pygithub/pygithub", "/repos/yanyongyu/githubkit"]
    assert "authorization" not in recorded.srv.log[0].headers


def test_a_second_refresh_sends_the_etag_and_a_304_still_takes_a_snapshot(engine, recorded, clock):
    track(engine, PYGITHUB)
    poll(engine, recorded, clock)
    clock.sleep(6 * 3600)
    report = poll(engine, recorded, clock)
    assert report.ok and report.unchanged == 1 and report.updated == 0
    second = recorded.srv.log[-1]
    assert second.headers["if-none-match"] == 'W/"37ea58577585c38f93634ef43114c657de2581286eb6976ec18c274de296eff0"'
    assert [s for _, s in snapshots(engine, PYGITHUB)] == [7122, 7122]
    assert repo(engine, PYGITHUB).stars == 7122


def test_new_stars_after_a_304_are_stored_with_a_new_etag(engine, recorded, clock):
    track(engine, PYGITHUB)
    poll(engine, recorded, clock)
    recorded.set_stars("PyGithub/PyGithub", 7200)
    clock.sleep(3600)
    report = poll(engine, recorded, clock)
    assert report.updated == 1
    assert repo(engine, PYGITHUB).stars == 7200
    assert repo(engine, PYGITHUB).etag == recorded.repos["pygithub/pygithub"].etag
    assert [s for _, s in snapshots(engine, PYGITHUB)] == [7122, 7200]


def test_a_moved_repository_is_followed_once_and_recorded(engine, recorded, clock):
    track(engine, GITHUBKIT)
    recorded.rename("yanyongyu/githubkit", "newowner/githubkit2")
    report = poll(engine, recorded, clock)
    assert report.ok and report.details["moved"] == 1
    kit = repo(engine, GITHUBKIT)
    assert kit.moved_to == "https://github.com/newowner/githubkit2"
    assert kit.stars == 175 and not kit.deleted
    assert [r.path for r in recorded.srv.log] == ["/repos/yanyongyu/githubkit", "/repositories/2"]
    clock.sleep(3600)
    poll(engine, recorded, clock)
    assert recorded.srv.log[-1].path == "/repos/newowner/githubkit2"  # no second 301 round trip
    assert len(snapshots(engine, GITHUBKIT)) == 2


def test_a_deleted_repository_is_marked_and_never_asked_for_again(engine, recorded, clock):
    track(engine, PYGITHUB, "https://github.com/gone/away")
    report = poll(engine, recorded, clock)
    assert report.ok and report.details["deleted"] == 1
    assert repo(engine, "https://github.com/gone/away").deleted
    clock.sleep(3600)
    poll(engine, recorded, clock)
    assert [r.path for r in recorded.srv.log].count("/repos/gone/away") == 1


def test_least_recently_checked_repositories_go_first(engine, fake, clock):
    for name in ("a/one", "b/two", "c/three"):
        fake.synthetic_repo(name, 10)
    track(engine, "https://github.com/a/one", "https://github.com/b/two")
    poll(engine, fake, clock)
    track(engine, "https://github.com/c/three")
    clock.sleep(60)
    poll(engine, fake, clock, limit=2)
    assert [r.path for r in fake.srv.log[2:]] == ["/repos/c/three", "/repos/a/one"]


def test_an_exhausted_budget_pauses_until_the_reset_without_spinning(engine, fake, clock):
    for name in ("a/one", "b/two", "c/three"):
        fake.synthetic_repo(name, 10)
    track(engine, "https://github.com/a/one", "https://github.com/b/two", "https://github.com/c/three")
    fake.budgets["core"].limit = fake.budgets["core"].remaining = 2
    fake.budgets["core"].reset = clock.time() + 120
    reset = fake.budgets["core"].reset
    report = poll(engine, fake, clock)
    assert report.ok and report.updated == 3
    assert len(fake.srv.log) == 3  # no request answered 403, none repeated
    assert fake.srv.log[2].at >= reset > fake.srv.log[1].at
    assert len(clock.sleeps) == 1 and clock.sleeps[0] == pytest.approx(121)


def test_a_pause_longer_than_allowed_ends_the_poll_and_the_next_poll_waits_for_the_reset(engine, fake, clock):
    for name in ("a/one", "b/two", "c/three"):
        fake.synthetic_repo(name, 10)
    track(engine, "https://github.com/a/one", "https://github.com/b/two", "https://github.com/c/three")
    fake.budgets["core"].limit = fake.budgets["core"].remaining = 2
    fake.budgets["core"].reset = clock.time() + 3000
    report = poll(engine, fake, clock, max_wait=900)
    assert not report.ok and "rate limit" in report.errors[0]
    assert len(fake.srv.log) == 2 and clock.sleeps == []
    with Session(engine) as session:
        state = session.exec(select(SourceState).where(SourceState.source == "github")).one()
        assert "rate limit" in state.last_error
    assert repo(engine, "https://github.com/c/three").checked_at is None

    clock.sleep(60)
    again = poll(engine, fake, clock, max_wait=900)
    assert not again.ok and len(fake.srv.log) == 2  # known to be limited: GitHub is not called

    clock.sleep(3000)
    fake.budgets["core"].limit = 5000
    last = poll(engine, fake, clock, max_wait=900)
    assert last.ok
    assert fake.srv.log[2].path == "/repos/c/three"  # the one left behind goes first
    assert repo(engine, "https://github.com/c/three").stars == 10


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_waits_for_retry_after(engine, fake, clock, status):
    fake.synthetic_repo("a/one", 10)
    track(engine, "https://github.com/a/one")
    fake.srv.fail("/repos/", Fault("status", status=status, retry_after="30"))
    report = poll(engine, fake, clock)
    assert report.ok and repo(engine, "https://github.com/a/one").stars == 10
    assert len(fake.srv.log) == 2
    assert fake.srv.log[1].at - fake.srv.log[0].at == pytest.approx(30)


def test_a_secondary_limit_without_retry_after_waits_a_minute(engine, fake, clock):
    fake.synthetic_repo("a/one", 10)
    track(engine, "https://github.com/a/one")
    fake.srv.fail("/repos/", Fault("status", status=429))
    assert poll(engine, fake, clock).ok
    assert fake.srv.log[1].at - fake.srv.log[0].at == pytest.approx(60)


def stored(engine) -> list[tuple]:
    with Session(engine) as session:
        return [
            (r.url, r.stars, r.language, r.license, as_utc(r.pushed_at), r.archived, r.deleted, r.moved_to)
            for r in session.exec(select(Repo).order_by(Repo.url))
        ]


def test_under_faults_polls_converge_to_the_same_repositories_without_duplicates(engine, recorded, clock):
    names = [f"lab{i}/model{i}" for i in range(6)]
    for i, name in enumerate(names):
        recorded.synthetic_repo(name, 100 + i)
    urls = [PYGITHUB, GITHUBKIT] + [f"https://github.com/{n}" for n in names]
    track(engine, *urls)
    srv = recorded.srv
    srv.fail("/repos/pygithub", Fault("status", status=500))
    srv.fail("/repos/lab0", Fault("status", status=503, retry_after="5"))
    srv.fail("/repos/lab1", Fault("status", status=429, retry_after="7"))
    srv.fail("/repos/lab2", Fault("timeout", seconds=0.8))
    srv.fail("/repos/lab3", Fault("truncate"))
    srv.fail("/repos/lab4", Fault("status", status=503), times=6)  # more than the retry budget
    reports = []
    for _ in range(4):
        reports.append(poll(engine, recorded, clock))
        clock.sleep(3600)
    assert not reports[0].ok and reports[-1].ok
    expected = [
        (f"https://github.com/{n}", 100 + i, "Python", None, datetime(2026, 1, 1, tzinfo=UTC), False, False, None)
        for i, n in enumerate(names)
    ]
    assert [row for row in stored(engine) if "/lab" in row[0]] == expected
    assert repo(engine, PYGITHUB).stars == 7122 and repo(engine, GITHUBKIT).stars == 175
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Repo)).one() == len(urls)
        per_repo = session.exec(select(StarSnapshot.repo_id, func.count()).group_by(StarSnapshot.repo_id)).all()
    assert all(count <= 4 for _, count in per_repo)  # one per refresh at most, never doubled


# --------------------------------------------------------------------------- GraphQL, with a token


def test_with_a_token_repositories_are_fetched_in_graphql_batches_of_at_most_100(engine, fake, clock):
    names = [f"org{i}/repo{i}" for i in range(250)]
    for i, name in enumerate(names):
        fake.synthetic_repo(name, i, license={"spdx_id": "Apache-2.0"})
    track(engine, *[f"https://github.com/{n}" for n in names])
    report = poll(engine, fake, clock, token="ghp_test")
    assert report.ok, report.errors
    assert fake.graphql_batches == [100, 100, 50]
    assert {r.path for r in fake.srv.log} == {"/graphql"}
    assert all(r.headers["authorization"] == "Bearer ghp_test" for r in fake.srv.log)
    assert report.updated == 250 and report.details["snapshots"] == 250
    assert repo(engine, "https://github.com/org249/repo249").stars == 249
    assert repo(engine, "https://github.com/org7/repo7").license == "Apache-2.0"


def test_graphql_refresh_matches_the_rest_refresh_on_the_real_json(engine, recorded, clock):
    track(engine, PYGITHUB, GITHUBKIT)
    assert poll(engine, recorded, clock, token="ghp_test").ok
    py = repo(engine, PYGITHUB)
    assert (py.stars, py.language, py.license, as_utc(py.pushed_at)) == (
        7122, "Python", "LGPL-3.0", datetime(2024, 12, 19, 12, 1, 11, tzinfo=UTC)
    )


def test_a_null_graphql_entry_is_settled_by_one_rest_request(engine, fake, clock):
    fake.synthetic_repo("a/one", 5)
    fake.synthetic_repo("b/two", 6)
    track(engine, "https://github.com/a/one", "https://github.com/b/two", "https://github.com/gone/away")
    fake.rename("b/two", "b/two-renamed")
    report = poll(engine, fake, clock, token="ghp_test")
    assert report.ok
    assert repo(engine, "https://github.com/gone/away").deleted
    assert repo(engine, "https://github.com/b/two").moved_to == "https://github.com/b/two-renamed"
    assert [r.path for r in fake.srv.log] == ["/graphql", "/repos/gone/away"]


def test_a_rejected_token_is_reported_not_raised(engine, fake, clock):
    fake.synthetic_repo("a/one", 5)
    track(engine, "https://github.com/a/one")
    fake.srv.fail("/graphql", Fault("status", status=401))
    report = poll(engine, fake, clock, token="bad")
    assert not report.ok and "401" in report.errors[0]
    assert repo(engine, "https://github.com/a/one").checked_at is None


def test_search_links_papers_without_code_within_the_search_budget(engine, fake, clock, fixture_files):
    now = datetime.fromtimestamp(clock.time(), UTC)
    with Session(engine) as session:
        session.add_all([
            Paper(arxiv_id="2501.00001", title="A", first_seen_at=now - timedelta(days=1)),
            Paper(arxiv_id="2501.00002", title="B", first_seen_at=now - timedelta(days=1)),
            Paper(arxiv_id="2401.00003", title="old", first_seen_at=now - timedelta(days=40)),
        ])
        session.commit()
    fake.search_bodies["2501.00001"] = (fixture_files.upstream / "github_search_repos_2014_slice.json").read_bytes()
    report = poll(engine, fake, clock, token="ghp_test")
    assert report.ok, report.errors
    searches = fake.srv.requests_to("/search/repositories")
    assert sorted(r.query["q"][0] for r in searches) == ["2501.00001", "2501.00002"]
    assert searches[1].at - searches[0].at >= 60 / 30
    assert report.linked == 3 and report.details["searched"] == 2
    with Session(engine) as session:
        links = session.exec(
            select(Repo.url, PaperRepo.found_by, PaperRepo.official).join(PaperRepo).order_by(Repo.url)
        ).all()
        checked = session.exec(select(Paper.arxiv_id).where(Paper.code_checked_at != None)).all()  # noqa: E711
    assert links == [
        ("https://github.com/gelstudios/gitfiti", "github_search", False),
        ("https://github.com/kennethreitz/legit", "github_search", False),
        ("https://github.com/ruudburger/couchpotatov1", "github_search", False),
    ]
    assert sorted(checked) == ["2501.00001", "2501.00002"]
    again = poll(engine, fake, clock, token="ghp_test")
    assert again.details.get("searched", 0) == 0  # checked just now: left alone for a while


def test_without_a_token_there_is_no_search(engine, fake, clock):
    now = datetime.fromtimestamp(clock.time(), UTC)
    with Session(engine) as session:
        session.add(Paper(arxiv_id="2501.00001", title="A", first_seen_at=now))
        session.commit()
    assert poll(engine, fake, clock).ok
    assert fake.srv.requests_to("/search") == []


# --------------------------------------------------------------------------- parsing


def test_parsing_survives_nulls_old_shapes_and_junk(fixture_files):
    upstream = fixture_files.upstream
    kit = json.loads((upstream / "github_get_repo_githubkit.json").read_text())
    template = parse_repo_json(kit["template_repository"])
    assert template is not None and template.license is None and template.language is None
    old = json.loads((upstream / "github_search_repos_2014_slice.json").read_text())
    assert [parse_repo_json(item).license for item in old["items"]] == [None, None, None]
    assert search_result_urls(json.loads((upstream / "github_search_repos_empty_pygithub_replay.txt")
                                         .read_text().splitlines()[9])) == []
    for junk in (None, [], "x", {"items": "no"}, {"items": [None, 3, {"html_url": "https://gist.github.com/x"}]}):
        assert search_result_urls(junk) == []
        assert parse_repo_json(junk) is None
    assert parse_graphql_repo({"stargazerCount": "12", "licenseInfo": None, "primaryLanguage": None}).stars == 12


def test_a_batch_larger_than_100_is_refused():
    with pytest.raises(ValueError):
        github.build_query([("a", str(i)) for i in range(101)])


def test_sotabot_poll_github_prints_what_it_did(engine, recorded, clock, monkeypatch, capsys):
    track(engine, PYGITHUB)
    monkeypatch.setenv("SOTABOT_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("SOTABOT_SOURCES__GITHUB__API_URL", recorded.srv.url)
    monkeypatch.setenv("SOTABOT_SOURCES__GITHUB__GRAPHQL_URL", f"{recorded.srv.url}/graphql")
    assert main(["poll", "github"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("github: 0 new, 1 updated, 0 linked")


def test_a_url_stored_with_capitals_is_refreshed_and_not_taken_for_a_move(engine, recorded, clock):
    track(engine, "https://github.com/PyGithub/PyGithub")
    report = poll(engine, recorded, clock)
    assert report.ok and "moved" not in report.details
    stored_repo = repo(engine, "https://github.com/PyGithub/PyGithub")
    assert stored_repo.moved_to is None and stored_repo.stars == 7122
