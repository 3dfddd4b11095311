"""Hugging Face papers: both response shapes, upvotes, repository links, cursor, pacing and faults."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, func, select

from sotabot.bot.settings import Config
from sotabot.sources.upstream import huggingface
from sotabot.storage.models import Paper, PaperRepo, Repo, SourceState, StarSnapshot, as_utc
from tests.fakes.clock import FakeClock
from tests.fakes.upstream import FakeUpstream, Fault, LoggedRequest, Reply


@pytest.fixture(scope="module")
def slice_2024(fixture_files) -> bytes:
    return (fixture_files.upstream / "hf_daily_papers_2024-10-25_slice.json").read_bytes()


@pytest.fixture(scope="module")
def entry_2026(fixture_files) -> bytes:
    return (fixture_files.upstream / "hf_daily_papers_2026_single_entry.json").read_bytes()


@pytest.fixture(scope="module")
def list_2026(entry_2026: bytes) -> bytes:
    return b"[" + entry_2026 + b"]"  # the recorded entry, as the element of the day's list


@pytest.fixture(scope="module")
def paper_2026(entry_2026: bytes) -> bytes:
    return json.dumps(json.loads(entry_2026)["paper"]).encode()  # /api/papers/{id} is the inner object


def at(year: int, month: int, day: int, hour: int = 12) -> FakeClock:
    return FakeClock(start=datetime(year, month, day, hour, tzinfo=UTC).timestamp())


class FakeHub:
    """`/api/daily_papers?date=` from a dict of day -> body, `/api/papers/{id}` from another."""

    def __init__(self, srv: FakeUpstream) -> None:
        self.srv = srv
        self.days: dict[str, bytes] = {}
        srv.route("/api/daily_papers", self._daily)

    def _daily(self, req: LoggedRequest) -> Reply:
        body = self.days.get(req.query.get("date", [""])[0], b"[]")
        return Reply(200, body, {"Content-Type": "application/json"})

    def paper(self, arxiv_id: str, body: bytes) -> None:
        self.srv.route(f"/api/papers/{arxiv_id}", Reply(200, body, {"Content-Type": "application/json"}))

    def dates(self) -> list[str]:
        return [r.query["date"][0] for r in self.srv.requests_to("/api/daily_papers")]


@pytest.fixture
def hub():
    clock = at(2024, 10, 25)
    with FakeUpstream(clock=clock) as srv:
        yield FakeHub(srv)


def config_for(hub: FakeHub) -> Config:
    cfg = Config()
    cfg.sources.huggingface.api_url = f"{hub.srv.url}/api"
    cfg.sources.http.timeout_seconds = 0.5
    cfg.sources.http.backoff_base_seconds = 1.0
    cfg.sources.http.max_retries = 2
    return cfg


def poll(engine, hub: FakeHub, since: date | None = None):
    return huggingface.poll(engine, config_for(hub), since=since, clock=hub.srv.clock)


def papers(engine) -> dict[str, Paper]:
    with Session(engine) as session:
        return {p.arxiv_id: p for p in session.exec(select(Paper))}


def links(engine) -> list[tuple[str, str, str, bool]]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Paper.arxiv_id, Repo.url, PaperRepo.found_by, PaperRepo.official)
                .join(PaperRepo, PaperRepo.paper_id == Paper.id)
                .join(Repo, Repo.id == PaperRepo.repo_id)
                .order_by(Paper.arxiv_id)
            ).all()
        )


def test_the_2024_shape_gives_papers_with_upvotes_from_inside_paper(engine, hub, slice_2024):
    hub.days["2024-10-25"] = slice_2024
    report = poll(engine, hub, since=date(2024, 10, 25))
    assert report.ok, report.errors
    assert report.new == 2 and report.linked == 0
    stored = papers(engine)
    assert set(stored) == {"2410.17243", "2410.16251"}
    first = stored["2410.17243"]
    assert first.hf_upvotes == 64 and stored["2410.16251"].hf_upvotes == 41
    assert first.title == "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    assert first.authors[:2] == ["Zesen Cheng", "Hang Zhang"] and len(first.authors) == 9
    assert as_utc(first.published) == datetime(2024, 10, 22, 17, 59, 30, tzinfo=UTC)
    assert first.hf_summary is None and first.version == 1


def test_the_2026_shape_links_the_repository_and_keeps_the_ai_summary(engine, hub, list_2026):
    hub.srv.clock.now = datetime(2026, 3, 6, 12, tzinfo=UTC).timestamp()
    hub.days["2026-03-06"] = list_2026
    report = poll(engine, hub, since=date(2026, 3, 6))
    assert report.ok and report.new == 1 and report.linked == 1
    paper = papers(engine)["2602.23229"]
    assert paper.hf_upvotes == 10
    assert paper.hf_summary.startswith("Large Multimodal Models demonstrate superior performance")
    assert links(engine) == [("2602.23229", "https://github.com/marco-garosi/circle", "huggingface", False)]
    with Session(engine) as session:
        repo = session.exec(select(Repo)).one()
        assert repo.stars == 9  # githubStars seeds an unchecked repository...
        assert session.exec(select(func.count()).select_from(StarSnapshot)).one() == 0  # ...but is no snapshot


def test_a_paper_already_stored_by_arxiv_is_updated_never_duplicated(engine, hub, slice_2024):
    with Session(engine) as session:
        session.add(Paper(arxiv_id="2410.17243", version=2, title="arXiv title", categories=["cs.LG"]))
        session.commit()
    hub.days["2024-10-25"] = slice_2024
    report = poll(engine, hub, since=date(2024, 10, 25))
    assert report.new == 1 and report.updated == 1
    stored = papers(engine)
    assert len(stored) == 2
    paper = stored["2410.17243"]
    assert (paper.version, paper.title, paper.categories, paper.hf_upvotes) == (2, "arXiv title", ["cs.LG"], 64)
    assert paper.authors[0] == "Zesen Cheng"  # empty fields are filled, set ones kept


def test_days_run_from_since_to_today_and_the_cursor_resumes_at_the_last_day(engine, hub, slice_2024):
    hub.srv.clock.now = datetime(2024, 10, 26, 9, tzinfo=UTC).timestamp()
    hub.days["2024-10-25"] = slice_2024
    assert poll(engine, hub, since=date(2024, 10, 23)).ok
    assert hub.dates() == ["2024-10-23", "2024-10-24", "2024-10-25", "2024-10-26"]
    with Session(engine) as session:
        assert session.exec(select(SourceState.cursor).where(SourceState.source == "huggingface")).one() == (
            "2024-10-26"
        )
    hub.srv.clock.now += 2 * 86400
    assert poll(engine, hub).ok
    assert hub.dates()[4:] == ["2024-10-26", "2024-10-27", "2024-10-28"]


def test_requests_stay_within_the_anonymous_budget(engine, hub):
    hub.srv.clock.now = datetime(2024, 10, 30, tzinfo=UTC).timestamp()
    poll(engine, hub, since=date(2024, 10, 20))
    times = [r.at for r in hub.srv.log]
    assert len(times) == 11
    assert min(b - a for a, b in itertools.pairwise(times)) >= 300 / 500 - 1e-6


def test_papers_without_code_are_rechecked_on_their_paper_page(engine, hub, paper_2026):
    now = datetime(2026, 3, 6, 12, tzinfo=UTC)
    hub.srv.clock.now = now.timestamp()
    with Session(engine) as session:
        session.add(Paper(arxiv_id="2602.23229", version=1, title="stored by arXiv", first_seen_at=now))
        session.add(Paper(arxiv_id="2602.99999", version=1, title="not on the Hub", first_seen_at=now))
        session.commit()
    hub.paper("2602.23229", paper_2026)
    report = poll(engine, hub, since=date(2026, 3, 6))
    assert report.ok, report.errors
    assert report.details["rechecked"] == 2 and report.linked == 1
    assert links(engine) == [("2602.23229", "https://github.com/marco-garosi/circle", "huggingface", False)]
    stored = papers(engine)
    assert stored["2602.23229"].hf_upvotes == 10 and stored["2602.23229"].title == "stored by arXiv"
    assert stored["2602.99999"].code_checked_at is not None
    assert {r.path for r in hub.srv.requests_to("/api/papers/")} == {"/api/papers/2602.23229", "/api/papers/2602.99999"}


def stored_set(engine) -> tuple:
    with Session(engine) as session:
        rows = session.exec(select(Paper.arxiv_id, Paper.hf_upvotes, Paper.hf_summary).order_by(Paper.arxiv_id)).all()
    return tuple(rows), tuple(links(engine))


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", status=500),
        Fault("status", status=503),
        Fault("status", status=429, retry_after="20"),
        Fault("timeout", seconds=0.8),
        Fault("truncate"),
    ],
    ids=["500", "503", "429", "timeout", "truncated"],
)
def test_under_faults_polls_converge_to_the_same_stored_set(engine, hub, fault, slice_2024, entry_2026, list_2026):
    hub.srv.clock.now = datetime(2026, 3, 6, 12, tzinfo=UTC).timestamp()
    hub.days["2026-03-05"] = slice_2024
    hub.days["2026-03-06"] = list_2026
    hub.srv.fail("/api/daily_papers", fault, times=4)  # more than one poll's budget of 3 attempts
    reports = [poll(engine, hub, since=date(2026, 3, 5)) for _ in range(3)]
    assert not reports[0].ok and reports[-1].ok
    assert stored_set(engine) == (
        (("2410.16251", 41, None), ("2410.17243", 64, None),
         ("2602.23229", 10, json.loads(entry_2026)["paper"]["ai_summary"])),
        (("2602.23229", "https://github.com/marco-garosi/circle", "huggingface", False),),
    )
    with Session(engine) as session:
        state = session.exec(select(SourceState).where(SourceState.source == "huggingface")).one()
    assert state.last_error and state.last_success_at


def test_a_complete_but_invalid_json_body_is_an_error_and_the_day_is_retried_next_poll(engine, hub, slice_2024):
    hub.days["2024-10-25"] = slice_2024[: len(slice_2024) // 2]
    report = poll(engine, hub, since=date(2024, 10, 25))
    assert not report.ok and "JSON" in report.errors[0]
    assert papers(engine) == {}
    hub.days["2024-10-25"] = slice_2024
    assert poll(engine, hub).ok
    assert set(papers(engine)) == {"2410.17243", "2410.16251"}


def test_entries_that_are_not_arxiv_papers_are_skipped():
    entries = [None, {"paper": {"id": "not-an-id"}}, {"paper": "x"}, {"paper": {"id": "2410.17243v3", "upvotes": -1}}]
    parsed = huggingface.parse_daily(entries)
    assert [(p.arxiv_id, p.upvotes) for p in parsed] == [("2410.17243", None)]
    with pytest.raises(ValueError):
        huggingface.parse_daily({"error": "bad date"})
    assert huggingface.split_arxiv_id("cs/9301114v2") == ("cs/9301114", 2)


def test_first_poll_without_cursor_covers_yesterday_and_today(engine, hub):
    poll(engine, hub)
    assert hub.dates() == ["2024-10-24", "2024-10-25"]
